/**
 * Signed field links: issued by an analyst for chosen polygons, usable without an account, limited to those
 * polygons and to viewing and reporting, refused clearly (401 unknown, 410 revoked/expired) in both languages.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import type { UserClient } from '../helpers/api';
import { hashToken } from '../../server/auth/session';
import { fieldEnv, linkClient, photoForm, type FieldEnv } from './field-helpers';
import { uuid } from './review-helpers';

const PHOTO = new Uint8Array(readFileSync(new URL('../fixtures/photos/gps.jpg', import.meta.url)));

describeEachDb('field links', (backend) => {
  let env: FieldEnv;
  let analyst: UserClient;
  let token: string;
  let linkId: number;

  beforeAll(async () => {
    env = await fieldEnv(backend);
    analyst = await env.app.as('analyst');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('an analyst issues a link to chosen polygons; only its hash is stored', async () => {
    const r = await analyst.post('/api/field-links', { polygon_ids: [env.jian[0], env.jian[1]], label: '张三（吉安村）' });
    expect(r.status, r.text).toBe(201);
    token = r.body.token;
    linkId = r.body.link.id;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.body.url).toBe(`${env.app.url}/f/${token}`);
    expect(r.body.link).toMatchObject({ polygon_ids: [env.jian[0], env.jian[1]], label: '张三（吉安村）', state: 'active', revoked_at: null });
    expect(r.body.link.codes).toHaveLength(2);
    const days = (Date.parse(r.body.link.expires_at) - Date.now()) / 86400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThan(7.01);
    const rows = (await env.db.query<Record<string, unknown>>('SELECT * FROM field_link')).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0].token_hash).toBe(hashToken(token));
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('refuses links to polygons the issuer cannot see, to no polygon, or for too long', async () => {
    const scoped = await env.app.as('analyst', { villages: ['红旗村'] });
    const r = await scoped.post('/api/field-links', { polygon_ids: [env.jian[0]] });
    expect(r.status).toBe(404);
    expect(r.body.error.details.missing).toEqual([env.jian[0]]);
    expect((await analyst.post('/api/field-links', { polygon_ids: [] })).status).toBe(400);
    expect((await analyst.post('/api/field-links', { polygon_ids: [env.jian[0]], expires_in_days: 365 })).status).toBe(400);
    expect((await analyst.post('/api/field-links', { polygon_ids: [99_999_999] })).status).toBe(404);
    const field = await env.app.as('field');
    expect((await field.post('/api/field-links', { polygon_ids: [env.jian[0]] })).status).toBe(403);
  });

  it('a link holder reads the link\'s polygons, and nothing else', async () => {
    const L = linkClient(env.app, token);
    const w = await L.get('/api/field/worklist');
    expect(w.status, w.text).toBe(200);
    expect(w.body.who).toMatchObject({ kind: 'link', link_id: linkId, label: '张三（吉安村）' });
    expect(w.body.items.map((x: { id: number }) => x.id).sort()).toEqual([env.jian[0], env.jian[1]].sort());
    const d = await L.get(`/api/field/polygons/${env.jian[0]}`);
    expect(d.status).toBe(200);
    expect(d.body.polygon.code).toMatch(/^FA/);
    const byCode = await L.get(`/api/field/by-code/${encodeURIComponent(d.body.polygon.code)}`);
    expect(byCode.body.polygon.id).toBe(env.jian[0]);

    // another polygon of the same village: not found
    expect((await L.get(`/api/field/polygons/${env.jian[2]}`)).status).toBe(404);
    expect((await L.get(`/api/polygons/${env.jian[2]}/evidence`)).status).toBe(404);
    const other = await analyst.get(`/api/field/polygons/${env.jian[2]}`);
    expect((await L.get(`/api/field/by-code/${encodeURIComponent(other.body.polygon.code)}`)).status).toBe(404);
    // the X-Field-Token header works the same
    expect((await linkClient(env.app, token, 'x-field-token').get(`/api/field/polygons/${env.jian[1]}`)).status).toBe(200);
  });

  it('a link holder may not decide, list, use tiles or act as a user: 403 field_link_scope', async () => {
    const L = linkClient(env.app, token);
    const calls: [string, string, unknown?][] = [
      ['POST', `/api/polygons/${env.jian[0]}/decisions`, { action: 'verify', version: 1, request_id: uuid() }],
      ['GET', `/api/polygons/${env.jian[0]}`],
      ['GET', '/api/polygons'],
      ['GET', `/api/polygons/${env.jian[0]}/history`],
      ['GET', '/api/auth/me'],
      ['GET', '/api/field-links'],
      ['POST', '/api/field-links', { polygon_ids: [env.jian[2]] }],
      ['GET', '/tiles/survey/14/13000/6800.pbf'],
    ];
    for (const [m, p, body] of calls) {
      const r = await L.request(m, p, { body });
      expect(r.status, `${m} ${p}: ${r.text}`).toBe(403);
      expect(r.body.error.code).toBe('field_link_scope');
      expect(r.body.error.message_zh).toContain('外业链接');
    }
    // the polygon is unchanged
    const s = await env.db.query<{ status: string; version: number }>('SELECT status, version FROM survey_polygon WHERE id = $1', [env.jian[0]]);
    expect(s.rows[0]).toEqual({ status: 'pending', version: 1 });
    // a session cookie sent along does not widen a link request
    const both = await env.app.request('POST', `/api/polygons/${env.jian[0]}/decisions`, {
      headers: { cookie: analyst.cookie!, authorization: `FieldLink ${token}` },
      body: { action: 'verify', version: 1, request_id: uuid() },
    });
    expect(both.status).toBe(403);
    const both2 = await env.app.request('POST', `/api/polygons/${env.jian[0]}/decisions`, {
      headers: { cookie: analyst.cookie!, 'x-field-token': token },
      body: { action: 'verify', version: 1, request_id: uuid() },
    });
    expect(both2.status).toBe(403);
  });

  it('a link holder reports findings and photos on the link\'s polygons only', async () => {
    const L = linkClient(env.app, token);
    const ok = await L.post(`/api/polygons/${env.jian[0]}/findings`, { finding: 'under_construction', note: '正在砌墙', client_id: uuid() });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.finding.reported_by).toBe(`link#${linkId} 张三（吉安村）`);
    expect(ok.body.finding.field_link_id).toBe(linkId);
    expect(ok.body.event.payload.field_link_id).toBe(linkId);
    const no = await L.post(`/api/polygons/${env.jian[2]}/findings`, { finding: 'completed', client_id: uuid() });
    expect(no.status).toBe(404);

    const up = await L.request('POST', '/api/evidence', { form: photoForm(PHOTO, { polygon_id: env.jian[1] }) });
    expect(up.status, up.text).toBe(201);
    expect(up.body.evidence.field_link_id).toBe(linkId);
    expect((await L.request('POST', '/api/evidence', { form: photoForm(PHOTO, { polygon_id: env.jian[3] }) })).status).toBe(404);
    const thumb = await L.get(`/api/evidence/${up.body.evidence.id}/thumb`);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
    // a photo of a polygon outside the link
    const theirs = await analyst.request('POST', '/api/evidence', { form: photoForm(PHOTO, { polygon_id: env.jian[3] }) });
    expect(theirs.status).toBe(201);
    expect((await L.get(`/api/evidence/${theirs.body.evidence.id}/full`)).status).toBe(404);
    // nothing was written for the refused upload: jian[3] has only the analyst's photo
    const n = await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM evidence WHERE polygon_id = $1', [env.jian[3]]);
    expect(n.rows[0].n).toBe(1);
  });

  it('an unknown or malformed token is refused with 401 field_link_invalid', async () => {
    for (const t of ['A'.repeat(43), 'short', `${token.slice(0, 42)}x`]) {
      const r = await linkClient(env.app, t).get('/api/field/worklist');
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('field_link_invalid');
      expect(r.body.error.message_zh).toContain('链接无效');
      expect(r.body.error.message).toContain('not valid');
    }
    const page = await env.app.get(`/f/${'A'.repeat(43)}`);
    expect(page.status).toBe(404);
    expect(page.text).toContain('链接无效');
    expect(page.text).toContain('Link not valid');
  });

  it('a valid link opens the field page without leaking its token in a Referer', async () => {
    const page = await env.app.get(`/f/${token}`);
    // 503 when the field page has not been built in this checkout
    expect([200, 503]).toContain(page.status);
    if (page.status === 200) {
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    }
  });

  it('lists links with their state', async () => {
    const r = await analyst.get('/api/field-links');
    expect(r.status).toBe(200);
    expect(r.body.items[0]).toMatchObject({ id: linkId, state: 'active', created_by: analyst.user.username });
    expect(JSON.stringify(r.body)).not.toContain(token);
    // a village-limited analyst sees their own links only
    const scoped = await env.app.as('analyst', { villages: ['红旗村'] });
    const own = await scoped.post('/api/field-links', { polygon_ids: [env.hongqi[0]] });
    expect(own.status).toBe(201);
    const mine = await scoped.get('/api/field-links');
    expect(mine.body.items.map((x: { id: number }) => x.id)).toEqual([own.body.link.id]);
    // and may not revoke someone else's
    expect((await scoped.delete(`/api/field-links/${linkId}`)).status).toBe(404);
  });

  it('a revoked link is refused with 410 field_link_revoked, API and page alike', async () => {
    const extra = await analyst.post('/api/field-links', { polygon_ids: [env.jian[0]] });
    const t2 = extra.body.token as string;
    expect((await linkClient(env.app, t2).get('/api/field/worklist')).status).toBe(200);
    const del = await analyst.delete(`/api/field-links/${extra.body.link.id}`);
    expect(del.status).toBe(200);
    expect(del.body.link.state).toBe('revoked');
    expect(del.body.link.revoked_by).toBe(analyst.user.username);
    // idempotent
    const again = await analyst.delete(`/api/field-links/${extra.body.link.id}`);
    expect(again.body.link.revoked_at).toBe(del.body.link.revoked_at);

    const r = await linkClient(env.app, t2).post(`/api/polygons/${env.jian[0]}/findings`, { finding: 'completed', client_id: uuid() });
    expect(r.status).toBe(410);
    expect(r.body.error.code).toBe('field_link_revoked');
    expect(r.body.error.message_zh).toContain('已于');
    expect(r.body.error.message_zh).toContain('撤销');
    expect(r.body.error.message).toContain('withdrawn');
    const page = await env.app.get(`/f/${t2}`);
    expect(page.status).toBe(410);
    expect(page.text).toContain('链接已撤销');
    expect(page.text).toContain('Link withdrawn');
    expect((await analyst.get('/api/field-links', { query: { active: 1 } })).body.items.map((x: { id: number }) => x.id))
      .not.toContain(extra.body.link.id);
  });

  it('an expired link is refused with 410 field_link_expired, API and page alike', async () => {
    const extra = await analyst.post('/api/field-links', { polygon_ids: [env.jian[1]], expires_in_days: 1 });
    const t3 = extra.body.token as string;
    expect((await linkClient(env.app, t3).get(`/api/field/polygons/${env.jian[1]}`)).status).toBe(200);
    await env.db.query(`UPDATE field_link SET created_at = now() - interval '2 days', expires_at = now() - interval '1 hour' WHERE id = $1`, [
      extra.body.link.id,
    ]);
    const r = await linkClient(env.app, t3).get(`/api/field/polygons/${env.jian[1]}`);
    expect(r.status).toBe(410);
    expect(r.body.error.code).toBe('field_link_expired');
    expect(r.body.error.message_zh).toContain('过期');
    expect(r.body.error.message).toContain('expired');
    const page = await env.app.get(`/f/${t3}`);
    expect(page.status).toBe(410);
    expect(page.text).toContain('链接已过期');
    const list = await analyst.get('/api/field-links');
    expect(list.body.items.find((x: { id: number }) => x.id === extra.body.link.id).state).toBe('expired');
  });
});
