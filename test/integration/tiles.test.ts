import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VectorTileFeature } from '@mapbox/vector-tile';
import type { Polygon } from 'geojson';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import type { TestApp, UserClient } from '../helpers/api';
import { fastPathServed } from '../../server/routes/tiles';
import { TEST_REGION, TEST_WORK_SRID } from '../helpers/snapshot';
import { MAX_FEATURES, TileService } from '../../server/tiles/service';
import { featureCount, jsEncoder, postgisEncoder, type TileEncoder } from '../../server/tiles/encoder';
import { fromGeojsonVt } from '@maplibre/vt-pbf';
import { lonLatToTile, tileLonLatBounds, type TileCoord } from '../../server/tiles/tile-math';
import { workCrsBox } from '../../server/tiles/catalog';
import { TileCache } from '../../server/tiles/cache';
import { X0, Y0, lonLat, decode, features, byCode, path, getTile, addCustomLayer, openTilesWorld } from './tiles-fixture';

/**
 * Vector tiles through the HTTP endpoint on both backends (PGlite: JS encoder; PostgreSQL: ST_AsMVT), and
 * on PostgreSQL the two encoders side by side on the same tiles, over the world of tiles-fixture.ts. The tile
 * cache and its data versions: tiles-cache.test.ts.
 */

describeEachDb('vector tiles', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let analyst: UserClient;
  let eastOnly: UserClient;
  let t16: TileCoord;
  let t14: TileCoord;
  let t12: TileCoord;
  let lon: number;
  let lat: number;
  const cache = new TileCache(64 * 1024 * 1024);

  beforeAll(async () => {
    db = await freshDb(backend);
    ({ app, analyst, eastOnly, lon, lat, t16, t14, t12 } = await openTilesWorld(db, cache));
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  it('uses ST_AsMVT where the database has it, the JS encoder on the embedded one', () => {
    expect(db.hasMvt).toBe(backend === 'postgres');
  });

  it('serves survey polygons with their properties, without removed ones unless asked', async () => {
    const r = await getTile(app, analyst, path('survey', t16));
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/vnd.mapbox-vector-tile');
    expect(r.cache).toBe('private, no-cache');
    expect(r.etag).toMatch(/^W\/".+"$/);
    const fs = byCode(features(r.body, 'survey'));
    expect([...fs.keys()].sort()).toEqual(['TB1', 'TB2', 'TB4', 'TB5']);
    const tb1 = fs.get('TB1')!;
    const id = (await db.query<{ id: number }>(`SELECT id FROM survey_polygon WHERE code = 'TB1'`)).rows[0].id;
    expect(tb1.id).toBe(id);
    expect(tb1.type).toBe(3);
    expect(tb1.properties).toEqual({ id, code: 'TB1', status: 'pending', priority: 42.5, flags: 'frontage,school', village: '东村' });
    expect(fs.get('TB2')!.properties.flags).toBe('');
    expect(fs.get('TB5')!.properties.village).toBeUndefined(); // NULL → no property
    // geometry: the decoded square is where the polygon is, within a pixel
    const g = tb1.toGeoJSON(t16.x, t16.y, t16.z);
    const ring = (g.geometry as Polygon).coordinates[0];
    const { west, south, east, north } = (await db.query<Record<string, number>>(
      `SELECT ST_XMin(b) AS west, ST_YMin(b) AS south, ST_XMax(b) AS east, ST_YMax(b) AS north
       FROM (SELECT ST_Transform(geom, 4326)::box2d AS b FROM survey_polygon WHERE code = 'TB1') x`)).rows[0];
    const px = 360 / 2 ** 16 / 4096;
    expect(Math.abs(Math.min(...ring.map((c) => c[0])) - west)).toBeLessThan(2 * px);
    expect(Math.abs(Math.max(...ring.map((c) => c[0])) - east)).toBeLessThan(2 * px);
    expect(Math.abs(Math.min(...ring.map((c) => c[1])) - south)).toBeLessThan(2 * px);
    expect(Math.abs(Math.max(...ring.map((c) => c[1])) - north)).toBeLessThan(2 * px);
    // the polygon with a hole keeps it
    expect(fs.get('TB4')!.loadGeometry().length).toBe(2);

    const withRemoved = await getTile(app, analyst, `${path('survey', t16)}?include_removed=1`);
    expect([...byCode(features(withRemoved.body, 'survey')).keys()].sort()).toEqual(['TB1', 'TB2', 'TB3', 'TB4', 'TB5']);
    expect(withRemoved.etag).not.toBe(r.etag);
    // without the .mvt suffix: the same tile
    const bare = await getTile(app, analyst, path('survey', t16, ''));
    expect(bare.status).toBe(200);
    expect(bare.etag).toBe(r.etag);
  });

  it("limits survey tiles to a village-limited user's villages", async () => {
    const all = await getTile(app, analyst, path('survey', t14));
    const mine = await getTile(app, eastOnly, path('survey', t14));
    expect(mine.status).toBe(200);
    expect([...byCode(features(mine.body, 'survey')).keys()].sort()).toEqual(['TB1']);
    expect(mine.etag).not.toBe(all.etag);
    // a tile with only other villages' polygons is empty for them
    const [lon2, lat2] = await lonLat(db, X0 + 360, Y0 + 60);
    const west = lonLatToTile(lon2, lat2, 18);
    expect((await getTile(app, analyst, path('survey', west))).status).toBe(200);
    expect((await getTile(app, eastOnly, path('survey', west))).status).toBe(204);
  });

  it('answers 304 while nothing changed, and a new tile right after a decision', async () => {
    const p = path('survey', t16);
    const first = await getTile(app, analyst, p);
    const again = await getTile(app, analyst, p, { 'if-none-match': first.etag! });
    expect(again.status).toBe(304);
    expect(again.etag).toBe(first.etag);
    expect(again.body.byteLength).toBe(0);

    // a write by another connection, as another process's would be: seen once its NOTIFY arrives (tiles/epochs.ts;
    // a write through this app is seen on the very next tile: 'shows every decision on the tile asked for right after it')
    await db.query(`UPDATE survey_polygon SET status = 'verified', version = version + 1 WHERE code = 'TB1'`);
    await expect.poll(async () => (await getTile(app, analyst, p, { 'if-none-match': first.etag! })).status, { timeout: 3000, interval: 10 }).toBe(200);
    const after = await getTile(app, analyst, p, { 'if-none-match': first.etag! });
    expect(after.status).toBe(200);
    expect(after.etag).not.toBe(first.etag);
    expect(byCode(features(after.body, 'survey')).get('TB1')!.properties.status).toBe('verified');
    // other layers keep their ETag: a decision does not invalidate parcels or villages
    const vil1 = await getTile(app, analyst, path('villages', t14));
    await db.query(`UPDATE survey_polygon SET status = 'pending' WHERE code = 'TB1'`);
    const vil2 = await getTile(app, analyst, path('villages', t14), { 'if-none-match': vil1.etag! });
    expect(vil2.status).toBe(304);
  });

  it("answers a logged-in view's tiles on the fast path exactly as the full chain does", async () => {
    const head = async (p: string, who: UserClient) => {
      const r = await fetch(new URL(p, app.url), { method: 'HEAD', headers: { cookie: who.cookie! } });
      return { status: r.status, etag: r.headers.get('etag'), length: r.headers.get('content-length') };
    };
    for (const [p, scoped] of [[path('survey', t16), analyst], [path('survey', t16), eastOnly], [path('parcels', t16), analyst],
      [path('villages', t14), analyst], [`${path('survey', t16)}?include_removed=1`, analyst]] as const) {
      await getTile(app, scoped, p); // the session is looked up (and remembered) by the full chain
      const before = fastPathServed();
      const fast = await getTile(app, scoped, p);
      expect(fastPathServed(), p).toBe(before + 1);
      // an unknown query parameter is ignored by the route but sends the request down the full chain
      const full = await getTile(app, scoped, `${p}${p.includes('?') ? '&' : '?'}other=1`);
      expect(fastPathServed(), p).toBe(before + 1);
      expect(fast, p).toEqual(full);
      // every header but the connection's own
      const headers = async (u: string) => {
        const r = await fetch(new URL(u, app.url), { headers: { cookie: scoped.cookie! } });
        await r.arrayBuffer();
        const out: [string, string][] = [];
        r.headers.forEach((v, k) => {
          if (!['date', 'connection', 'keep-alive'].includes(k)) out.push([k, v]);
        });
        return out;
      };
      expect(await headers(p), p).toEqual(await headers(`${p}${p.includes('?') ? '&' : '?'}other=1`));
      expect(fast.status, p).toBe(200);
      const h = await head(p, scoped);
      expect(h, p).toEqual({ status: 200, etag: fast.etag, length: String(fast.body.byteLength) });
    }
    // refusals are answered as before, whichever path answers them: bad coordinates, a malformed include_removed
    const before = fastPathServed();
    expect((await getTile(app, analyst, '/tiles/survey/16/99999999/0.mvt')).status).toBe(400);
    expect((await getTile(app, analyst, `${path('survey', t16)}?include_removed=maybe`)).status).toBe(400);
    expect(fastPathServed()).toBe(before);
    // a tile that fails on the fast path (here: no such layer) gets the error handler's answer
    const err = async (p: string) => {
      const r = await fetch(new URL(p, app.url), { headers: { cookie: analyst.cookie! } });
      return { status: r.status, type: r.headers.get('content-type'), body: await r.json() };
    };
    const fastErr = await err(path('nosuchlayer', t16));
    expect(fastErr.status).toBe(404);
    expect(fastErr).toEqual(await err(`${path('nosuchlayer', t16)}?other=1`));
    expect(fastErr.body.error.message_zh).toContain('nosuchlayer');
    expect(await err('/tiles/survey/16/99999999/0.mvt')).toEqual(await err('/tiles/survey/16/99999999/0.mvt?other=1'));
  });

  it('answers 204 for empty tiles: far away, outside the work CRS, parcels below z15', async () => {
    const far = lonLatToTile(lon + 0.5, lat - 0.5, 16);
    expect((await getTile(app, analyst, path('survey', far))).status).toBe(204);
    const otherSide = lonLatToTile(-70, 40, 14);
    const r = await getTile(app, analyst, path('survey', otherSide));
    expect(r.status).toBe(204);
    expect(r.etag).toBeTruthy();
    expect((await getTile(app, analyst, path('parcels', t14))).status).toBe(204);
    expect((await getTile(app, analyst, path('survey', lonLatToTile(lon, lat, 8)))).status).toBe(204); // below survey minzoom
  });

  it('serves parcels from z15 with their attributes', async () => {
    const fs = features((await getTile(app, analyst, path('parcels', t16))).body, 'parcels');
    expect(fs.map((f) => f.properties.parcel_code).sort()).toEqual(['ZD1', 'ZD2']);
    const zd1 = fs.find((f) => f.properties.parcel_code === 'ZD1')!;
    expect(zd1.properties).toMatchObject({ holder: '权利人1', land_use: '住宅' });
    expect(features((await getTile(app, analyst, path('parcels', lonLatToTile(lon, lat, 15)))).body, 'parcels')).toHaveLength(2);
  });

  it('serves villages with a label-point layer, schools, frontage and custom layers', async () => {
    const v = decode((await getTile(app, analyst, path('villages', t14))).body);
    expect(Object.keys(v.layers).sort()).toEqual(['village_labels', 'villages']);
    expect(v.layers.villages.feature(0).properties).toMatchObject({ name: '东村', code: '500118001001' });
    expect(v.layers.village_labels.feature(0).type).toBe(1);
    expect(v.layers.village_labels.feature(0).properties.name).toBe('东村');
    // the singular name of the layer table resolves too
    expect((await getTile(app, analyst, path('village', t14))).status).toBe(200);

    const s = features((await getTile(app, analyst, path('schools', t14))).body, 'schools');
    expect(s.map((f) => [f.type, f.properties.name])).toEqual([[1, '吉安小学']]);
    const fr = features((await getTile(app, analyst, path('frontage', t14))).body, 'frontage');
    expect(fr.map((f) => f.properties.name)).toEqual(['吉安大道']);
    const farm = features((await getTile(app, analyst, path('farmland', t14))).body, 'farmland');
    expect(farm.map((f) => [f.properties.code, f.type]).sort()).toEqual([['NT1', 3], ['NT2', 2]]);
    expect((await getTile(app, analyst, path('compounds', t14))).status).toBe(204);
  });

  it('describes layers: GET /tiles and TileJSON 3.0', async () => {
    const list = await analyst.get('/tiles');
    expect(list.status).toBe(200);
    const names = list.body.layers.map((l: { name: string }) => l.name);
    expect(names).toEqual(expect.arrayContaining(['survey', 'parcels', 'frontage', 'villages', 'schools', 'compounds', 'green', 'farmland']));
    expect(names).not.toContain('cadastral');

    const tj = await analyst.get('/tiles/survey.json');
    expect(tj.status).toBe(200);
    expect(tj.body).toMatchObject({ tilejson: '3.0.0', name: 'survey', minzoom: 10, maxzoom: 18 });
    expect(tj.body.tiles[0]).toBe(`${app.url}/tiles/survey/{z}/{x}/{y}.mvt`);
    const [w, s, e, n] = tj.body.bounds;
    expect(w).toBeLessThan(lon);
    expect(e).toBeGreaterThan(lon);
    expect(s).toBeLessThan(lat);
    expect(n).toBeGreaterThan(lat);
    expect(tj.body.vector_layers[0].id).toBe('survey');
    expect(Object.keys(tj.body.vector_layers[0].fields).sort()).toEqual(['code', 'flags', 'id', 'priority', 'source', 'status', 'village']);
    const vj = await analyst.get('/tiles/villages.json');
    expect(vj.body.vector_layers.map((l: { id: string }) => l.id)).toEqual(['villages', 'village_labels']);
    const pj = await analyst.get('/tiles/parcels.json');
    expect(pj.body.minzoom).toBe(15);
    expect((await analyst.get('/tiles/compounds.json')).body.bounds).toEqual([-180, -85.0511287798066, 180, 85.0511287798066]);
  });

  it('refuses unknown layers, bad coordinates and anonymous callers', async () => {
    expect((await getTile(app, analyst, '/tiles/nosuch/14/1/1.mvt')).status).toBe(404);
    expect((await getTile(app, analyst, '/tiles/survey/14/99999/1.mvt')).status).toBe(400);
    expect((await getTile(app, analyst, '/tiles/survey/14/1/1.png')).status).toBe(400);
    expect((await getTile(app, analyst, '/tiles/Survey;drop/14/1/1.mvt')).status).toBe(400);
    expect((await analyst.get('/tiles/nosuch.json')).status).toBe(404);
    expect((await fetch(new URL(path('survey', t16), app.url))).status).toBe(401);
    expect((await app.get('/tiles')).status).toBe(401);
  });

  it('keeps a new custom layer servable without a restart', async () => {
    await addCustomLayer(db, 'river', '河道', 'Rivers', '临江河');
    expect(features((await getTile(app, analyst, path('river', t16))).body, 'river').map((f) => f.properties.name)).toEqual(['临江河']);
  });

  it('keeps every tile within 500 KB: an oversized tile is made again with fewer, larger features', async () => {
    const limits: number[] = [];
    // a stand-in encoder: as many features as the cap allows (10 000 at most), ~110 bytes each
    const fat: TileEncoder = {
      kind: 'js',
      readsEpochs: false,
      async encode(_q, _layer, _tile, params) {
        const limit = params.at(-1) as number;
        limits.push(limit);
        const features = Array.from({ length: Math.min(limit, 10_000) }, (_, i) => ({
          type: 1 as const, id: i + 1, geometry: [[i % 4096, Math.floor(i / 4096)]] as [number, number][], tags: { pad: `${i}`.padEnd(100, 'x') },
        }));
        return { bytes: fromGeojsonVt({ survey: { features } } as never, { version: 2, extent: 4096 }) };
      },
    };
    const svc = new TileService({ db, regionCode: TEST_REGION, workSrid: TEST_WORK_SRID, encoder: fat });
    const r = await svc.tile({ layer: 'survey', tile: t16 });
    expect(r.status).toBe(200);
    if (r.status !== 200) return;
    expect(r.body.byteLength).toBeLessThanOrEqual(500 * 1024);
    expect(limits[0]).toBe(MAX_FEATURES);
    expect(limits.length).toBeGreaterThan(1);
    expect(featureCount(r.body)).toBe(limits.at(-1));
  });

  if (backend === 'postgres') {
    describe('ST_AsMVT and the JS encoder', () => {
      it('bumps the data version without ever waiting for another writer', async () => {
        const version = async () => Number((await db.query<{ n: number }>(
          `SELECT sum(n)::bigint AS n FROM tile_epoch WHERE key = 'survey_polygon'`)).rows[0].n);
        const before = await version();
        await db.tx(async (q) => {
          await q.query(`UPDATE survey_polygon SET priority = priority WHERE code = 'TB2'`);
          // a second writer while the first holds its slot: with one counter row it would wait here
          await db.tx(async (q2) => {
            await q2.query(`SET LOCAL lock_timeout = '2s'`);
            await q2.query(`UPDATE survey_polygon SET priority = priority WHERE code = 'TB4'`);
          });
          expect(await version()).toBe(before + 1); // the open transaction's bump is not visible yet
        });
        expect(await version()).toBe(before + 2);
      });

      it('produce the same features, properties and geometry (within a pixel)', async () => {
        const opts = { db, regionCode: TEST_REGION, workSrid: TEST_WORK_SRID };
        const pg = new TileService({ ...opts, encoder: postgisEncoder() });
        const js = new TileService({ ...opts, encoder: jsEncoder() });
        const cases: [string, TileCoord][] = [
          ['survey', t16], ['survey', t14], ['survey', t12], ['survey', lonLatToTile(lon, lat, 18)],
          ['parcels', t16], ['villages', t14], ['villages', lonLatToTile(lon, lat, 17)], ['villages', t12],
          ['frontage', t16], ['schools', t14], ['farmland', t14],
        ];
        // the tile east of TB4 and the neighbours of t16: features cut by the tile edge
        for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) cases.push(['survey', { z: 17, x: 2 * t16.x + 1 + dx, y: 2 * t16.y + dy }]);
        let compared = 0;
        for (const [layer, t] of cases) {
          const a = await pg.tile({ layer, tile: t });
          const b = await js.tile({ layer, tile: t });
          expect(b.status, `${layer} ${t.z}/${t.x}/${t.y}`).toBe(a.status);
          if (a.status !== 200 || b.status !== 200) continue;
          const ta = decode(a.body);
          const tb = decode(b.body);
          expect(Object.keys(tb.layers).sort()).toEqual(Object.keys(ta.layers).sort());
          for (const name of Object.keys(ta.layers)) {
            const fa = features(a.body, name);
            const fb = new Map(features(b.body, name).map((f) => [f.id, f]));
            expect(fb.size, `${name} ${t.z}/${t.x}/${t.y}`).toBe(fa.length);
            for (const f of fa) {
              const g = fb.get(f.id)!;
              expect(g, `feature ${f.id} of ${name}`).toBeDefined();
              expect(g.properties).toEqual(f.properties);
              expect(g.type).toBe(f.type);
              const [ax0, ay0, ax1, ay1] = f.bbox();
              const [bx0, by0, bx1, by1] = g.bbox();
              for (const [u, v] of [[ax0, bx0], [ay0, by0], [ax1, bx1], [ay1, by1]]) expect(Math.abs(u - v)).toBeLessThanOrEqual(1);
              if (f.type === 3) {
                // every vertex within a unit: the areas differ by at most perimeter × 1 unit
                const rings = (ff: VectorTileFeature) => ff.loadGeometry();
                const area = (ff: VectorTileFeature) => rings(ff).reduce((s, ring) =>
                  s + ring.reduce((t, p, i) => { const q = ring[(i + 1) % ring.length]; return t + p.x * q.y - q.x * p.y; }, 0) / 2, 0);
                const perimeter = rings(f).reduce((s, ring) =>
                  s + ring.reduce((t, p, i) => t + p.dist(ring[(i + 1) % ring.length]), 0), 0);
                const why = `${name} ${t.z}/${t.x}/${t.y} #${f.id}: ${JSON.stringify(rings(f))} vs ${JSON.stringify(rings(g))}`;
                expect(Math.abs(area(g) - area(f)), why).toBeLessThanOrEqual(Math.max(8, perimeter));
              }
              compared++;
            }
          }
        }
        expect(compared).toBeGreaterThan(15);
      });
    });
  }
});

describe('tile helpers', () => {
  it('finds the tile of a point, and the tile box contains it', () => {
    expect(lonLatToTile(0, 0, 0)).toEqual({ z: 0, x: 0, y: 0 });
    expect(lonLatToTile(105.96, 29.4, 14)).toEqual({ z: 14, x: 13014, y: 6791 });
    for (const z of [3, 12, 16, 20]) {
      const [w, s, e, n] = tileLonLatBounds(lonLatToTile(105.96, 29.4, z));
      expect(w <= 105.96 && 105.96 < e && s < 29.4 && 29.4 <= n).toBe(true);
    }
  });

  it('clips tile boxes to where a transverse Mercator work CRS is usable', () => {
    expect(workCrsBox('+proj=tmerc +lat_0=0 +lon_0=105 +k=1 +x_0=35500000 +y_0=0 +ellps=GRS80 +units=m +no_defs')).toEqual([95, -80, 115, 84]);
    expect(workCrsBox('+proj=utm +zone=48 +datum=WGS84')).toEqual([95, -80, 115, 84]);
    expect(workCrsBox('+proj=longlat +datum=WGS84')[0]).toBe(-180);
  });
});
