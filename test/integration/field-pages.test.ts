/**
 * The pages of field work the server writes: the printable village sheet (QR code per polygon to visit,
 * village scope, a browser without a session sent to log in) and the field page for /p, /p/<code>.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import type { UserClient } from '../helpers/api';
import { fieldEnv, type FieldEnv } from './field-helpers';
import { uuid } from './review-helpers';

describeEachDb('field pages', (backend) => {
  let env: FieldEnv;
  let field: UserClient;
  let codes: string[];

  beforeAll(async () => {
    env = await fieldEnv(backend);
    field = await env.app.as('field', { villages: ['吉安村'] });
    const analyst = await env.app.as('analyst');
    // one of the four is decided: it is no longer to visit
    const v = await analyst.post(`/api/polygons/${env.jian[3]}/decisions`, { action: 'verify', version: 1, request_id: uuid() });
    expect(v.status).toBe(200);
    const fc = await analyst.post(`/api/polygons/${env.jian[1]}/decisions`, { action: 'request_field_check', version: 1, request_id: uuid() });
    expect(fc.status).toBe(200);
    codes = (await env.db.query<{ code: string }>('SELECT code FROM survey_polygon WHERE id = ANY($1::bigint[]) ORDER BY id', [env.jian])).rows.map((r) => r.code);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('prints the village sheet: a QR code to /p/<code> for each polygon still to visit, field checks first', async () => {
    const r = await field.get(`/p/sheet/${encodeURIComponent('吉安村')}`, { headers: { accept: 'text/html' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/html');
    expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = r.text;
    expect(html).toContain('吉安村 · 外业核查清单');
    expect(html).toContain('待核查图斑 3 个');
    const cards = [...html.matchAll(/<section class="card" data-code="([^"]+)">/g)].map((m) => m[1]);
    // jian[1] asked for a field check comes first; jian[3] is verified and left out
    expect(cards).toEqual([codes[1], codes[0], codes[2]]);
    expect((html.match(/<svg /g) ?? []).length).toBe(3);
    expect(html).toContain(`aria-label="二维码 ${env.app.url}/p/${encodeURIComponent(codes[0])}"`);
    expect(html).toContain('待实地核查');
    expect(html).toContain('□在建');
    expect(html).not.toContain('<script');
  });

  it('says so when a village has nothing to visit, or is not the user\'s', async () => {
    const analyst = await env.app.as('analyst');
    const empty = await analyst.get(`/p/sheet/${encodeURIComponent('无此村')}`);
    expect(empty.status).toBe(200);
    expect(empty.text).toContain('目前没有待核查的图斑');
    const other = await field.get(`/p/sheet/${encodeURIComponent('红旗村')}`);
    expect(other.status).toBe(404);
    expect(other.text).toContain('没有此村的清单');
    expect(other.text).not.toContain('data-code');
  });

  it('sends a browser without a session to log in; an API client gets the usual 401', async () => {
    const page = await env.app.get(`/p/sheet/${encodeURIComponent('吉安村')}`, { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(page.status).toBe(401);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.text).toContain('请先登录');
    expect(page.text).toContain(`href="/p?next=${encodeURIComponent(`/p/sheet/${encodeURIComponent('吉安村')}`)}"`);
    const api = await env.app.get(`/p/sheet/${encodeURIComponent('吉安村')}`);
    expect(api.status).toBe(401);
    expect(api.body.error.code).toBe('unauthenticated');
  });

  it('serves the field page for /p and /p/<code> without a session (it logs in itself)', async () => {
    for (const p of ['/p', `/p/${encodeURIComponent(codes[0])}`]) {
      const r = await env.app.get(p);
      // 503 when the field page has not been built in this checkout
      expect([200, 503], p).toContain(r.status);
      if (r.status === 200) {
        expect(r.text).toContain('<div id="app"');
        expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
        expect(r.headers.get('cache-control')).toBe('no-cache');
      } else expect(r.text).toContain('npm run build:field');
    }
  });

  it('sends the built scripts gzip-compressed, and they are the build\'s files exactly', async () => {
    const dir = path.join(path.dirname(env.app.config.webDir), 'field', 'assets');
    if (!existsSync(dir)) return; // not built in this checkout
    for (const f of readdirSync(dir).filter((x) => /\.(js|css)$/.test(x))) {
      const r = await fetch(`${env.app.url}/field/assets/${f}`, { headers: { 'accept-encoding': 'gzip' } });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-encoding'), f).toBe('gzip');
      // fetch has decoded it: what the browser runs
      expect(Buffer.from(await r.arrayBuffer()).equals(readFileSync(path.join(dir, f))), f).toBe(true);
      const plain = await fetch(`${env.app.url}/field/assets/${f}`, { headers: { 'accept-encoding': 'identity' } });
      expect(plain.headers.get('content-encoding')).toBeNull();
    }
  });

  it('finds a polygon by its code, within the user\'s villages', async () => {
    const r = await field.get(`/api/field/by-code/${encodeURIComponent(codes[0])}`);
    expect(r.status).toBe(200);
    expect(r.body.polygon).toMatchObject({ id: env.jian[0], code: codes[0], village: '吉安村', status: 'pending' });
    expect(r.body.polygon.status_label).toEqual({ zh: '待核查', en: 'Pending' });
    expect(r.body.polygon.geometry.type).toBe('MultiPolygon');
    expect(r.body.polygon.target.type).toBe('Point');
    const other = (await env.db.query<{ code: string }>('SELECT code FROM survey_polygon WHERE id = $1', [env.hongqi[0]])).rows[0].code;
    expect((await field.get(`/api/field/by-code/${encodeURIComponent(other)}`)).status).toBe(404);
    expect((await field.get('/api/field/by-code/NO-SUCH-CODE')).status).toBe(404);
  });

  it('gives the field map the parcel lines around the polygon, nearest first (issue 16 item 12)', async () => {
    const region = env.app.config.regionCode;
    const batch = await env.db.query<{ id: number }>(
      `INSERT INTO import_batch (region_code, layer_id, file_name, sha256, source_layer, report)
       SELECT $1, id, 'parcels.zip', 'nearby-test', 'parcels', '{}'::jsonb FROM layer WHERE name = 'cadastral' RETURNING id`, [region]);
    // under the polygon, 40 m east of it, and 600 m east of it (too far to draw)
    for (const [code, dx] of [['P-UNDER', 0], ['P-EAST-40', 40], ['P-FAR', 600]] as const) {
      await env.db.query(
        `INSERT INTO parcel (region_code, batch_id, record, parcel_code, land_use, attrs, geom)
         SELECT region_code, $2, 1, $3, '宅基地', '{}'::jsonb,
                ST_Multi(ST_Translate(ST_Envelope(geom), $4::float8 + CASE WHEN $4::float8 > 0 THEN ST_XMax(geom) - ST_XMin(geom) ELSE 0 END, 0))
         FROM survey_polygon WHERE region_code = $1 AND id = $5`, [region, batch.rows[0].id, code, dx, env.jian[0]]);
    }
    const r = await field.get(`/api/field/polygons/${env.jian[0]}`);
    expect(r.status).toBe(200);
    const nearby = r.body.polygon.nearby_parcels as { parcel_code: string; land_use: string; geometry: { type: string; coordinates: number[][][][] } }[];
    expect(nearby.map((p) => p.parcel_code)).toEqual(['P-UNDER', 'P-EAST-40']);
    expect(nearby[0].land_use).toBe('宅基地');
    expect(nearby[0].geometry.type).toBe('MultiPolygon');
    // WGS84 for the phone's map, next to the polygon's own coordinates
    const [lon, lat] = nearby[0].geometry.coordinates[0][0][0];
    const [plon, plat] = r.body.polygon.target.coordinates;
    expect(Math.abs(lon - plon)).toBeLessThan(0.01);
    expect(Math.abs(lat - plat)).toBeLessThan(0.01);
  });
});
