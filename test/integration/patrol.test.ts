/**
 * Daily patrol (issue 16 items 8–10): a finding is a lead (source 巡查) at its position, sent once however
 * often the phone retries; 在建 opens a case with the stop order and the 1-working-day report deadline at
 * once; a patrol record is stored once with its track, distance and findings; bad input is a bilingual 4xx;
 * the roles.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import type { Client } from '../helpers/api';
import { GPS_PHOTO, leadTown, toLonLat, type LeadTown } from './leads-fixture';
import { addWorkdays, today } from '../../server/review/workdays';

function findingForm(f: { lon: number; lat: number; category?: string; note?: string; under_construction?: boolean; open_case?: boolean;
  found_at?: string; photo?: Uint8Array; extra?: Record<string, string> }) {
  const form = new FormData();
  form.set('lon', String(f.lon));
  form.set('lat', String(f.lat));
  form.set('found_at', f.found_at ?? new Date().toISOString());
  form.set('category', f.category ?? 'construction');
  if (f.note) form.set('note', f.note);
  form.set('under_construction', String(f.under_construction ?? false));
  if (f.open_case !== undefined) form.set('open_case', String(f.open_case));
  for (const [k, v] of Object.entries(f.extra ?? {})) form.set(k, v);
  if (f.photo) form.append('photo', new Blob([f.photo as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), 'p.jpg');
  return form;
}

describeEachDb('daily patrol', (backend) => {
  let t: LeadTown;
  let field: Client;
  let other: Client;
  let reviewer: Client;
  const patrolId = randomUUID();
  const send = (c: Client, patrol: string, finding: string, f: Parameters<typeof findingForm>[0]) =>
    c.request('PUT', `/api/patrols/${patrol}/findings/${finding}`, { form: findingForm(f) });
  const count = async (sql: string, params: unknown[] = []) => Number((await t.db.query<{ n: number }>(sql, params)).rows[0].n);

  beforeAll(async () => {
    t = await leadTown(backend);
    field = await t.app.as('field', { villages: ['东村'] });
    other = await t.app.as('field');
    reviewer = await t.app.as('reviewer');
  });
  afterAll(async () => t?.close());

  it('a finding is a lead at its position, with its photo, recorded once however often it is sent', async () => {
    const [lon, lat] = toLonLat(200, 400);
    const id = randomUUID();
    const f = { lon, lat, note: '东村三组菜地旁堆放建材', category: 'other', photo: GPS_PHOTO };
    const first = await send(field, patrolId, id, f);
    expect(first.status, first.text).toBe(201);
    expect(first.body.replayed).toBe(false);
    expect(first.body.finding).toMatchObject({ client_id: id, patrol_client_id: patrolId, category: 'other', under_construction: false, case: null });
    expect(first.body.finding.lead).toMatchObject({ status: 'pending', village: '东村' });
    expect(first.body.finding.lead.code).toMatch(/^XC-/);
    expect(first.body.photos).toHaveLength(1);

    // the phone did not hear the answer and sends again: the same lead, the same photo, nothing new
    const again = await send(field, patrolId, id, f);
    expect(again.status, again.text).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.finding.lead.id).toBe(first.body.finding.lead.id);
    expect(again.body.photos).toEqual(first.body.photos);
    expect(await count("SELECT count(*) AS n FROM survey_polygon WHERE source = 'patrol'")).toBe(1);
    expect(await count('SELECT count(*) AS n FROM evidence WHERE polygon_id = $1', [first.body.finding.lead.id])).toBe(1);

    // the lead is in the analysts' queue as any lead is
    const q = await t.analyst.get('/api/polygons', { query: { source: 'patrol' } });
    expect(q.body.total).toBe(1);
    expect(q.body.items[0]).toMatchObject({ id: first.body.finding.lead.id, source: 'patrol', village: '东村' });

    // two sends at once (a retry racing the first): one lead between them
    const racing = randomUUID();
    const [a, b] = await Promise.all([send(field, patrolId, racing, f), send(field, patrolId, racing, f)]);
    expect([a.status, b.status].sort(), a.text + b.text).toEqual([200, 201]);
    expect(a.body.finding.lead.id).toBe(b.body.finding.lead.id);
    expect(await count("SELECT count(*) AS n FROM survey_polygon WHERE source = 'patrol'")).toBe(2);
    expect(await count('SELECT count(*) AS n FROM patrol_finding')).toBe(2);

    // the same finding id from another account is refused, not merged into theirs
    const stolen = await send(other, patrolId, id, f);
    expect(stolen.status, stolen.text).toBe(409);
    expect(stolen.body.error).toMatchObject({ code: 'client_id_reused' });
    expect(stolen.body.error.message_zh).toBeTruthy();
  });

  it('在建 opens a case with the stop order at once; the report deadline is one working day from the day found', async () => {
    const [lon, lat] = toLonLat(400, 420);
    const id = randomUUID();
    const r = await send(field, patrolId, id, { lon, lat, note: '正在浇筑二层楼板', under_construction: true, open_case: true });
    expect(r.status, r.text).toBe(201);
    const c = r.body.finding.case;
    expect(c).not.toBeNull();
    expect(c.report_deadline).toBe(addWorkdays(today(), 1));
    expect(r.body.finding.lead.status).toBe('linked');

    const kase = await t.analyst.get(`/api/cases/${c.id}`);
    expect(kase.status, kase.text).toBe(200);
    expect(kase.body).toMatchObject({ kind: 'under_construction', village: '东村', number: c.number });
    expect(kase.body.steps.map((s: { step: string }) => s.step)).toEqual(expect.arrayContaining(['stop_order', 'report_to_town']));
    expect(kase.body.polygons.map((p: { id: number }) => Number(p.id))).toEqual([r.body.finding.lead.id]);
    // the history says so (the lead's status changed only with an event)
    const h = await t.analyst.get(`/api/polygons/${r.body.finding.lead.id}/history`);
    expect(h.body.items.map((e: { action: string }) => e.action)).toContain('link');

    // a resend opens no second case
    const again = await send(field, patrolId, id, { lon, lat, under_construction: true, open_case: true });
    expect(again.status).toBe(200);
    expect(again.body.finding.case.id).toBe(c.id);
    expect(await count('SELECT count(*) AS n FROM enforcement_case')).toBe(1);

    // outside the account's villages: the lead is kept, the case is left to the office, and the answer says so
    const [wlon, wlat] = toLonLat(800, 420);
    const west = await send(field, patrolId, randomUUID(), { lon: wlon, lat: wlat, under_construction: true, open_case: true });
    expect(west.status, west.text).toBe(201);
    expect(west.body.finding.case).toBeNull();
    expect(west.body.finding.lead).toMatchObject({ village: '西村', status: 'pending' });
    expect(west.body.case_refused).toMatchObject({ code: 'village_out_of_scope' });
    expect(await count('SELECT count(*) AS n FROM enforcement_case')).toBe(1);
  });

  it('a patrol is stored once with its track, distance and findings', async () => {
    const track = [toLonLat(100, 100), toLonLat(100, 400), toLonLat(100, 400), toLonLat(400, 400)];
    const body = {
      village: '东村', members: ['张三', '李四'], started_at: new Date(Date.now() - 3600_000).toISOString(), ended_at: new Date().toISOString(), track,
    };
    const r = await field.put(`/api/patrols/${patrolId}`, body);
    expect(r.status, r.text).toBe(201);
    const p = r.body.patrol;
    expect(p).toMatchObject({ client_id: patrolId, village: '东村', members: ['张三', '李四'], track_points: 4 });
    expect(p.distance_m).toBeCloseTo(600, 0);
    expect(p.track.type).toBe('LineString');
    expect(p.track.coordinates).toHaveLength(3);
    expect(p.findings).toHaveLength(4);

    const again = await field.put(`/api/patrols/${patrolId}`, body);
    expect(again.status, again.text).toBe(200);
    expect(again.body.replayed).toBe(true);
    expect(again.body.patrol.received_at).toBe(p.received_at);
    expect(await count('SELECT count(*) AS n FROM patrol')).toBe(1);
    expect((await other.put(`/api/patrols/${patrolId}`, body)).status).toBe(409);

    const list = await reviewer.get('/api/patrols');
    expect(list.status, list.text).toBe(200);
    expect(list.body.total).toBe(1);
    expect(list.body.items[0].findings).toHaveLength(4);
    const one = await reviewer.get(`/api/patrols/${patrolId}`);
    expect(one.status).toBe(200);
    expect(one.body.findings.map((f: { category: string }) => f.category).sort()).toEqual(['construction', 'construction', 'other', 'other']);
    // a village-limited account sees the patrols of its villages only
    const westOnly = await t.app.as('reviewer', { villages: ['西村'] });
    expect((await westOnly.get('/api/patrols')).body.total).toBe(0);
    expect((await westOnly.get(`/api/patrols/${patrolId}`)).status).toBe(404);
  });

  it('refuses bad input with a 4xx in both languages', async () => {
    const ok = { village: '东村', members: ['张三'], started_at: '2021-07-21T01:00:00Z', ended_at: '2021-07-21T02:00:00Z', track: [] };
    const cases: [string, () => Promise<{ status: number; body: any }>, number, string?][] = [
      ['bad patrol id', () => field.put('/api/patrols/not-a-uuid', ok), 400],
      ['ends before it starts', () => field.put(`/api/patrols/${randomUUID()}`, { ...ok, ended_at: '2021-07-21T00:00:00Z' }), 400],
      ['no members', () => field.put(`/api/patrols/${randomUUID()}`, { ...ok, members: [] }), 400],
      ['unknown village', () => field.put(`/api/patrols/${randomUUID()}`, { ...ok, village: '北村' }), 400, 'unknown_village'],
      ['another village', () => field.put(`/api/patrols/${randomUUID()}`, { ...ok, village: '西村' }), 403, 'village_out_of_scope'],
      ['a point off the earth', () => field.put(`/api/patrols/${randomUUID()}`, { ...ok, track: [[200, 29]] }), 400],
      ['too long a track', () => field.put(`/api/patrols/${randomUUID()}`, { ...ok, track: Array.from({ length: 10_001 }, () => [105.9, 29.4]) }), 400],
      ['in the future', () => field.put(`/api/patrols/${randomUUID()}`, { ...ok, ended_at: new Date(Date.now() + 86400_000).toISOString() }), 400],
      ['unknown field', () => field.put(`/api/patrols/${randomUUID()}`, { ...ok, distance_m: 5 }), 400],
      ['a phone clock reset to 1970', () => send(field, patrolId, randomUUID(), { lon: 105.9, lat: 29.4, found_at: '1970-01-01T00:00:00Z' }), 400],
      ['a finding in the future', () => send(field, patrolId, randomUUID(), { lon: 105.9, lat: 29.4, found_at: new Date(Date.now() + 86400_000).toISOString() }), 400],
      ['bad finding id', () => send(field, patrolId, 'x', { lon: 105.9, lat: 29.4 }), 400],
      ['bad category', () => send(field, patrolId, randomUUID(), { lon: 105.9, lat: 29.4, category: 'ufo' }), 400],
      ['not a photo', () => send(field, patrolId, randomUUID(), { lon: 105.9, lat: 29.4, photo: new TextEncoder().encode('not an image at all') }), 415],
      ['latitude out of range', () => send(field, patrolId, randomUUID(), { lon: 105.9, lat: 95 }), 400],
    ];
    for (const [what, call, status, code] of cases) {
      const r = await call();
      expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(status);
      expect(r.body.error.message, what).toBeTruthy();
      expect(r.body.error.message_zh, what).toMatch(/[\u4e00-\u9fff]/);
      if (code) expect(r.body.error.code, what).toBe(code);
    }
    // four photos: over the cap
    const form = findingForm({ lon: 105.9, lat: 29.4 });
    for (let i = 0; i < 4; i++) form.append('photo', new Blob([GPS_PHOTO as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), `p${i}.jpg`);
    const many = await field.request('PUT', `/api/patrols/${patrolId}/findings/${randomUUID()}`, { form });
    expect(many.status, many.text).toBe(400);
    expect(many.body.error.code).toBe('too_many_photos');
  });

  it('admits field accounts and the office; reviewers read, anonymous callers nothing', async () => {
    const body = { village: '东村', members: ['王五'], started_at: '2021-07-21T01:00:00Z', ended_at: '2021-07-21T02:00:00Z', track: [] };
    expect((await reviewer.put(`/api/patrols/${randomUUID()}`, body)).status).toBe(403);
    expect((await send(reviewer, randomUUID(), randomUUID(), { lon: 105.9, lat: 29.4 })).status).toBe(403);
    expect((await t.app.client({}).put(`/api/patrols/${randomUUID()}`, body)).status).toBe(401);
    expect((await t.app.client({}).get('/api/patrols')).status).toBe(401);
    expect((await t.analyst.put(`/api/patrols/${randomUUID()}`, body)).status).toBe(201);
    const v = await field.get('/api/patrols/villages');
    expect(v.body.villages).toEqual(['东村']);
    expect((await t.analyst.get('/api/patrols/villages')).body.villages).toEqual(['东村', '西村']);
  });
});
