/**
 * Imported imagery (issue 15 items 1, 2, 4): every input kind and every refusal, the tile route (auth,
 * caching, content read back pixel by pixel at known places), the map config entry, chips, and a re-import
 * replacing a layer atomically — on both databases. Fixtures: test/fixtures/imagery (README.md: how made).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import proj4 from 'proj4';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { startApp, type TestApp } from '../helpers/api';
import { TEST_REGION } from '../helpers/snapshot';
import { refused } from '../helpers/ingest';
import { linkClient } from './field-helpers';
import { importImagery, type ImageryReport } from '../../server/imagery/import';
import { layerDir } from '../../server/imagery/store';
import { tilePath } from '../../server/imagery/pyramid';
import { lonLatToMerc, mercRes, TILE } from '../../server/imagery/mercator';
import { knownCrs } from '../../server/ingest/crs';
import { handoffApp } from '../../server/ingest/handoff';
import { sendToServer } from '../../scripts/ingest-handoff';
import pino from 'pino';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';

const FIX = path.resolve('test/fixtures/imagery');
const fx = (f: string) => path.join(FIX, f);
// the fixtures' quadrants (make.mjs): upper-left corner, 1 m pixels, 200 × 160
const UL = [35587300, 3254000];
const QUADRANTS = {
  tl: { at: [50, 40], rgb: [220, 30, 30] },
  tr: { at: [150, 40], rgb: [30, 200, 30] },
  bl: { at: [50, 120], rgb: [30, 30, 220] },
  br: { at: [150, 120], rgb: [230, 220, 40] },
} as const;
const toGeo = proj4(knownCrs(4523)!.def, '+proj=longlat +ellps=GRS80 +no_defs');
const lonLatOfPixel = (col: number, row: number) => toGeo.forward([UL[0] + col, UL[1] - row]) as [number, number];

/** tile and pixel within it holding a lon/lat at zoom z */
function tilePixel(lon: number, lat: number, z: number) {
  const [mx, my] = lonLatToMerc(lon, lat);
  const gx = (mx + Math.PI * 6378137) / mercRes(z);
  const gy = (Math.PI * 6378137 - my) / mercRes(z);
  return { x: Math.floor(gx / TILE), y: Math.floor(gy / TILE), px: Math.floor(gx % TILE), py: Math.floor(gy % TILE) };
}

async function pixelOf(webp: Buffer, px: number, py: number): Promise<number[]> {
  const { data, info } = await sharp(webp).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const o = (py * info.width + px) * 4;
  return [data[o], data[o + 1], data[o + 2], data[o + 3]];
}

const near = (got: number[], want: readonly number[], tol = 24) => want.every((v, i) => Math.abs(got[i] - v) <= tol);

/** the colour a layer shows at a fixture pixel, read from its tile file */
async function colourAt(dataDir: string, r: ImageryReport, col: number, row: number, z = r.zooms.max): Promise<number[]> {
  const t = tilePixel(...lonLatOfPixel(col, row), z);
  return pixelOf(readFileSync(tilePath(layerDir(dataDir, r.import_id), z, t.x, t.y)), t.px, t.py);
}

/** one survey polygon in the red quadrant: the work region, and a polygon to cut chips for */
async function seedPolygon(db: TestDb): Promise<number> {
  const b = await db.query<{ id: number }>(
    `INSERT INTO import_batch (region_code, layer_id, survey, file_name, sha256, source_layer, report)
     VALUES ($1, (SELECT id FROM layer WHERE name = 'survey'), '2020', 'imagery-test.zip', md5(random()::text), 'tb', '{}') RETURNING id`, [TEST_REGION]);
  const r = await db.query<{ id: number }>(
    `INSERT INTO survey_polygon (region_code, survey, code, first_batch_id, batch_id, attrs, geom, area_m2, village_name)
     VALUES ($1, '2020', 'IMG-' || md5(random()::text), $2, $2, '{}', ST_Multi(ST_MakeEnvelope(35587320, 3253940, 35587380, 3253980, 4523)), 2400, '吉安村')
     RETURNING id`, [TEST_REGION, b.rows[0].id]);
  return Number(r.rows[0].id);
}

const imageryForm = (file: string, fields: Record<string, string>) => {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  f.set('file', new Blob([readFileSync(file)]), path.basename(file));
  return f;
};

describeEachDb('imagery: import, tiles, map config, chips', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let dataDir: string;
  let polygon: number;
  let first: ImageryReport;
  let analystCookie: string;
  const settings = () => ({ dataDir, regionCode: TEST_REGION, workSrid: 4523 });

  beforeAll(async () => {
    db = await freshDb(backend);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'tuban-imagery-'));
    app = await startApp(db, { env: { TUBAN_DATA_DIR: dataDir } });
    polygon = await seedPolygon(db);
    const analyst = await app.as('analyst');
    analystCookie = analyst.cookie!;
    const r = await analyst.post('/api/imports', undefined, { form: imageryForm(fx('rgb8-striped.tif'), { layer: 'imagery', epoch: 'after' }) });
    expect(r.status, r.text).toBe(201);
    first = r.body as ImageryReport;
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const raw = (p: string, headers: Record<string, string> = {}) =>
    fetch(new URL(p, app.url), { headers: { cookie: analystCookie, ...headers } });

  it('POST /api/imports layer=imagery: the report says pixels, resolution, extent, zooms, date, seconds', () => {
    expect(first).toMatchObject({
      layer: 'imagery', epoch: 'after', pixels: { width: 200, height: 160, total: 32000 }, bands: 'rgb', bits: 8,
      crs: { source: 'EPSG:4523', how: 'geokeys' }, georeference: 'geokeys', date: '2020-10-01', date_source: 'tiff', replaced: null,
    });
    expect(first.resolution_m).toBeCloseTo(1, 1);
    // 1 m → z17 (1.04 m at 29.4°N), overviews down to z11
    expect(first.zooms).toMatchObject({ min: 11, max: 17 });
    expect(first.tiles).toBeGreaterThanOrEqual(8);
    expect(first.grid_error_px).toBeLessThan(0.5);
    const [w, s, e, n] = first.extent;
    expect(w).toBeCloseTo(105.8994, 3);
    expect(n).toBeCloseTo(29.4005, 3);
    expect(e > w && n > s).toBe(true);
    expect(first.seconds).toBeGreaterThan(0);
  });

  it('tiles: each quadrant\'s colour lands where its coordinates say (georeferencing read back from the route)', async () => {
    for (const [name, q] of Object.entries(QUADRANTS)) {
      const t = tilePixel(...lonLatOfPixel(q.at[0], q.at[1]), 17);
      const res = await raw(`/tiles/imagery/after/17/${t.x}/${t.y}.webp?v=${first.import_id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/webp');
      const px = await pixelOf(Buffer.from(await res.arrayBuffer()), t.px, t.py);
      expect(near(px, [...q.rgb, 255]), `${name}: ${px}`).toBe(true);
    }
    // 12 m outside the image's west edge: transparent
    const out = tilePixel(...lonLatOfPixel(-12, 80), 17);
    const res = await raw(`/tiles/imagery/after/17/${out.x}/${out.y}`);
    expect(res.status).toBe(200);
    expect((await pixelOf(Buffer.from(await res.arrayBuffer()), out.px, out.py))[3]).toBe(0);
    // an overview still shows the quadrants (lower zooms come from the children)
    expect(near(await colourAt(dataDir, first, 50, 40, 15), [220, 30, 30, 255], 40)).toBe(true);
  });

  it('tiles: cached for good under the import\'s URL, revalidated without it; 304, 204, 404, 400, 401', async () => {
    const t = tilePixel(...lonLatOfPixel(100, 80), 17);
    const url = `/tiles/imagery/after/17/${t.x}/${t.y}`;
    const pinned = await raw(`${url}?v=${first.import_id}`);
    expect(pinned.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    const etag = pinned.headers.get('etag')!;
    expect(etag).toContain(String(first.import_id));
    const loose = await raw(url);
    expect(loose.headers.get('cache-control')).toBe('private, no-cache');
    expect((await raw(url, { 'if-none-match': etag })).status).toBe(304);
    // outside coverage: no tile
    expect((await raw('/tiles/imagery/after/17/0/0')).status).toBe(204);
    expect((await raw(`/tiles/imagery/after/9/0/0`)).status).toBe(204); // above the overview zooms
    const none = await raw('/tiles/imagery/before/17/0/0');
    expect(none.status).toBe(404);
    const body = (await none.json()) as { error: { code: string; message_zh: string } };
    expect(body.error.code).toBe('imagery_missing');
    expect(body.error.message_zh).toMatch(/[\u4e00-\u9fff]/);
    for (const bad of ['/tiles/imagery/during/17/0/0', '/tiles/imagery/after/17/999999999/0', '/tiles/imagery/after/x/0/0', '/tiles/imagery/after/17/0/0.png']) {
      const b = await raw(bad);
      expect([400, 404], bad).toContain(b.status);
      expect(((await b.json()) as { error: { message_zh: string } }).error.message_zh, bad).toMatch(/[\u4e00-\u9fff]/);
    }
    expect((await fetch(new URL(url, app.url))).status).toBe(401);
  });

  it('map config: the imported epoch is a raster source naming its import; the other stays null', async () => {
    const r = await app.client({ cookie: analystCookie }).get('/api/config/map');
    expect(r.status).toBe(200);
    expect(r.body.imagery.before).toBeNull();
    const a = r.body.imagery.after;
    expect(a).toMatchObject({ kind: 'xyz', import_id: first.import_id, minzoom: 11, maxzoom: 17, tileSize: 256, date: '2020-10-01' });
    expect(a.tiles[0]).toMatch(new RegExp(`/tiles/imagery/after/\\{z\\}/\\{x\\}/\\{y\\}\\.webp\\?v=${first.import_id}$`));
    expect(a.resolution_m).toBeCloseTo(1, 1);
    expect(a.bounds).toHaveLength(4);
  });

  it('map config: an epoch configured by URL wins over its imported imagery; the other epoch still shows its import', async () => {
    const configured = await startApp(db, { env: { TUBAN_DATA_DIR: dataDir, TUBAN_IMAGERY_AFTER_URL: 'https://tiles.example.org/after/{z}/{x}/{y}.jpg' } });
    try {
      const r = await (await configured.as('reviewer')).get('/api/config/map');
      expect(r.body.imagery.after).toEqual({ kind: 'xyz', tiles: ['https://tiles.example.org/after/{z}/{x}/{y}.jpg'], scheme: 'xyz' });
      expect(r.body.imagery.before).toBeNull();
    } finally {
      await configured.close();
    }
  });

  it('chips: a 320 × 240 WebP around the polygon, outline drawn, cached by ETag; the field link of the polygon gets it too', async () => {
    const res = await raw(`/api/polygons/${polygon}/chips/after`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    const img = Buffer.from(await res.arrayBuffer());
    const meta = await sharp(img).metadata();
    expect([meta.width, meta.height]).toEqual([320, 240]);
    // the polygon lies in the red quadrant: its centre is red, its outline (yellow) is drawn around it
    expect(near(await pixelOf(img, 160, 120), [220, 30, 30, 255], 30)).toBe(true);
    const { data, info } = await sharp(img).raw().toBuffer({ resolveWithObject: true });
    let yellow = 0;
    for (let i = 0; i < data.length; i += info.channels) if (data[i] > 200 && data[i + 1] > 180 && data[i + 2] < 80) yellow++;
    expect(yellow).toBeGreaterThan(100);
    const etag = res.headers.get('etag')!;
    expect(etag).toContain(`-${first.import_id}-${polygon}-`);
    expect((await raw(`/api/polygons/${polygon}/chips/after`, { 'if-none-match': etag })).status).toBe(304);
    const missing = await raw(`/api/polygons/${polygon}/chips/before`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('imagery_missing');
    expect((await raw('/api/polygons/99999999/chips/after')).status).toBe(404);
    expect((await fetch(new URL(`/api/polygons/${polygon}/chips/after`, app.url))).status).toBe(401);

    const other = await seedPolygon(db);
    const link = await app.client({ cookie: analystCookie }).post('/api/field-links', { polygon_ids: [polygon] });
    expect(link.status, link.text).toBe(201);
    const holder = linkClient(app, link.body.token);
    expect((await holder.get(`/api/polygons/${polygon}/chips/after`)).status).toBe(200);
    expect((await holder.get(`/api/polygons/${other}/chips/after`)).status).toBe(404);
    // a field user of another village may not see the polygon, so neither its chip
    const stranger = await app.as('field', { villages: ['红旗村'] });
    expect((await stranger.get(`/api/polygons/${polygon}/chips/after`)).status).toBe(404);
  });

  it('API: a zip holding the .tif with its .tfw and .prj is read as a GeoTIFF with its world file', async () => {
    const zipDir = mkdtempSync(path.join(os.tmpdir(), 'tuban-imagery-zip-'));
    try {
      const zip = path.join(zipDir, 'delivery.zip');
      execFileSync('zip', ['-q', '-j', zip, fx('rgb8-worldfile.tif'), fx('rgb8-worldfile.tfw'), fx('rgb8-worldfile.prj')]);
      const analyst = app.client({ cookie: analystCookie });
      const r = await analyst.post('/api/imports', undefined, { form: imageryForm(zip, { layer: 'imagery', epoch: 'before' }) });
      expect(r.status, r.text).toBe(201);
      expect(r.body).toMatchObject({ epoch: 'before', georeference: 'worldfile', crs: { source: 'EPSG:4523', how: 'prj' } });
      expect(near(await colourAt(dataDir, r.body, 150, 120), [230, 220, 40, 255])).toBe(true);
      // the same tif alone has no georeferencing: refused, bilingual
      const alone = await analyst.post('/api/imports', undefined, { form: imageryForm(fx('rgb8-worldfile.tif'), { layer: 'imagery', epoch: 'before' }) });
      expect(alone.status).toBe(422);
      expect(alone.body.error.code).toBe('imagery_no_georeference');
      expect(alone.body.error.message_zh).toMatch(/[\u4e00-\u9fff]/);
      // no epoch: refused
      const noEpoch = await analyst.post('/api/imports', undefined, { form: imageryForm(fx('rgb8-striped.tif'), { layer: 'imagery' }) });
      expect(noEpoch.status).toBe(422);
      expect(noEpoch.body.error.code).toBe('imagery_epoch');
      // reviewers and field users do not import
      const reviewer = await app.as('reviewer');
      expect((await reviewer.post('/api/imports', undefined, { form: imageryForm(fx('rgb8-striped.tif'), { layer: 'imagery', epoch: 'before' }) })).status).toBe(403);
    } finally {
      rmSync(zipDir, { recursive: true, force: true });
    }
  });

  it('the CLI\'s hand-off to a running server imports imagery too (the .tfw/.prj beside the file are read)', async () => {
    const token = 't'.repeat(43);
    const srv = handoffApp({ config: app.config, db, log: pino({ level: 'silent' }) }, token).listen(0, '127.0.0.1');
    await new Promise<void>((r) => srv.once('listening', () => r()));
    try {
      const progress: string[] = [];
      const report = (await sendToServer({ pid: process.pid, port: (srv.address() as AddressInfo).port, token },
        { path: fx('rgb8-worldfile.tif'), layer: 'imagery', epoch: 'before', date: '2019-11-20', user: 'cli-test' },
        (p) => progress.push(p.phase))) as ImageryReport;
      expect(report).toMatchObject({ layer: 'imagery', epoch: 'before', georeference: 'worldfile', date: '2019-11-20' });
      expect(progress).toContain('store');
      const refusal = await sendToServer({ pid: process.pid, port: (srv.address() as AddressInfo).port, token },
        { path: fx('bad-rotated.tif'), layer: 'imagery', epoch: 'before' }, () => undefined).then(() => null, (e: { code: string }) => e);
      expect(refusal?.code).toBe('imagery_rotated');
    } finally {
      srv.close();
    }
  });

  it('a re-import replaces the layer atomically; a refused one leaves it untouched', async () => {
    const oldDir = layerDir(dataDir, first.import_id);
    expect(existsSync(oldDir)).toBe(true);
    // refused (float samples): the current layer still serves, nothing new on disk
    await refused(importImagery(db, settings(), { path: fx('bad-float32.tif'), fileName: 'bad.tif', epoch: 'after' }), 'imagery_sample_format');
    const still = await app.client({ cookie: analystCookie }).get('/api/config/map');
    expect(still.body.imagery.after.import_id).toBe(first.import_id);

    const analyst = app.client({ cookie: analystCookie });
    const r = await analyst.post('/api/imports', undefined, { form: imageryForm(fx('rgb8-cog.tif'), { layer: 'imagery', epoch: 'after', date: '2020-11-02' }) });
    expect(r.status, r.text).toBe(201);
    const second = r.body as ImageryReport;
    expect(second.replaced).toBe(first.import_id);
    expect(second.date).toBe('2020-11-02');
    expect(second.date_source).toBe('option');
    expect(existsSync(oldDir)).toBe(false);
    expect(existsSync(layerDir(dataDir, second.import_id))).toBe(true);
    const rows = await db.query<{ id: number; current: boolean }>('SELECT id, current FROM imagery_layer WHERE region_code = $1 AND epoch = $2', [TEST_REGION, 'after']);
    expect(rows.rows.map((x) => [Number(x.id), x.current])).toEqual([[second.import_id, true]]);
    const cfg = await analyst.get('/api/config/map');
    expect(cfg.body.imagery.after.import_id).toBe(second.import_id);
    expect(cfg.body.imagery.after.date).toBe('2020-11-02');
    // the old URL is no longer pinned: revalidated, and it shows the new layer
    const t = tilePixel(...lonLatOfPixel(50, 40), 17);
    const old = await raw(`/tiles/imagery/after/17/${t.x}/${t.y}?v=${first.import_id}`);
    expect(old.headers.get('cache-control')).toBe('private, no-cache');
    first = second;
  });
});

describeEachDb('imagery: each input kind, each refusal', (backend) => {
  let db: TestDb;
  let dataDir: string;
  const settings = () => ({ dataDir, regionCode: TEST_REGION, workSrid: 4523 });

  beforeAll(async () => {
    db = await freshDb(backend);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'tuban-imagery-in-'));
    await seedPolygon(db);
  });
  afterAll(async () => {
    await db?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const kinds: [string, Partial<ImageryReport>][] = [
    ['rgb8-striped.tif', { bands: 'rgb', bits: 8 }],
    ['rgb8-cog.tif', { bands: 'rgb', bits: 8 }],
    ['rgba8-tiled.tif', { bands: 'rgba', bits: 8 }],
    ['grey8.tif', { bands: 'grey', bits: 8 }],
    ['rgb16.tif', { bands: 'rgb', bits: 16 }],
    ['rgb8-worldfile.tif', { georeference: 'worldfile', crs: { source: 'EPSG:4523', how: 'prj' } }],
    ['rgb8-4490.tif', { crs: { source: 'EPSG:4490', how: 'geokeys' } }],
  ];
  for (const [file, expected] of kinds) {
    it(`${file}: imported, quadrants where they belong`, async () => {
      const r = await importImagery(db, settings(), { path: fx(file), fileName: file, epoch: 'before' });
      expect(r).toMatchObject(expected);
      const grey = r.bands === 'grey';
      for (const [name, q] of Object.entries(QUADRANTS)) {
        // grey: band 1 (red) of the base image; 16-bit: stretched, so the quadrants are told apart by their order
        const want = grey ? [q.rgb[0], q.rgb[0], q.rgb[0], 255] : [...q.rgb, 255];
        // the 4490 fixture is placed by rounded degrees: about a metre off the GK one, well inside a quadrant
        const got = await colourAt(dataDir, r, q.at[0], q.at[1]);
        if (r.bits === 16) {
          // make.mjs scaled 0..255 into 1000..5080 (× 16); the stretch maps its 2 % and 98 % to 0 and 255
          const { lo, hi } = r.stretch!;
          const stretched = q.rgb.map((v, b) => Math.max(0, Math.min(255, ((1000 + v * 16 - lo[b]) / (hi[b] - lo[b])) * 255)));
          expect(near(got, [...stretched, 255]), `${name}: ${got} vs ${stretched}`).toBe(true);
        } else expect(near(got, want), `${file} ${name}: ${got}`).toBe(true);
      }
      if (r.bands === 'rgba') {
        // the western 20 columns are transparent in the source
        expect((await colourAt(dataDir, r, 8, 40))[3]).toBe(0);
        expect((await colourAt(dataDir, r, 32, 40))[3]).toBe(255);
      }
      if (r.bits === 16) expect(r.stretch).not.toBeNull();
    });
  }

  it('a failure after the layer was staged leaves no row and no directory; orphans of a killed import are swept', async () => {
    const orphan = layerDir(dataDir, 987654);
    mkdirSync(path.join(orphan, '17'), { recursive: true });
    const before = await db.query('SELECT id, current FROM imagery_layer ORDER BY id');
    await refused(importImagery(db, settings(), { path: fx('bad-all-nodata.tif'), fileName: 'nodata.tif', epoch: 'before' }), 'imagery_empty');
    expect((await db.query('SELECT id, current FROM imagery_layer ORDER BY id')).rows).toEqual(before.rows);
    const dirs = readdirSync(path.join(dataDir, 'imagery')).sort();
    expect(dirs).toEqual(before.rows.map((r) => String(r.id)).sort());
    expect(existsSync(orphan)).toBe(false);
  });

  const refusals: [string, string, Record<string, unknown>?][] = [
    ['bad-no-georef.tif', 'imagery_no_georeference'],
    ['bad-rotated.tif', 'imagery_rotated'],
    ['bad-float32.tif', 'imagery_sample_format'],
    ['bad-5band.tif', 'imagery_bands'],
    ['bad-outside.tif', 'imagery_outside_region'],
    ['rgb8-striped.tif', 'imagery_epoch', { epoch: 'during' }],
    ['rgb8-striped.tif', 'imagery_date', { date: '2020-13-45' }],
    ['rgb8-striped.tif', 'bad_srs', { srs: 'EPSG:99999' }],
  ];
  for (const [file, code, extra] of refusals) {
    it(`${file}${extra ? ` ${JSON.stringify(extra)}` : ''}: refused (${code}), nothing stored`, async () => {
      const before = await db.query('SELECT id FROM imagery_layer');
      await refused(importImagery(db, settings(), { path: fx(file), fileName: file, epoch: 'after', ...extra }), code);
      expect((await db.query('SELECT id FROM imagery_layer')).rows).toEqual(before.rows);
    });
  }
});
