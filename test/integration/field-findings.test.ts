/**
 * Field findings: recorded once per client_id (an offline queue may send twice, or two at once), shown in
 * the polygon's history with their photos, never changing its status (replay stays valid).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import type { UserClient } from '../helpers/api';
import { replayAll } from '../../server/review/events';
import { fieldEnv, photoForm, targetOf, type FieldEnv } from './field-helpers';
import { uuid } from './review-helpers';

const PHOTO = new Uint8Array(readFileSync(new URL('../fixtures/photos/gps.jpg', import.meta.url)));

describeEachDb('field findings', (backend) => {
  let env: FieldEnv;
  let field: UserClient;
  let analyst: UserClient;

  beforeAll(async () => {
    env = await fieldEnv(backend);
    field = await env.app.as('field', { villages: ['吉安村'] });
    analyst = await env.app.as('analyst');
  });
  afterAll(async () => {
    await env?.close();
  });

  const count = async (sql: string, params: unknown[]) => (await env.db.query<{ n: number }>(sql, params)).rows[0].n;
  const eventsOf = (id: number, action: string) =>
    count('SELECT count(*)::int AS n FROM polygon_event WHERE polygon_id = $1 AND action = $2', [id, action]);

  it('records a finding once per client_id: the same finding again is a replay, not a second event', async () => {
    const id = env.jian[0];
    const at = await targetOf(field, id);
    const body = {
      finding: 'under_construction', note: '二层在建，未见施工许可', client_id: uuid(),
      position: { lat: at.lat, lon: at.lon, accuracy: 6 }, captured_at: '2021-07-21T10:35:00+08:00',
    };
    const a = await field.post(`/api/polygons/${id}/findings`, body);
    expect(a.status, a.text).toBe(201);
    expect(a.body.replayed).toBe(false);
    expect(a.body.finding).toMatchObject({
      polygon_id: id, finding: 'under_construction', finding_label: { zh: '在建', en: 'Under construction' },
      note: '二层在建，未见施工许可', reported_by: field.user.username, distance_m: 0, photos: [],
    });
    expect(a.body.event.action).toBe('field_finding');
    expect(a.body.event.from_status).toBe('pending');
    expect(a.body.event.to_status).toBe('pending');
    const b = await field.post(`/api/polygons/${id}/findings`, body);
    expect(b.status).toBe(200);
    expect(b.body.replayed).toBe(true);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(b.body.finding.id).toBe(a.body.finding.id);
    expect(await eventsOf(id, 'field_finding')).toBe(1);
    expect(await count('SELECT count(*)::int AS n FROM field_finding WHERE polygon_id = $1', [id])).toBe(1);
    // another finding under the same client_id is refused
    const c = await field.post(`/api/polygons/${id}/findings`, { ...body, finding: 'completed' });
    expect(c.status).toBe(422);
    expect(c.body.error.code).toBe('client_id_reused');
  });

  it('two copies sent at the same moment are still recorded once', async () => {
    const id = env.jian[1];
    const body = { finding: 'completed', client_id: uuid() };
    const rs = await Promise.all([1, 2, 3].map(() => field.post(`/api/polygons/${id}/findings`, body)));
    expect(rs.map((r) => r.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(rs.map((r) => r.body.finding.id)).size).toBe(1);
    expect(await eventsOf(id, 'field_finding')).toBe(1);
  });

  it('never changes the status or version; decisions go on and replay stays valid', async () => {
    const id = env.jian[2];
    const fc = await analyst.post(`/api/polygons/${id}/decisions`, { action: 'request_field_check', version: 1, request_id: uuid() });
    expect(fc.status, fc.text).toBe(200);
    const f = await field.post(`/api/polygons/${id}/findings`, { finding: 'nothing_found', client_id: uuid() });
    expect(f.status).toBe(201);
    expect(f.body.event.from_status).toBe('field_check');
    expect(f.body.event.to_status).toBe('field_check');
    const s = await env.db.query<{ status: string; version: number }>('SELECT status, version FROM survey_polygon WHERE id = $1', [id]);
    expect(s.rows[0]).toEqual({ status: 'field_check', version: 2 });
    // the analyst decides with the version they saw before the finding: no conflict
    const v = await analyst.post(`/api/polygons/${id}/decisions`, { action: 'dismiss', reason: 'false_change', version: 2, request_id: uuid() });
    expect(v.status, v.text).toBe(200);
    const g = await field.post(`/api/polygons/${id}/findings`, { finding: 'demolished', client_id: uuid() });
    expect(g.body.event.from_status).toBe('dismissed');
    const replayed = await replayAll(env.db, env.app.config.regionCode);
    const actual = await env.db.query<{ id: number; status: string }>('SELECT id, status FROM survey_polygon');
    for (const p of actual.rows) if (replayed.has(Number(p.id))) expect(replayed.get(Number(p.id)), `polygon ${p.id}`).toBe(p.status);
    expect(replayed.get(id)).toBe('dismissed');
    // the decision view still sees the dismissal as the polygon's decision
    const d = await env.db.query<{ action: string }>('SELECT action FROM polygon_decision WHERE polygon_id = $1', [id]);
    expect(d.rows.map((r) => r.action)).toEqual(['dismiss']);
  });

  it('shows the finding and its photos in the history and in the analyst\'s evidence view', async () => {
    const id = env.jian[3];
    const at = await targetOf(field, id);
    const up = await field.request('POST', '/api/evidence', {
      form: photoForm(PHOTO, { polygon_id: id, client_id: uuid(), lat: at.lat, lon: at.lon, accuracy: 8, captured_at: new Date().toISOString() }),
    });
    expect(up.status, up.text).toBe(201);
    const photoId = up.body.evidence.id as number;
    const f = await field.post(`/api/polygons/${id}/findings`, {
      finding: 'legal_with_permit', note: '出示了乡村建设规划许可证', photos: [photoId], client_id: uuid(),
      position: { lat: at.lat + 0.001, lon: at.lon, accuracy: 5 },
    });
    expect(f.status, f.text).toBe(201);
    expect(f.body.finding.photos).toEqual([photoId]);
    expect(f.body.finding.distance_m).toBeGreaterThan(100);
    expect(f.body.finding.distance_m).toBeLessThan(115);

    const h = await analyst.get(`/api/polygons/${id}/history`);
    expect(h.status).toBe(200);
    const actions = h.body.items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(['evidence_added', 'field_finding']);
    const ev = h.body.items[1];
    expect(ev.action_label).toEqual({ zh: '实地核查结果', en: 'Field finding' });
    expect(ev.note).toBe('出示了乡村建设规划许可证');
    expect(ev.payload.finding).toBe('legal_with_permit');
    expect(ev.payload.photos).toHaveLength(1);
    expect(ev.payload.photos[0]).toMatchObject({ id: photoId, sha256: up.body.evidence.sha256, thumb: `/api/evidence/${photoId}/thumb`, distance_m: 0 });
    expect(h.body.items[0].payload.evidence.id).toBe(photoId);

    const e = await analyst.get(`/api/polygons/${id}/evidence`);
    expect(e.status).toBe(200);
    expect(e.body.evidence.map((x: { id: number }) => x.id)).toEqual([photoId]);
    expect(e.body.findings[0]).toMatchObject({ finding: 'legal_with_permit', photos: [photoId] });
    // the field page's detail carries the same
    const d = await field.get(`/api/field/polygons/${id}`);
    expect(d.body.evidence).toHaveLength(1);
    expect(d.body.findings).toHaveLength(1);
    expect(d.body.history).toHaveLength(2);
    // and the dashboard's evidence view now has a source
    expect(await count('SELECT count(*)::int AS n FROM polygon_evidence WHERE polygon_id = $1', [id])).toBe(1);
    expect((await env.db.query<{ value: string }>("SELECT value FROM setting WHERE key = 'evidence_available'")).rows[0].value).toBe('true');
  });

  it('checks the finding: vocabulary, a note for other, photos of this polygon, scope and role', async () => {
    const id = env.jian[0];
    const bad = await field.post(`/api/polygons/${id}/findings`, { finding: 'looks_fine', client_id: uuid() });
    expect(bad.status).toBe(400);
    const other = await field.post(`/api/polygons/${id}/findings`, { finding: 'other', client_id: uuid() });
    expect(other.status).toBe(400);
    expect(JSON.stringify(other.body.error.details)).toContain('note');
    expect((await field.post(`/api/polygons/${id}/findings`, { finding: 'completed', client_id: 'not-a-uuid' })).status).toBe(400);
    // a photo of another polygon
    const up = await analyst.request('POST', '/api/evidence', { form: photoForm(PHOTO, { polygon_id: env.hongqi[0] }) });
    expect(up.status).toBe(201);
    const p = await field.post(`/api/polygons/${id}/findings`, { finding: 'completed', photos: [up.body.evidence.id], client_id: uuid() });
    expect(p.status).toBe(422);
    expect(p.body.error.code).toBe('photo_unknown');
    // outside the user's villages: not found; a reviewer does not report
    expect((await field.post(`/api/polygons/${env.hongqi[0]}/findings`, { finding: 'completed', client_id: uuid() })).status).toBe(404);
    expect((await field.get(`/api/polygons/${env.hongqi[0]}/evidence`)).status).toBe(404);
    const reviewer = await env.app.as('reviewer');
    expect((await reviewer.post(`/api/polygons/${id}/findings`, { finding: 'completed', client_id: uuid() })).status).toBe(403);
    expect((await reviewer.get(`/api/polygons/${id}/evidence`)).status).toBe(200);
    expect((await field.post('/api/polygons/99999999/findings', { finding: 'completed', client_id: uuid() })).status).toBe(404);
  });

  it('keeps findings append-only', async () => {
    await expect(env.db.query("UPDATE field_finding SET note = 'changed'")).rejects.toThrow(/append-only/);
    await expect(env.db.query('DELETE FROM field_finding')).rejects.toThrow(/append-only/);
  });

  it('lists what is left to visit in the user\'s villages for the offline worklist', async () => {
    const w = await field.get('/api/field/worklist');
    expect(w.status).toBe(200);
    expect(w.body.who).toMatchObject({ kind: 'user', role: 'field', villages: ['吉安村'] });
    // pending or field_check only, in 吉安村: jian[2] was dismissed
    expect(w.body.items.map((x: { id: number }) => x.id).sort()).toEqual([env.jian[0], env.jian[1], env.jian[3]].sort());
    expect(w.body.items[0].geometry.type).toBe('MultiPolygon');
    expect(w.body.items.find((x: { id: number }) => x.id === env.jian[0]).findings).toBe(1);
    const all = await analyst.get('/api/field/worklist', { query: { village: '红旗村' } });
    expect(all.body.items.map((x: { id: number }) => x.id).sort()).toEqual([...env.hongqi].sort());
  });
});
