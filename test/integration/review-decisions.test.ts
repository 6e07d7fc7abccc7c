import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { replayAll } from '../../server/review/events';
import type { DecisionAction, Status } from '../../server/review/transitions';
import { REGION, seedPolygons, startApp, statusOf, user, uuid, type Api, type Client } from './review-helpers';

describeEachDb('review decisions', (backend) => {
  let db: TestDb;
  let api: Api;
  const analyst = user('analyst', '张分析');
  const analyst2 = user('analyst', '李分析');
  const reviewer = user('reviewer', '王审核');
  const admin = user('admin', '管理员');
  const field = user('field', '外业');
  const scoped = user('analyst', '红旗村专干', ['红旗村']);
  let A: Client, A2: Client, R: Client, AD: Client, F: Client, S: Client;

  beforeAll(async () => {
    db = await freshDb(backend);
    api = await startApp(db);
    [A, A2, R, AD, F, S] = [analyst, analyst2, reviewer, admin, field, scoped].map((p) => api.as(p));
  });
  afterAll(async () => {
    await api?.close();
    await db?.dispose();
  });

  const body = (action: DecisionAction, version: number, extra: Record<string, unknown> = {}) => ({
    action,
    version,
    request_id: uuid(),
    ...(action === 'dismiss' ? { reason: 'false_change' } : {}),
    ...(action === 'return' || action === 'reopen' ? { note: '请复核' } : {}),
    ...extra,
  });
  let sharedCaseId: number;
  const caseFor = async () => {
    if (!sharedCaseId) {
      const c = await A.post('/api/cases', { party: '陈某', address: '吉安镇吉安大道 1 号', kind: 'existing', village: '吉安村', discovered_on: '2021-08-20' });
      expect(c.status).toBe(201);
      sharedCaseId = c.body.id;
    }
    return sharedCaseId;
  };
  const extraFor = async (a: DecisionAction) => (a === 'link' ? { case_id: await caseFor() } : {});

  /** Drive a fresh polygon to `s` through the API (so its history stays valid). */
  async function polygonIn(s: Status): Promise<{ id: number; version: number }> {
    const [id] = await seedPolygons(db, 1);
    const path: DecisionAction[] = {
      pending: [], field_check: ['request_field_check'], verified: ['verify'], linked: ['link'], dismissed: ['dismiss'],
    }[s] as DecisionAction[];
    let version = 1;
    for (const a of path) {
      const r = await A.post(`/api/polygons/${id}/decisions`, body(a, version, await extraFor(a)));
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      version = r.body.polygon.version;
    }
    return { id, version };
  }

  // ---- every transition, allowed and refused, over HTTP ----
  const STATUSES: Status[] = ['pending', 'field_check', 'verified', 'linked', 'dismissed'];
  const ALLOWED: Record<DecisionAction, [Status[], Status]> = {
    verify: [['pending', 'field_check'], 'verified'],
    link: [['pending', 'field_check'], 'linked'],
    dismiss: [['pending', 'field_check'], 'dismissed'],
    request_field_check: [['pending'], 'field_check'],
    return: [['verified', 'linked', 'dismissed'], 'pending'],
    reopen: [['verified', 'linked', 'dismissed', 'field_check'], 'pending'],
  };
  const table = (Object.keys(ALLOWED) as DecisionAction[]).flatMap((action) =>
    STATUSES.map((from) => ({ action, from, ok: ALLOWED[action][0].includes(from), to: ALLOWED[action][1] })),
  );

  it.each(table)('$action from $from', async ({ action, from, ok, to }) => {
    const p = await polygonIn(from);
    const who = action === 'return' ? R : A;
    const r = await who.post(`/api/polygons/${p.id}/decisions`, body(action, p.version, await extraFor(action)));
    if (ok) {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.polygon).toEqual({ id: p.id, status: to, version: p.version + 1 });
      expect(r.body.event).toMatchObject({ action, from_status: from, to_status: to, username: who === R ? '王审核' : '张分析' });
    } else {
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('invalid_transition');
      expect(r.body.error.details.current).toEqual({ status: from, version: p.version });
      expect(await statusOf(db, p.id)).toEqual({ status: from, version: p.version });
    }
  });

  it.each([
    ['reviewer', 'verify', 'pending'], ['reviewer', 'dismiss', 'pending'], ['reviewer', 'reopen', 'verified'],
    ['analyst', 'return', 'verified'], ['field', 'verify', 'pending'], ['field', 'request_field_check', 'pending'],
  ] as [string, DecisionAction, Status][])('%s may not %s (403)', async (role, action, from) => {
    const p = await polygonIn(from);
    const c = { reviewer: R, analyst: A, field: F }[role]!;
    const r = await c.post(`/api/polygons/${p.id}/decisions`, body(action, p.version));
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('forbidden');
    expect(await statusOf(db, p.id)).toEqual({ status: from, version: p.version });
  });

  it('admin may decide and return', async () => {
    const p = await polygonIn('pending');
    const v = await AD.post(`/api/polygons/${p.id}/decisions`, body('verify', 1));
    expect(v.status).toBe(200);
    const r = await AD.post(`/api/polygons/${p.id}/decisions`, body('return', 2));
    expect(r.body.polygon.status).toBe('pending');
  });

  it('refuses without a principal (401) and validates input at the edge (400)', async () => {
    const [id] = await seedPolygons(db, 1);
    const anon = api.as(null);
    expect((await anon.post(`/api/polygons/${id}/decisions`, body('verify', 1))).status).toBe(401);
    const bad = [
      { action: 'verify', version: 1 }, // no request_id
      { action: 'verify', version: 1, request_id: 'not-a-uuid' },
      { action: 'approve', version: 1, request_id: uuid() },
      { action: 'verify', version: 0, request_id: uuid() },
      { action: 'dismiss', version: 1, request_id: uuid() }, // no reason
      { action: 'dismiss', version: 1, request_id: uuid(), reason: 'other' }, // other without note
      { action: 'return', version: 1, request_id: uuid() }, // (as admin) no comment
      { action: 'verify', version: 1, request_id: uuid(), extra: 1 },
      { action: 'link', version: 1, request_id: uuid(), case_id: 1, new_case: { party: 'x', address: 'y', kind: 'existing' } },
    ];
    for (const b of bad) {
      const r = await AD.post(`/api/polygons/${id}/decisions`, b);
      expect(r.status, JSON.stringify(b)).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_input' });
      expect(r.body.error.message_zh).toBeTruthy();
    }
    expect((await AD.post(`/api/polygons/abc/decisions`, body('verify', 1))).status).toBe(400);
    expect((await AD.post(`/api/polygons/999999999/decisions`, body('verify', 1))).status).toBe(404);
    expect(await statusOf(db, id)).toEqual({ status: 'pending', version: 1 });
  });

  it('a stale version gets 409 version_conflict naming who decided, and changes nothing', async () => {
    const [id] = await seedPolygons(db, 1);
    const first = await A.post(`/api/polygons/${id}/decisions`, body('verify', 1));
    expect(first.status).toBe(200);
    const second = await A2.post(`/api/polygons/${id}/decisions`, body('dismiss', 1));
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('version_conflict');
    expect(second.body.error.details.current).toEqual({ status: 'verified', version: 2 });
    expect(second.body.error.details.by).toMatchObject({ username: '张分析', action: 'verify' });
    expect(new Date(second.body.error.details.by.at).getTime()).toBeGreaterThan(0);
    expect(second.body.error.message_zh).toContain('张分析');
    const h = await A.get(`/api/polygons/${id}/history`);
    expect(h.body.items).toHaveLength(1);
  });

  it('is idempotent by request id: a retry answers the first result, one event', async () => {
    const [id] = await seedPolygons(db, 1);
    const b = body('dismiss', 1, { reason: 'temporary_use', note: '施工临时用地' });
    const r1 = await A.post(`/api/polygons/${id}/decisions`, b);
    const r2 = await A.post(`/api/polygons/${id}/decisions`, b);
    expect(r1.status).toBe(200);
    expect(r2.status).toBe(200);
    expect(r1.body.replayed).toBe(false);
    expect(r2.body.replayed).toBe(true);
    expect(r2.headers.get('idempotent-replayed')).toBe('true');
    expect({ ...r2.body, replayed: false }).toEqual(r1.body);
    expect(r1.body.event.reason_label).toEqual({ zh: '临时用地', en: 'Temporary use' });
    const h = await A.get(`/api/polygons/${id}/history`);
    expect(h.body.items).toHaveLength(1);
    expect(h.body.items[0].request_id).toBe(b.request_id);
    // another user may use the same id for their own request
    const other = await A2.post(`/api/polygons/${id}/decisions`, { ...body('reopen', 2), request_id: b.request_id });
    expect(other.status).toBe(200);
    // the same id for a different question is refused
    const reused = await A.post(`/api/polygons/${id}/decisions`, { ...body('verify', 3), request_id: b.request_id });
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('request_id_reused');
  });

  it('identical requests racing decide once', async () => {
    const [id] = await seedPolygons(db, 1);
    const b = body('verify', 1);
    const all = await Promise.all(Array.from({ length: 12 }, () => A.post(`/api/polygons/${id}/decisions`, b)));
    expect(all.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(all.filter((r) => !r.body.replayed)).toHaveLength(1);
    expect(new Set(all.map((r) => r.body.event.id)).size).toBe(1);
    expect(await statusOf(db, id)).toEqual({ status: 'verified', version: 2 });
    const n = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM polygon_event WHERE region_code = $1 AND polygon_id = $2', [REGION, id]);
    expect(n.rows[0].n).toBe(1);
  });

  it('refuses polygons no longer in the survey (409 polygon_removed)', async () => {
    const [id] = await seedPolygons(db, 1);
    await db.query('UPDATE survey_polygon SET removed_batch_id = batch_id WHERE region_code = $1 AND id = $2', [REGION, id]);
    const r = await A.post(`/api/polygons/${id}/decisions`, body('verify', 1));
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('polygon_removed');
    const b = await A.post('/api/decisions/bulk', { action: 'verify', items: [{ id, version: 1 }], request_id: uuid() });
    expect(b.status).toBe(409);
    expect(b.body.error).toMatchObject({ code: 'polygon_removed', details: { ids: [id] } });
  });

  it('hides polygons outside the caller’s villages (404, no leak)', async () => {
    const [mine] = await seedPolygons(db, 1, '红旗村');
    const [theirs] = await seedPolygons(db, 1, '吉安村');
    const [none] = await seedPolygons(db, 1, null);
    for (const id of [theirs, none]) {
      const r = await S.post(`/api/polygons/${id}/decisions`, body('verify', 1));
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
      expect((await S.get(`/api/polygons/${id}/history`)).status).toBe(404);
      // not even with a stale version or a new case: the same 404
      expect((await S.post(`/api/polygons/${id}/decisions`, body('verify', 7))).status).toBe(404);
      expect((await S.post(`/api/polygons/${id}/decisions`, body('link', 1, { new_case: { party: '甲', address: '乙', kind: 'existing' } }))).status).toBe(404);
    }
    const bulk = await S.post('/api/decisions/bulk', { action: 'verify', items: [{ id: mine, version: 1 }, { id: theirs, version: 1 }], request_id: uuid() });
    expect(bulk.status).toBe(404);
    expect(bulk.body.error.details.missing).toEqual([theirs]);
    expect(await statusOf(db, mine)).toEqual({ status: 'pending', version: 1 });
    const ok = await S.post(`/api/polygons/${mine}/decisions`, body('verify', 1));
    expect(ok.status).toBe(200);
    expect(await statusOf(db, theirs)).toEqual({ status: 'pending', version: 1 });
  });

  it('links to a new case in the same transaction; return leaves the case', async () => {
    const [id] = await seedPolygons(db, 1, '吉安村');
    const r = await A.post(`/api/polygons/${id}/decisions`, body('link', 1, {
      new_case: { party: '刘某', address: '吉安大道 88 号', kind: 'under_construction', discovered_on: '2021-09-30' },
    }));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.case).toMatchObject({ created: true });
    expect(r.body.case.number).toMatch(/^吉安违建〔\d{4}〕第\d+号$/); // the year of registration (issue 13 rule 7)
    const c = await A.get(`/api/cases/${r.body.case.id}`);
    expect(c.body.village).toBe('吉安村');
    expect(c.body.polygons.map((p: { id: number }) => p.id)).toEqual([id]);
    const back = await R.post(`/api/polygons/${id}/decisions`, body('return', 2, { note: '证据不足' }));
    expect(back.status).toBe(200);
    expect(back.body.event.case_id).toBe(r.body.case.id);
    const c2 = await A.get(`/api/cases/${r.body.case.id}`);
    expect(c2.body.polygons).toEqual([]);
    // and can be linked again
    const again = await A.post(`/api/polygons/${id}/decisions`, body('link', 3, { case_id: r.body.case.id }));
    expect(again.status).toBe(200);
    const h = await A.get(`/api/polygons/${id}/history`);
    expect(h.body.items.map((e: { action: string }) => e.action)).toEqual(['link', 'return', 'link']);
    expect(h.body.items[0].case_number).toBe(r.body.case.number);
    expect(h.body.items[1].note).toBe('证据不足');
  });

  describe('bulk', () => {
    it('decides all in one transaction', async () => {
      const ids = await seedPolygons(db, 25);
      const r = await A.post('/api/decisions/bulk', { action: 'dismiss', reason: 'temporary_use', items: ids.map((id) => ({ id, version: 1 })), request_id: uuid() });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.count).toBe(25);
      expect(r.body.items.every((i: { status: string; version: number; seq: number }) => i.status === 'dismissed' && i.version === 2 && i.seq === 1)).toBe(true);
      for (const id of ids) expect(await statusOf(db, id)).toEqual({ status: 'dismissed', version: 2 });
    });

    it('one stale item: 409 listing the conflicts, nothing changed', async () => {
      const ids = await seedPolygons(db, 10);
      const moved = await A2.post(`/api/polygons/${ids[4]}/decisions`, body('verify', 1));
      expect(moved.status).toBe(200);
      const before = await db.query('SELECT count(*)::int AS n FROM polygon_event WHERE region_code = $1', [REGION]);
      const r = await A.post('/api/decisions/bulk', { action: 'verify', items: ids.map((id) => ({ id, version: 1 })), request_id: uuid() });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('version_conflict');
      expect(r.body.error.details.conflicts).toEqual([{ id: ids[4], current_version: 2, status: 'verified', reason: 'version' }]);
      for (const id of ids) expect((await statusOf(db, id)).status).toBe(id === ids[4] ? 'verified' : 'pending');
      const after = await db.query('SELECT count(*)::int AS n FROM polygon_event WHERE region_code = $1', [REGION]);
      expect(after.rows).toEqual(before.rows);
    });

    it('an item in the wrong status: 409 invalid_transition, nothing changed', async () => {
      const ids = await seedPolygons(db, 3);
      await A.post(`/api/polygons/${ids[0]}/decisions`, body('verify', 1));
      const r = await R.post('/api/decisions/bulk', { action: 'return', note: '重新核查', items: [{ id: ids[0], version: 2 }, { id: ids[1], version: 1 }], request_id: uuid() });
      expect(r.status).toBe(409);
      expect(r.body.error).toMatchObject({ code: 'invalid_transition', details: { conflicts: [{ id: ids[1], current_version: 1, status: 'pending', reason: 'transition' }] } });
      expect(await statusOf(db, ids[0])).toEqual({ status: 'verified', version: 2 });
    });

    it('a retried bulk request is answered once; duplicates and oversize are refused', async () => {
      const ids = await seedPolygons(db, 3);
      const b = { action: 'request_field_check', items: ids.map((id) => ({ id, version: 1 })), request_id: uuid() };
      const [r1, r2] = await Promise.all([A.post('/api/decisions/bulk', b), A.post('/api/decisions/bulk', b)]);
      expect([r1.status, r2.status]).toEqual([200, 200]);
      expect([r1.body.replayed, r2.body.replayed].sort()).toEqual([false, true]);
      const n = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM polygon_event WHERE region_code = $1 AND request_id = $2', [REGION, b.request_id]);
      expect(n.rows[0].n).toBe(3);
      const dup = await A.post('/api/decisions/bulk', { ...b, request_id: uuid(), items: [{ id: ids[0], version: 2 }, { id: ids[0], version: 2 }] });
      expect(dup.status).toBe(400);
      const big = await A.post('/api/decisions/bulk', { ...b, request_id: uuid(), items: Array.from({ length: 1001 }, (_, i) => ({ id: i + 1, version: 1 })) });
      expect(big.status).toBe(400);
    });

    it('links many polygons to one new case', async () => {
      const ids = await seedPolygons(db, 4, '红旗村');
      const r = await A.post('/api/decisions/bulk', {
        action: 'link', items: ids.map((id) => ({ id, version: 1 })), request_id: uuid(),
        new_case: { party: '某公司', address: '红旗村 3 组', kind: 'existing', discovered_on: '2021-07-22' },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const c = await A.get(`/api/cases/${r.body.case.id}`);
      expect(c.body.village).toBe('红旗村');
      expect(c.body.polygons).toHaveLength(4);
    });
  });

  it('events are append-only, enforced by the database', async () => {
    const [id] = await seedPolygons(db, 1);
    await A.post(`/api/polygons/${id}/decisions`, body('verify', 1));
    await expect(db.query(`UPDATE polygon_event SET note = 'x' WHERE region_code = $1 AND polygon_id = $2`, [REGION, id])).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM polygon_event WHERE region_code = $1 AND polygon_id = $2`, [REGION, id])).rejects.toThrow(/append-only/);
    await expect(db.query(`TRUNCATE polygon_event CASCADE`)).rejects.toThrow(/append-only/);
    const n = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM polygon_event WHERE region_code = $1 AND polygon_id = $2', [REGION, id]);
    expect(n.rows[0].n).toBe(1);
  });

  it('a plain decision, made in one statement, answers in the form of one made in the full transaction', async () => {
    const [id] = await seedPolygons(db, 1);
    const plain = await A.post(`/api/polygons/${id}/decisions`, body('request_field_check', 1)); // decide_at_once
    const full = await A.post(`/api/polygons/${id}/decisions`, body('dismiss', 2, { reason: 'other', note: '村道硬化' })); // proof check: full transaction
    expect(plain.status, JSON.stringify(plain.body)).toBe(200);
    expect(full.status, JSON.stringify(full.body)).toBe(200);
    const shape = (o: Record<string, unknown>) => Object.keys(o).sort();
    expect(shape(plain.body)).toEqual(shape(full.body));
    expect(shape(plain.body.event)).toEqual(shape(full.body.event));
    expect(plain.body).toMatchObject({ polygon: { id, status: 'field_check', version: 2 }, case: null, replayed: false });
    expect(plain.body.event).toMatchObject({
      polygon_id: id, seq: 1, user_id: analyst.id, username: '张分析', action: 'request_field_check', from_status: 'pending',
      to_status: 'field_check', reason: null, note: null, case_id: null, payload: {}, reason_label: null,
      action_label: { zh: expect.any(String), en: expect.any(String) },
      to_status_label: { zh: expect.any(String), en: expect.any(String) },
    });
    for (const k of ['id', 'seq', 'polygon_id', 'user_id'] as const) expect(typeof plain.body.event[k], k).toBe('number');
    // `at` as a Date goes through JSON (the full transaction's form), and as the history reads it
    const h = await A.get(`/api/polygons/${id}/history`);
    expect(plain.body.event.at).toBe(new Date(plain.body.event.at).toISOString());
    expect(h.body.items[0]).toMatchObject({ id: plain.body.event.id, seq: 1, at: plain.body.event.at, request_id: plain.body.event.request_id });
  });

  it('history answers oldest first with labels', async () => {
    const [id] = await seedPolygons(db, 1);
    await A.post(`/api/polygons/${id}/decisions`, body('request_field_check', 1));
    await A.post(`/api/polygons/${id}/decisions`, body('dismiss', 2, { reason: 'other', note: '村道硬化' }));
    const h = await F.get(`/api/polygons/${id}/history`);
    expect(h.status).toBe(200);
    expect(h.body.polygon).toMatchObject({ id, status: 'dismissed', version: 3 });
    expect(h.body.items.map((e: { seq: number }) => e.seq)).toEqual([1, 2]);
    expect(h.body.items[1]).toMatchObject({
      action: 'dismiss', from_status: 'field_check', to_status: 'dismissed', reason: 'other', note: '村道硬化',
      username: '张分析', user_id: analyst.id, action_label: { zh: '排除' }, reason_label: { zh: '其他' },
    });
  });

  it(`concurrency: 20 clients deciding the same 50 polygons (${backend})`, async () => {
    const ids = await seedPolygons(db, 50, '并发村');
    const clients = Array.from({ length: 20 }, (_, i) => ({ p: user('analyst', `并发${i}`), i }));
    type Attempt = { request_id: string; polygon: number; status: number; code?: string; event_id?: number };
    const attempts: Attempt[] = [];
    const next = (s: Status, k: number): DecisionAction =>
      s === 'pending' ? (['verify', 'dismiss', 'request_field_check', 'link'] as const)[k % 4]
        : s === 'field_check' ? (k % 2 ? 'verify' : 'dismiss')
          : 'reopen';
    const caseId = await caseFor();
    const passes = 2;
    await Promise.all(clients.map(async ({ p, i }) => {
      const c = api.as(p);
      // what this client believes: every polygon starts pending at version 1; a 409 tells it the truth
      const known = new Map<number, { status: Status; version: number }>(ids.map((id) => [id, { status: 'pending', version: 1 }]));
      for (let pass = 0; pass < passes; pass++) {
        const order = [...ids].sort(() => Math.random() - 0.5);
        for (const [k, id] of order.entries()) {
          const cur = known.get(id)!;
          const action = next(cur.status, i + k + pass);
          const b = body(action, cur.version, action === 'link' ? { case_id: caseId } : {});
          const r = await c.post(`/api/polygons/${id}/decisions`, b);
          attempts.push({ request_id: b.request_id, polygon: id, status: r.status, code: r.body?.error?.code, event_id: r.body?.event?.id });
          if (r.status === 200) known.set(id, { status: r.body.polygon.status, version: r.body.polygon.version });
          else if (r.body?.error?.details?.current) known.set(id, r.body.error.details.current);
        }
      }
    }));
    expect(attempts).toHaveLength(20 * 50 * passes);
    const accepted = attempts.filter((a) => a.status === 200);
    const refused = attempts.filter((a) => a.status !== 200);
    // every refusal is a 409 conflict (the only thing that can go wrong here is someone else being first)
    expect(new Set(refused.map((a) => `${a.status} ${a.code}`))).toEqual(new Set(refused.length ? ['409 version_conflict'] : []));
    expect(accepted.length).toBeGreaterThanOrEqual(50);
    const ev = await db.query<{ request_id: string; polygon_id: number; id: number }>(
      `SELECT request_id::text, polygon_id, id FROM polygon_event WHERE region_code = $1 AND polygon_id = ANY($2::bigint[]) AND action <> 'case_step'`,
      [REGION, ids],
    );
    // every accepted request appears exactly once in history, refused ones never
    const byRequest = new Map<string, number>();
    for (const e of ev.rows) byRequest.set(e.request_id, (byRequest.get(e.request_id) ?? 0) + 1);
    expect(ev.rows).toHaveLength(accepted.length);
    for (const a of accepted) expect(byRequest.get(a.request_id), a.request_id).toBe(1);
    for (const a of refused) expect(byRequest.has(a.request_id)).toBe(false);
    // versions count the accepted decisions; seq has no gaps (replay checks it) and statuses equal the replay
    const replayed = await replayAll(db, REGION);
    for (const id of ids) {
      const s = await statusOf(db, id);
      const n = accepted.filter((a) => a.polygon === id).length;
      expect(s.version).toBe(1 + n);
      expect(replayed.get(id) ?? 'pending').toBe(s.status);
    }
  }, 400_000);

  it('every polygon’s status equals the replay of its events', async () => {
    const replayed = await replayAll(db, REGION);
    const all = await db.query<{ id: number; status: string }>('SELECT id, status FROM survey_polygon WHERE region_code = $1', [REGION]);
    expect(all.rows.length).toBeGreaterThan(100);
    for (const p of all.rows) expect(replayed.get(p.id) ?? 'pending', `polygon ${p.id}`).toBe(p.status);
  });
});
