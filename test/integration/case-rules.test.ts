/**
 * Issue 13 rules 6 and 7 on both databases: the 1-working-day report is for 在建 cases only, and case
 * numbers take the year of registration.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { casePhoto, REGION, startApp, user, type Api, type Client } from './review-helpers';
import { createCase } from '../../server/review/cases';
import { refreshEstimatedDeadlines } from '../../server/review/calendar-refresh';
import { CALENDAR_YEARS } from '../../server/review/workdays';

describeEachDb('case rules', (backend) => {
  let db: TestDb;
  let api: Api;
  const analyst = user('analyst', '彭钢');
  let A: Client;

  beforeAll(async () => {
    db = await freshDb(backend);
    api = await startApp(db);
    A = api.as(analyst);
  });
  afterAll(async () => {
    await api?.close();
    await db?.dispose();
  });

  const body = (o: Record<string, unknown>) => ({ party: '陈某', address: '吉安大道 1 号', kind: 'under_construction', village: '吉安村', ...o });

  it('rule 7: a 2021-12-30 discovery registered in January 2022 is numbered in 2022, after 〔2022〕第1号', async () => {
    const open = (discovered: string, registered: string) =>
      db.tx((q) => createCase(q, REGION, analyst, body({ discovered_on: discovered }) as never, undefined, null, registered));
    const first = await open('2022-01-02', '2022-01-03');
    const late = await open('2021-12-30', '2022-01-05');
    expect(first.number).toBe('吉安违建〔2022〕第1号');
    expect(late.number).toBe('吉安违建〔2022〕第2号');
    const c = await A.get(`/api/cases/${late.id}`);
    expect(c.body).toMatchObject({ year: 2022, seq: 2, discovered_on: '2021-12-30' });
    // correcting the discovery date never renumbers, even across a year
    const p = await A.patch(`/api/cases/${late.id}`, { discovered_on: '2020-11-30' });
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body).toMatchObject({ number: '吉安违建〔2022〕第2号', year: 2022, discovered_on: '2020-11-30' });
    // a discovery after the registration is refused
    await expect(open('2022-02-01', '2022-01-05')).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('rule 6: only a 在建 case has the 1-working-day report; changing the kind follows', async () => {
    const existing = await A.post('/api/cases', body({ kind: 'existing', discovered_on: '2021-09-30' }));
    expect(existing.status).toBe(201);
    expect(existing.body.steps).toEqual([]);
    expect((await A.get(`/api/cases/${existing.body.id}?as_of=2021-12-01`)).body.overdue).toBe(false);
    // it turns out to be still under construction: the report is due 1 working day after discovery
    const toBuilding = await A.patch(`/api/cases/${existing.body.id}`, { kind: 'under_construction' });
    expect(toBuilding.status, JSON.stringify(toBuilding.body)).toBe(200);
    const report = toBuilding.body.steps.find((s: { step: string }) => s.step === 'report_to_town');
    expect(report).toMatchObject({ deadline: '2021-10-08', done_on: null });
    expect(toBuilding.body.steps.map((s: { step: string }) => s.step)).toEqual(['stop_order', 'report_to_town']);
    // and back: no deadline, not overdue
    const back = await A.patch(`/api/cases/${existing.body.id}`, { kind: 'existing' });
    expect(back.body.steps.find((s: { step: string }) => s.step === 'report_to_town').deadline).toBeNull();
    expect((await A.get(`/api/cases/${existing.body.id}?as_of=2021-12-01`)).body.overdue).toBe(false);
    // an officer may still record the report of an existing case: it carries no computed deadline
    const rec = await A.post(`/api/cases/${existing.body.id}/steps`, { step: 'report_to_town', done_on: '2021-10-09', photo_ids: [await casePhoto(db, A, existing.body.id)] });
    expect(rec.body.steps.find((s: { step: string }) => s.step === 'report_to_town')).toMatchObject({ deadline: null, done_on: '2021-10-09' });
  });

  it('rule 8: a deadline beyond the published calendar skips estimated holidays, is marked, and is recomputed at start', async () => {
    const L = CALENDAR_YEARS.last;
    // discovered on the calendar's last day, registered early the next year
    const made = await db.tx((q) => createCase(q, REGION, analyst, body({ discovered_on: `${L}-12-31` }) as never, undefined, null, `${L + 1}-01-06`));
    const c = await A.get(`/api/cases/${made.id}`);
    const step = c.body.steps.find((s: { step: string }) => s.step === 'report_to_town');
    expect(step.deadline).not.toBe(`${L + 1}-01-01`); // New Year's Day is estimated as a holiday
    expect(step).toMatchObject({ deadline_estimated: true, workdays: 1 });
    const listed = await A.get(`/api/cases?q=${encodeURIComponent(c.body.number)}`);
    expect(listed.body.items[0]).toMatchObject({ next_deadline: step.deadline, next_step: 'report_to_town', next_deadline_estimated: true });
  });

  it('rule 8: estimated deadlines are recomputed once a newer calendar is installed', async () => {
    const c = (await A.post('/api/cases', body({ discovered_on: '2021-09-30' }))).body;
    // as a start with an older calendar left it: a weekend-only estimate, marked estimated
    await db.query(`UPDATE case_step SET deadline = '2021-10-01', deadline_estimated = true WHERE region_code = $1 AND case_id = $2 AND step = 'report_to_town'`, [REGION, c.id]);
    await db.query(`INSERT INTO setting (key, value) VALUES ('calendar_last_year', '2020') ON CONFLICT (key) DO UPDATE SET value = '2020'`);
    const r = await refreshEstimatedDeadlines(db);
    expect(r).toMatchObject({ previous: 2020, calendar_last_year: CALENDAR_YEARS.last });
    expect(r.changed).toContainEqual({ case_id: c.id, step: 'report_to_town', from: '2021-10-01', to: '2021-10-08' });
    const row = (await db.query<{ deadline: string; deadline_estimated: boolean }>(
      `SELECT deadline::text AS deadline, deadline_estimated FROM case_step WHERE region_code = $1 AND case_id = $2 AND step = 'report_to_town'`, [REGION, c.id])).rows[0];
    expect(row).toEqual({ deadline: '2021-10-08', deadline_estimated: false });
    // the same calendar at the next start: nothing to do
    expect((await refreshEstimatedDeadlines(db)).recomputed).toBe(0);
  });

  it('closes with the plan’s outcomes: each with what it needs, into the polygons’ history', async () => {
    const mk = async () => (await A.post('/api/cases', body({ kind: 'existing', discovered_on: '2021-09-30' }))).body;
    const a = await mk();
    expect((await A.post(`/api/cases/${a.id}/close`, { outcome: 'regularised', outcome_at: '2021-10-09' })).status).toBe(400);
    expect((await A.post(`/api/cases/${a.id}/close`, { outcome: 'other', outcome_at: '2021-10-09' })).status).toBe(400);
    expect((await A.post(`/api/cases/${a.id}/close`, { outcome: 'confiscated', outcome_m2: 3, outcome_at: '2021-10-09' })).status).toBe(400);
    await casePhoto(db, A, a.id);
    const ok = await A.post(`/api/cases/${a.id}/close`, { outcome: 'regularised', outcome_ref: '建字第 018 号', outcome_at: '2021-10-09' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ status: 'closed', outcome: 'regularised', outcome_ref: '建字第 018 号' });
    const pid = ok.body.polygons[0].id;
    const h = await A.get(`/api/polygons/${pid}/history`);
    expect(h.body.items.at(-1)).toMatchObject({ action: 'case_closed', payload: { outcome: 'regularised', outcome_ref: '建字第 018 号' } });
    const b = await mk();
    const other = await A.post(`/api/cases/${b.id}/close`, { outcome: 'other', note: '当事人已迁出，移交街道', outcome_at: '2021-10-09' });
    expect(other.body).toMatchObject({ outcome: 'other', outcome_note: '当事人已迁出，移交街道' });
    const d = await mk();
    expect((await A.post(`/api/cases/${d.id}/close`, { outcome: 'confiscated', outcome_at: '2021-10-09' })).body.outcome).toBe('confiscated');
  });

  it('the dashboard’s figures: demolished m² against the year’s target, cases closed per week', async () => {
    const admin = api.as(user('admin', '管理员'));
    expect((await A.put('/api/admin/demolition-target', { year: 2022, target_m2: 1000 })).status).toBe(403);
    expect((await admin.put('/api/admin/demolition-target', { year: 2022, target_m2: 1000 })).status).toBe(200);
    const before = (await A.get('/api/cases/stats?year=2022')).body;
    const c = (await A.post('/api/cases', body({ discovered_on: '2021-09-30' }))).body;
    await casePhoto(db, A, c.id);
    const closed = await A.post(`/api/cases/${c.id}/close`, { outcome: 'demolished', outcome_m2: 180, outcome_at: '2022-03-02' });
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);
    const after = (await A.get('/api/cases/stats?year=2022')).body;
    expect(after.target_m2).toBe(1000);
    expect(after.demolished_m2 - before.demolished_m2).toBeCloseTo(180, 6);
    expect(after.closed - before.closed).toBe(1);
    expect(after.weeks).toContainEqual(expect.objectContaining({ week_start: '2022-02-28' }));
    expect(after.share).toBeCloseTo(after.demolished_m2 / 1000, 9);
    expect((await A.get('/api/cases/stats?year=1999')).status).toBe(400);
  });
});
