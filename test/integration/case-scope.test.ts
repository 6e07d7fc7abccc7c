/**
 * Issue 12 item 6: a case of one village may link a polygon of another. A village-limited caller sees
 * the case, but never that polygon (detail, ledger, export), and cannot write into its history.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { REGION, seedPolygons, startApp, user, uuid, type Api, type Client } from './review-helpers';
import type { Principal } from '../../server/auth/guard';

describeEachDb('case village scope', (backend) => {
  let db: TestDb;
  let api: Api;
  const admin = user('admin', '区管理员');
  const hongqi = user('analyst', '红旗村专干', ['红旗村']);
  const both = user('analyst', '两村专干', ['红旗村', '吉安村']);
  let A: Client, S: Client, B: Client;
  let caseId: number;
  let own: number, foreign: number;

  const csv = async (p: Principal, path: string) => {
    const res = await fetch(api.url + path, { headers: { 'x-test-user': Buffer.from(JSON.stringify(p)).toString('base64') } });
    expect(res.status).toBe(200);
    return res.text();
  };
  const events = async (id: number) =>
    (await db.query<{ action: string }>('SELECT action FROM polygon_event WHERE region_code = $1 AND polygon_id = $2 ORDER BY seq', [REGION, id]))
      .rows.map((r) => r.action);

  beforeAll(async () => {
    db = await freshDb(backend);
    api = await startApp(db);
    [A, S, B] = [admin, hongqi, both].map((p) => api.as(p));
    [own] = await seedPolygons(db, 1, '红旗村', 'HQ');
    [foreign] = await seedPolygons(db, 1, '吉安村', 'JA');
    // an officer for the whole town links a 吉安村 polygon to a 红旗村 case
    const c = await A.post('/api/cases', { party: '跨村某', address: '红旗村 3 组', kind: 'under_construction', village: '红旗村', discovered_on: '2021-09-30' });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    caseId = c.body.id;
    for (const id of [own, foreign]) {
      const r = await A.post(`/api/polygons/${id}/decisions`, { action: 'link', version: 1, case_id: caseId, request_id: uuid() });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
  });
  afterAll(async () => {
    await api?.close();
    await db?.dispose();
  });

  it('the detail and the ledger show only the caller’s polygons', async () => {
    const codes = (await db.query<{ id: number; code: string }>('SELECT id, code FROM survey_polygon WHERE id = ANY($1::bigint[])', [[own, foreign]])).rows;
    const foreignCode = codes.find((c) => c.id === foreign)!.code;
    const ownCode = codes.find((c) => c.id === own)!.code;

    const full = await A.get(`/api/cases/${caseId}`);
    expect(full.body.polygons.map((p: { id: number }) => p.id)).toEqual([own, foreign]);
    const d = await S.get(`/api/cases/${caseId}`);
    expect(d.status).toBe(200);
    expect(d.body.polygons.map((p: { id: number }) => p.id)).toEqual([own]);
    expect(JSON.stringify(d.body)).not.toContain(foreignCode);
    expect(JSON.stringify(d.body)).not.toContain('吉安村');

    const list = await S.get('/api/cases');
    expect(list.body.items.find((c: { id: number }) => c.id === caseId).polygon_count).toBe(1);
    expect((await A.get('/api/cases')).body.items.find((c: { id: number }) => c.id === caseId).polygon_count).toBe(2);

    const mine = await csv(hongqi, '/api/exports/cases.csv');
    expect(mine).toContain(ownCode);
    expect(mine).not.toContain(foreignCode);
    expect(await csv(admin, '/api/exports/cases.csv')).toContain(foreignCode);
  });

  it('a step, a change or a closure is refused when the case reaches outside the caller’s villages', async () => {
    const before = await events(foreign);
    const step = await S.post(`/api/cases/${caseId}/steps`, { step: 'stop_order', done_on: '2021-09-30', note: '现场责令停止' });
    expect(step.status).toBe(403);
    expect(step.body.error).toMatchObject({ code: 'case_outside_scope', details: { outside: 1 } });
    expect(step.body.error.message_zh).not.toContain('吉安村');
    expect((await S.patch(`/api/cases/${caseId}`, { note: '改' })).body.error.code).toBe('case_outside_scope');
    expect((await S.post(`/api/cases/${caseId}/close`, { outcome: 'regularised', outcome_at: '2021-10-01', outcome_ref: '建字 1 号' })).body.error.code).toBe('case_outside_scope');
    expect(await events(foreign)).toEqual(before);
    expect(await events(own)).toEqual(['link']);
    // an officer of both villages records it: both histories get it
    const ok = await B.post(`/api/cases/${caseId}/steps`, { step: 'stop_order', done_on: '2021-09-30' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(await events(foreign)).toEqual(['link', 'case_step']);
  });

  it('linking across villages needs a role allowed in both', async () => {
    const [p2] = await seedPolygons(db, 1, '吉安村', 'JB');
    const [p3] = await seedPolygons(db, 1, '红旗村', 'HB');
    const jiCase = (await A.post('/api/cases', { party: '吉安某', address: '吉安大道', kind: 'existing', village: '吉安村', discovered_on: '2021-09-30' })).body;
    // the 红旗村 officer: a 吉安村 polygon to their case, or their polygon to a 吉安村 case — neither exists for them
    const a = await S.post(`/api/polygons/${p2}/decisions`, { action: 'link', version: 1, case_id: caseId, request_id: uuid() });
    expect(a.status).toBe(404);
    const b = await S.post(`/api/polygons/${p3}/decisions`, { action: 'link', version: 1, case_id: jiCase.id, request_id: uuid() });
    expect(b.status).toBe(404);
    const bulk = await S.post('/api/decisions/bulk', { action: 'link', case_id: caseId, items: [{ id: p3, version: 1 }, { id: p2, version: 1 }], request_id: uuid() });
    expect(bulk.status).toBe(404);
    expect(await events(p2)).toEqual([]);
    expect(await events(p3)).toEqual([]);
    // allowed in both villages: linked
    const c = await B.post(`/api/polygons/${p3}/decisions`, { action: 'link', version: 1, case_id: jiCase.id, request_id: uuid() });
    expect(c.status, JSON.stringify(c.body)).toBe(200);
  });
});
