import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { replayAll } from '../../server/review/events';
import { today } from '../../server/review/workdays';
import { casePhoto, REGION, seedPolygons, startApp, statusOf, user, uuid, type Api, type Client } from './review-helpers';

describeEachDb('enforcement cases', (backend) => {
  let db: TestDb;
  let api: Api;
  const analyst = user('analyst', '彭钢');
  const reviewer = user('reviewer', '区审核');
  const field = user('field', '村干部');
  const scoped = user('analyst', '红旗村专干', ['红旗村']);
  let A: Client, R: Client, F: Client, S: Client;

  beforeAll(async () => {
    db = await freshDb(backend);
    api = await startApp(db);
    [A, R, F, S] = [analyst, reviewer, field, scoped].map((p) => api.as(p));
  });
  afterAll(async () => {
    await api?.close();
    await db?.dispose();
  });

  const newCase = (o: Record<string, unknown> = {}) => ({
    party: '陈某', address: '吉安镇吉安大道 12 号', kind: 'under_construction', village: '吉安村', discovered_on: '2021-09-30', ...o,
  });
  const link = (id: number, version: number, extra: Record<string, unknown>) =>
    A.post(`/api/polygons/${id}/decisions`, { action: 'link', version, request_id: uuid(), ...extra });

  // case numbers take the year of registration: today in Beijing (issue 13 rule 7)
  const YEAR = Number(today().slice(0, 4));

  it('opens a case numbered in the local style with the plan’s first steps', async () => {
    const r = await A.post('/api/cases', newCase({ discovered_on: '2020-12-30' }));
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({
      number: `吉安违建〔${YEAR}〕第1号`, year: YEAR, seq: 1, party: '陈某', status: 'open', kind: 'under_construction',
      village: '吉安村', discovered_on: '2020-12-30', created_by: analyst.id, created_by_name: '彭钢', outcome: null,
    });
    const steps = Object.fromEntries(r.body.steps.map((s: { step: string }) => [s.step, s]));
    expect(Object.keys(steps)).toEqual(['stop_order', 'report_to_town']);
    // Wed 2020-12-30 + 1 working day: Thu 12-31 (New Year's Day 2021 is Friday)
    expect(steps.report_to_town).toMatchObject({ deadline: '2020-12-31', done_on: null, label: { zh: '报镇违法建设整治工作小组（附照片）' } });
    const second = await A.post('/api/cases', newCase({ discovered_on: '2020-06-01', kind: 'existing' }));
    expect(second.body.number).toBe(`吉安违建〔${YEAR}〕第2号`);
    // an existing (存量) case has no 1-working-day report (六(二)1 is for construction in progress): not overdue at once
    expect(second.body.steps.map((s: { step: string }) => s.step)).toEqual([]);
    expect(second.body.overdue).toBe(false);
    const listed = await A.get(`/api/cases?q=${encodeURIComponent(second.body.number)}&overdue=1`);
    expect(listed.body.items).toEqual([]);
  });

  it('opens one case for a retried request (same request_id), and refuses the id for another request', async () => {
    const request_id = uuid();
    const body = newCase({ discovered_on: '2023-02-01', party: '重试某', request_id });
    const first = await A.post('/api/cases', body);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    // the response was lost; the client sends it again, twice at once
    const [again, twin] = await Promise.all([A.post('/api/cases', body), A.post('/api/cases', body)]);
    for (const r of [again, twin]) {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ id: first.body.id, number: first.body.number, replayed: true });
    }
    const ledger = await A.get(`/api/cases?year=${YEAR}&q=${encodeURIComponent('重试某')}`);
    expect(ledger.body.items.map((c: { id: number }) => c.id)).toEqual([first.body.id]);
    const other = await A.post('/api/cases', { ...body, party: '别人' });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('request_id_reused');
    // no request id: every POST opens a case, as before
    const a = await A.post('/api/cases', newCase({ discovered_on: '2023-02-01', party: '无编号' }));
    const b = await A.post('/api/cases', newCase({ discovered_on: '2023-02-01', party: '无编号' }));
    expect(a.body.id).not.toBe(b.body.id);
  });

  it('numbers stay unique (and gapless) under concurrency', async () => {
    const n = 30;
    const all = await Promise.all(Array.from({ length: n }, (_, i) => A.post('/api/cases', newCase({ discovered_on: '2022-03-01', party: `当事人${i}` }))));
    expect(all.map((r) => r.status)).toEqual(Array(n).fill(201));
    const seqs = all.map((r) => r.body.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: n }, (_, i) => seqs[0] + i));
    expect(new Set(all.map((r) => r.body.number)).size).toBe(n);
    expect(all.map((r) => r.body.number)).toContain(`吉安违建〔${YEAR}〕第${seqs[n - 1]}号`);
    // a refused creation gives its number back
    const bad = await S.post('/api/cases', newCase({ discovered_on: '2022-05-01', village: '吉安村' }));
    expect(bad.status).toBe(403);
    expect(bad.body.error.code).toBe('village_out_of_scope');
    const after = await A.post('/api/cases', newCase({ discovered_on: '2022-05-01' }));
    expect(after.body.number).toBe(`吉安违建〔${YEAR}〕第${seqs[n - 1] + 1}号`);
  });

  it('validates input and hides other villages’ cases', async () => {
    expect((await A.post('/api/cases', { party: '', address: 'x', kind: 'existing' })).status).toBe(400);
    expect((await A.post('/api/cases', newCase({ kind: 'big' }))).status).toBe(400);
    expect((await A.post('/api/cases', newCase({ discovered_on: '2021-02-30' }))).status).toBe(400);
    expect((await R.post('/api/cases', newCase())).status).toBe(403);
    expect((await F.post('/api/cases', newCase())).status).toBe(403);
    const c = await A.post('/api/cases', newCase());
    expect((await S.get(`/api/cases/${c.body.id}`)).status).toBe(404);
    expect((await S.post(`/api/cases/${c.body.id}/steps`, { step: 'stop_order', done_on: '2021-09-30' })).status).toBe(404);
    expect((await F.get(`/api/cases/${c.body.id}`)).status).toBe(200);
    expect((await A.get('/api/cases/999999')).status).toBe(404);
    const mine = await S.post('/api/cases', newCase({ village: '红旗村' }));
    expect(mine.status).toBe(201);
    const list = await S.get('/api/cases?limit=1000');
    expect(list.body.items.every((x: { village: string }) => x.village === '红旗村')).toBe(true);
    expect(list.body.total).toBe(1);
  });

  it('records steps with working-day deadlines (2021 National Day)', async () => {
    const c = (await A.post('/api/cases', newCase({ discovered_on: '2021-09-30' }))).body;
    expect(c.steps.find((s: { step: string }) => s.step === 'report_to_town').deadline).toBe('2021-10-08');
    const u = await A.post(`/api/cases/${c.id}/steps`, { step: 'utility_notice', started_on: '2021-09-30', note: '已书面通知供电所、自来水公司' });
    expect(u.status, JSON.stringify(u.body)).toBe(200);
    expect(u.body.steps.find((s: { step: string }) => s.step === 'utility_notice')).toMatchObject({
      started_on: '2021-09-30', deadline: '2021-10-11', done_on: null, recorded_by_name: '彭钢',
    });
    // deadlines fixed by the plan are computed, not typed
    const typed = await A.post(`/api/cases/${c.id}/steps`, { step: 'utility_notice', deadline: '2021-12-01' });
    expect(typed.status).toBe(400);
    expect((await A.post(`/api/cases/${c.id}/steps`, { step: 'self_removal_deadline', note: '口头' })).status).toBe(400);
    expect((await A.post(`/api/cases/${c.id}/steps`, { step: 'stop_order' })).status).toBe(400);
    expect((await A.post(`/api/cases/${c.id}/steps`, { step: 'stop_order', done_on: '2021-09-01' })).status).toBe(400);
    expect((await A.post(`/api/cases/${c.id}/steps`, { step: 'outcome', done_on: '2021-10-01' })).status).toBe(400);
    const s = await A.post(`/api/cases/${c.id}/steps`, { step: 'self_removal_deadline', started_on: '2021-09-30', deadline: '2021-10-15' });
    expect(s.body.steps.find((x: { step: string }) => x.step === 'self_removal_deadline').deadline).toBe('2021-10-15');
    // 书面（附照片）: not done without a photo
    const bare = await A.post(`/api/cases/${c.id}/steps`, { step: 'report_to_town', done_on: '2021-10-08' });
    expect(bare.status).toBe(422);
    expect(bare.body.error.code).toBe('photo_required');
    const photo = await casePhoto(db, A, c.id);
    const done = await A.post(`/api/cases/${c.id}/steps`, { step: 'report_to_town', done_on: '2021-10-08', note: '附照片 1 张', photo_ids: [photo] });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.steps.find((x: { step: string }) => x.step === 'report_to_town').photo_ids).toEqual([photo]);
    expect(done.body.steps.find((x: { step: string }) => x.step === 'report_to_town')).toMatchObject({ done_on: '2021-10-08', deadline: '2021-10-08', overdue: false });
    // the step order of the plan
    expect(done.body.steps.map((x: { step: string }) => x.step)).toEqual(['stop_order', 'self_removal_deadline', 'utility_notice', 'report_to_town']);
  });

  it('lists overdue cases: a step past its deadline and not done, open cases only', async () => {
    const village = '逾期村';
    const mk = async (o: Record<string, unknown>) => (await A.post('/api/cases', newCase({ village, ...o }))).body;
    const onTime = await mk({ party: '按时', discovered_on: '2021-09-30' });
    await A.post(`/api/cases/${onTime.id}/steps`, { step: 'report_to_town', done_on: '2021-10-08', photo_ids: [await casePhoto(db, A, onTime.id, village)] });
    const late = await mk({ party: '逾期报告', discovered_on: '2021-09-30' }); // report due 2021-10-08, not done
    const utility = await mk({ party: '停水电逾期', discovered_on: '2021-09-29' });
    await A.post(`/api/cases/${utility.id}/steps`, { step: 'report_to_town', done_on: '2021-09-30', photo_ids: [await casePhoto(db, A, utility.id, village)] });
    const notice = await A.post(`/api/cases/${utility.id}/steps`, { step: 'utility_notice', started_on: '2021-09-30', companies: ['water', 'power'] }); // due 10-11
    expect(notice.body.steps.find((x: { step: string }) => x.step === 'utility_notice').companies).toEqual(['water', 'power']);
    expect((await A.post(`/api/cases/${utility.id}/steps`, { step: 'utility_notice', companies: ['sewage'] })).status).toBe(400);
    expect((await A.post(`/api/cases/${utility.id}/steps`, { step: 'stop_order', companies: ['water'] })).status).toBe(400);
    const closed = await mk({ party: '已结案', discovered_on: '2021-09-30' });
    const cl = await A.post(`/api/cases/${closed.id}/close`, { outcome: 'regularised', outcome_at: '2021-10-09', outcome_ref: '建字第 2021-018 号' });
    expect(cl.status, JSON.stringify(cl.body)).toBe(200);

    const names = async (q: string) => {
      const r = await A.get(`/api/cases?village=${encodeURIComponent(village)}&${q}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.items.map((x: { party: string }) => x.party).sort();
    };
    expect(await names('overdue=1&as_of=2021-10-08')).toEqual([]); // the deadline day itself is not late
    expect(await names('overdue=1&as_of=2021-10-09')).toEqual(['逾期报告']);
    expect(await names('overdue=1&as_of=2021-10-12')).toEqual(['停水电逾期', '逾期报告'].sort());
    const r = await A.get(`/api/cases?village=${encodeURIComponent(village)}&overdue=1&as_of=2021-10-12`);
    const item = r.body.items.find((x: { party: string }) => x.party === '停水电逾期');
    expect(item).toMatchObject({ overdue: true, overdue_steps: ['utility_notice'], next_deadline: '2021-10-11', next_step: 'utility_notice', next_deadline_estimated: false });
    expect(r.body.as_of).toBe('2021-10-12');
    // utilities stopped: no longer overdue
    await A.post(`/api/cases/${utility.id}/steps`, { step: 'utility_notice', done_on: '2021-10-11' });
    expect(await names('overdue=1&as_of=2021-10-12')).toEqual(['逾期报告']);
    // detail shows the same judgement
    const d = await A.get(`/api/cases/${late.id}?as_of=2021-10-09`);
    expect(d.body.overdue).toBe(true);
    expect(d.body.steps.find((s: { step: string }) => s.step === 'report_to_town').overdue).toBe(true);
    // other filters
    expect(await names('status=closed')).toEqual(['已结案']);
    expect((await names(`year=${YEAR}`)).length).toBe(4);
    expect(await names('year=2021')).toEqual([]);
    expect((await A.get('/api/cases?overdue=maybe')).status).toBe(400);
  });

  it('a case’s life appears in its polygons’ history, and replay still holds', async () => {
    const ids = await seedPolygons(db, 2, '吉安村');
    const r1 = await link(ids[0], 1, { new_case: newCase({ discovered_on: '2021-09-30' }) });
    expect(r1.status, JSON.stringify(r1.body)).toBe(200);
    const caseId = r1.body.case.id;
    const r2 = await link(ids[1], 1, { case_id: caseId });
    expect(r2.status).toBe(200);
    await A.post(`/api/cases/${caseId}/steps`, { step: 'stop_order', done_on: '2021-09-30', note: '现场责令停止' });
    const p = await A.patch(`/api/cases/${caseId}`, { address: '吉安大道 12-1 号', discovered_on: '2021-10-08' });
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body.address).toBe('吉安大道 12-1 号');
    expect(p.body.number).toBe(r1.body.case.number); // a corrected discovery date never renumbers
    expect(p.body.steps.find((s: { step: string }) => s.step === 'report_to_town').deadline).toBe('2021-10-09');
    const demolishedWithoutArea = await A.post(`/api/cases/${caseId}/close`, { outcome: 'demolished', outcome_at: '2021-10-20' });
    expect(demolishedWithoutArea.status).toBe(400);
    const closed = await A.post(`/api/cases/${caseId}/close`, { outcome: 'demolished', outcome_at: '2021-10-20', outcome_m2: 86.5, note: '当事人自行拆除' });
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);
    expect(closed.body).toMatchObject({ status: 'closed', outcome: 'demolished', outcome_at: '2021-10-20', outcome_m2: 86.5, overdue: false });
    expect(closed.body.steps.find((s: { step: string }) => s.step === 'outcome')).toMatchObject({ done_on: '2021-10-20' });
    expect(closed.body.polygons.map((x: { id: number; is_open: boolean }) => [x.id, x.is_open])).toEqual([[ids[0], false], [ids[1], false]]);

    const h = await A.get(`/api/polygons/${ids[0]}/history`);
    expect(h.body.items.map((e: { action: string }) => e.action)).toEqual(['link', 'case_step', 'case_updated', 'case_closed']);
    expect(h.body.items.every((e: { case_id: number }) => e.case_id === caseId)).toBe(true);
    expect(h.body.items[1]).toMatchObject({ from_status: 'linked', to_status: 'linked', note: '现场责令停止', payload: { step: { step: 'stop_order', done_on: '2021-09-30' } } });
    expect(h.body.items[3].payload).toMatchObject({ outcome: 'demolished', outcome_m2: 86.5 });

    // a closed case takes no more steps, changes or polygons
    expect((await A.post(`/api/cases/${caseId}/steps`, { step: 'stop_order', note: 'x' })).body.error.code).toBe('case_closed');
    expect((await A.patch(`/api/cases/${caseId}`, { note: 'x' })).status).toBe(409);
    expect((await A.post(`/api/cases/${caseId}/close`, { outcome: 'regularised', outcome_ref: 'x' })).status).toBe(409);
    const [other] = await seedPolygons(db, 1);
    const late = await link(other, 1, { case_id: caseId });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('case_closed');
    expect(await statusOf(db, other)).toEqual({ status: 'pending', version: 1 });

    // the polygon may be reopened and linked to a new case
    const re = await A.post(`/api/polygons/${ids[0]}/decisions`, { action: 'reopen', version: 2, note: '复查发现又建', request_id: uuid() });
    expect(re.status).toBe(200);
    expect((await link(ids[0], 3, { new_case: newCase({ discovered_on: '2021-11-02' }) })).status).toBe(200);

    const replayed = await replayAll(db, REGION);
    for (const id of [...ids, other]) expect(replayed.get(id) ?? 'pending').toBe((await statusOf(db, id)).status);
  });

  it('PATCH checks the version when given', async () => {
    const c = (await A.post('/api/cases', newCase())).body;
    const ok = await A.patch(`/api/cases/${c.id}`, { party: '陈某某', version: c.version });
    expect(ok.status).toBe(200);
    expect(ok.body.version).toBe(c.version + 1);
    const stale = await A.patch(`/api/cases/${c.id}`, { party: '又改', version: c.version });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'version_conflict', details: { current: { version: c.version + 1 } } });
    expect((await A.patch(`/api/cases/${c.id}`, {})).status).toBe(400);
    expect((await A.patch(`/api/cases/${c.id}`, { village: '红旗村' })).status).toBe(200);
    expect((await S.get(`/api/cases/${c.id}`)).status).toBe(200);
  });

  it('a polygon is in at most one open case (enforced by the database)', async () => {
    const [id] = await seedPolygons(db, 1);
    const a = (await A.post('/api/cases', newCase())).body;
    const b = (await A.post('/api/cases', newCase())).body;
    await db.query(`INSERT INTO case_polygon (region_code, case_id, polygon_id, linked_by, linked_by_name) VALUES ($1, $2, $3, 1, 't')`, [REGION, a.id, id]);
    await expect(
      db.query(`INSERT INTO case_polygon (region_code, case_id, polygon_id, linked_by, linked_by_name) VALUES ($1, $2, $3, 1, 't')`, [REGION, b.id, id]),
    ).rejects.toThrow(/case_polygon_one_open_idx|duplicate key/);
    // once the first case closes (trigger clears is_open), another open case may take it
    await db.query(`UPDATE enforcement_case SET status = 'closed', outcome = 'regularised', outcome_at = '2021-10-01' WHERE region_code = $1 AND id = $2`, [REGION, a.id]);
    const open = await db.query<{ is_open: boolean }>('SELECT is_open FROM case_polygon WHERE region_code = $1 AND case_id = $2', [REGION, a.id]);
    expect(open.rows).toEqual([{ is_open: false }]);
    await db.query(`INSERT INTO case_polygon (region_code, case_id, polygon_id, linked_by, linked_by_name) VALUES ($1, $2, $3, 1, 't')`, [REGION, b.id, id]);
  });

  it('publishes its vocabulary with labels', async () => {
    const v = await F.get('/api/review/vocabulary');
    expect(v.status).toBe(200);
    expect(v.body.dismiss_reasons.find((r: { code: string }) => r.code === 'legal_permitted').label.zh).toBe('合法/已批准');
    expect(v.body.actions.find((a: { code: string }) => a.code === 'return')).toMatchObject({ to: 'pending', roles: ['reviewer', 'admin'] });
    expect(v.body.case_steps.map((s: { code: string }) => s.code)).toContain('utility_notice');
    expect(v.body.calendar.first_year).toBe(2004);
  });
});
