/**
 * What the server does for the web app (issue 4), over HTTP without a browser: static files and their caching,
 * the SPA fallback, GET /api/config/map (XYZ, WMTS, local PMTiles), local PMTiles files, and the queue counts
 * (same filters and village scope as the list).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { startApp, type TestApp } from '../helpers/api';
import { generateSample } from '../../scripts/generate-sample';
import { SAMPLE_FILES } from '../../server/sample';
import { importFile } from '../../server/ingest/import';
import { parseMapSource } from '../../server/routes/web';

let tmp: string;
let web: string;
let data: string;
let sample: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'tuban-web-'));
  web = path.join(tmp, 'web');
  data = path.join(tmp, 'data');
  mkdirSync(path.join(web, 'assets'), { recursive: true });
  mkdirSync(data, { recursive: true });
  writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>tuban</title><div id="app"></div>');
  writeFileSync(path.join(web, 'assets', 'index-AbCdEf12.js'), 'console.log(1)');
  writeFileSync(path.join(web, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(path.join(data, 'imagery-2020.pmtiles'), Buffer.alloc(4096, 7));
  sample = path.join(tmp, 'sample');
  generateSample({ out: sample, scale: 'tiny', seed: 42 });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('parses the configured map sources', () => {
  expect(parseMapSource(undefined, data)).toEqual({ source: null });
  expect(parseMapSource('https://tiles.example.org/img/{z}/{x}/{y}.jpg', data)).toMatchObject({
    source: { kind: 'xyz', tiles: ['https://tiles.example.org/img/{z}/{x}/{y}.jpg'], scheme: 'xyz' }, origin: 'https://tiles.example.org',
  });
  expect(parseMapSource('http://gis.local/wmts?layer=a&TileMatrix={TileMatrix}&TileRow={TileRow}&TileCol={TileCol}', data).source)
    .toEqual({ kind: 'xyz', tiles: ['http://gis.local/wmts?layer=a&TileMatrix={z}&TileRow={y}&TileCol={x}'], scheme: 'xyz' });
  expect(parseMapSource('http://gis.local/tms/{z}/{x}/{-y}.png', data).source).toMatchObject({ scheme: 'tms', tiles: ['http://gis.local/tms/{z}/{x}/{y}.png'] });
  expect(parseMapSource('https://cdn.example.org/a.pmtiles', data).source).toEqual({ kind: 'pmtiles', url: 'pmtiles://https://cdn.example.org/a.pmtiles' });
  expect(parseMapSource('pmtiles://imagery-2020.pmtiles', data).source).toEqual({ kind: 'pmtiles', url: 'pmtiles:///map-files/imagery-2020.pmtiles' });
  expect(parseMapSource('imagery-2020.pmtiles', data).file?.abs).toBe(path.join(data, 'imagery-2020.pmtiles'));
  expect(parseMapSource('../../etc/passwd.pmtiles', data).problem).toMatch(/data directory/);
  expect(parseMapSource('missing.pmtiles', data).problem).toMatch(/no file/);
  expect(parseMapSource('https://example.org/no-placeholders.png', data).problem).toMatch(/\{z\}/);
});

describeEachDb('web app routes', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let bare: TestApp;

  beforeAll(async () => {
    db = await freshDb(backend);
    app = await startApp(db, {
      env: {
        TUBAN_WEB_DIR: web,
        TUBAN_DATA_DIR: data,
        TUBAN_BASEMAP_URL: 'https://basemap.example.org/{z}/{x}/{y}.png',
        TUBAN_IMAGERY_AFTER_URL: 'pmtiles://imagery-2020.pmtiles',
      },
    });
    bare = await startApp(db, { env: { TUBAN_WEB_DIR: path.join(tmp, 'not-built') } });
    for (const s of SAMPLE_FILES) {
      const bytes = new Uint8Array(readFileSync(path.join(sample, s.file)));
      await importFile(db, app.config, { bytes, fileName: s.file, layer: s.layer, widthField: s.widthField, user: 'test' });
    }
  });
  afterAll(async () => {
    await app?.close();
    await bare?.close();
    await db?.dispose();
  });

  it('serves the app: index.html revalidated with a CSP, hashed assets for a year, SPA paths, data paths never', async () => {
    const index = await app.get('/');
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    // the configured basemap host may be fetched; nothing else outside
    expect(index.headers.get('content-security-policy')).toMatch(/connect-src 'self' https:\/\/basemap\.example\.org/);
    const asset = await app.get('/assets/index-AbCdEf12.js');
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await app.get('/favicon.svg')).headers.get('cache-control')).toBe('no-cache');
    const deep = await app.get('/cases/12');
    expect(deep.status).toBe(200);
    expect(deep.text).toContain('<div id="app">');
    expect((await app.get('/assets/gone-12345678.js')).status).toBe(404);
    const api = await app.get('/api/nothing-here');
    expect(api.status).toBe(404);
    expect(api.body.error.code).toBe('not_found');
    expect((await app.get('/tiles/nothing/1/2/3.mvt')).text).not.toContain('<div id="app">');
    expect((await app.post('/somewhere')).status).toBe(404);
    const unbuilt = await bare.get('/');
    expect(unbuilt.status).toBe(503);
    expect(unbuilt.text).toMatch(/npm run build:web/);
  });

  it('tells logged-in users the map sources, and serves local PMTiles with Range', async () => {
    expect((await app.get('/api/config/map')).status).toBe(401);
    const field = await app.as('field', { villages: ['吉安社区'] });
    const cfg = await field.get('/api/config/map');
    expect(cfg.status).toBe(200);
    expect(cfg.body).toEqual({
      basemap: { kind: 'xyz', tiles: ['https://basemap.example.org/{z}/{x}/{y}.png'], scheme: 'xyz' },
      imagery: { before: null, after: { kind: 'pmtiles', url: 'pmtiles:///map-files/imagery-2020.pmtiles' } },
    });
    await expect((await bare.as('analyst')).get('/api/config/map').then((r) => r.body)).resolves.toEqual({ basemap: null, imagery: { before: null, after: null } });
    expect((await app.get('/map-files/imagery-2020.pmtiles')).status).toBe(401);
    const part = await field.get('/map-files/imagery-2020.pmtiles', { headers: { range: 'bytes=0-127' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 0-127/4096');
    // only the configured file, nothing else from the data directory
    expect((await field.get('/map-files/other.pmtiles')).status).not.toBe(200);
  });

  it('counts the queue per status, village, flag and batch with the list\'s filters and village scope', async () => {
    const analyst = await app.as('analyst');
    const all = await analyst.get('/api/polygons/counts');
    expect(all.status).toBe(200);
    const list = await analyst.get('/api/polygons', { query: { limit: 1 } });
    const statusSum = Object.values(all.body.status as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(all.body.total).toBe(list.body.total);
    expect(statusSum).toBe(list.body.total);
    expect(all.body.status.pending).toBe(list.body.total);

    // a status filter narrows the total, not the status facet (the other chips still show their numbers)
    const verified = await analyst.get('/api/polygons/counts', { query: { status: 'verified' } });
    expect(verified.body.total).toBe(0);
    expect(verified.body.status.pending).toBe(all.body.status.pending);

    // village facet = per-village list totals
    for (const v of all.body.village as { value: string | null; n: number }[]) {
      const l = await analyst.get('/api/polygons', { query: { village: v.value ?? '-', limit: 1 } });
      expect(l.body.total, `village ${v.value}`).toBe(v.n);
    }
    // flag facet, with another filter on
    const village = (all.body.village as { value: string | null }[]).find((v) => v.value)!.value!;
    const inVillage = await analyst.get('/api/polygons/counts', { query: { village } });
    for (const f of inVillage.body.flags as { value: string; n: number }[]) {
      const l = await analyst.get('/api/polygons', { query: { village, flags: f.value, limit: 1 } });
      expect(l.body.total, `flag ${f.value}`).toBe(f.n);
    }
    expect((inVillage.body.batch as { n: number }[]).reduce((a, b) => a + b.n, 0)).toBe(inVillage.body.total);

    // a village-limited user counts only their village, whatever they ask for
    const field = await app.as('field', { villages: [village] });
    const scoped = await field.get('/api/polygons/counts');
    expect(scoped.body.village.map((v: { value: string }) => v.value)).toEqual([village]);
    expect(scoped.body.total).toBe(inVillage.body.total);
    const other = (all.body.village as { value: string | null }[]).find((v) => v.value && v.value !== village);
    if (other) expect((await field.get('/api/polygons/counts', { query: { village: other.value! } })).body.total).toBe(0);

    expect((await analyst.get('/api/polygons/counts', { query: { status: 'nope' } })).status).toBe(400);
  });
});
