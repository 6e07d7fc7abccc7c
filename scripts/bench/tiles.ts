/**
 * Vector tile benchmark (issue 4), with the reference measured in the same run (PERFORMANCE.md: compare
 * ratios, never absolute times on these noisy machines).
 *
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/tuban_bench_tiles npm run bench:tiles -- [--load-sample] \
 *       [--seed-synthetic 50000] [--tiles 20] [--runs 3] [--append-docs] [--auth session|none]
 *
 * Data: whatever the database holds (district scale expected). On an empty database:
 *   --load-sample        generate the synthetic district (scripts/generate-sample.ts --scale district, cached in
 *                        data/bench-district) and import it with the real ingest (parcels, villages, schools,
 *                        frontage, survey + reconciliation);
 *   --seed-synthetic N   or insert N survey polygons and 10·N parcels in clustered settlements by SQL
 *                        (generate_series), standalone.
 * Tiles: the tiles at z12/z14/z16 holding `--tiles` sampled survey polygons, plus the densest tile of each zoom;
 * parcels at z16 likewise.
 * Reference: the raw pg_tileserv-style ST_AsMVT query for the same tile on a plain pg connection.
 * tuban: GET /tiles/{layer}/{z}/{x}/{y}.mvt through the real app on port 0 (session check, data versions, tile
 *        query + HTTP). cold = the tile cache emptied before the request (the version query, a miss, the tile
 *        query); cached = the same tile again (the version query and a hit); cached, no fast path = the same on
 *        a second app over the same tile service built with tileFastPath: false (the full middleware chain). `--auth session` (default): a real account
 *        (`bench-tiles`, analyst) and bearer token through the real session middleware, as a browser pays it;
 *        `--auth none`: a fixed principal injected instead (how figures before 2026-11-27 were taken).
 *        Also shown: the JS encoder (what the embedded database uses) on the same server, same tiles, and the floor:
 *        a bare node:http server handing back the same bytes from memory (the HTTP exchange alone).
 * Targets (issue 17 item 4): cold / raw ≤ 1.3 and cached / raw ≤ 0.3 per zoom; no tile over 500 KB.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { createApp, listen as listenApp } from '../../server/app';
import { authenticate, createSession, revokeSession } from '../../server/auth/session';
import { createUser, findUserByUsername } from '../../server/auth/users';
import { loadConfig } from '../../server/config';
import { migrate } from '../../server/db/migrate';
import { openPostgres } from '../../server/db/postgres';
import type { Db } from '../../server/db/types';
import { TileService, TILE_BUDGET_BYTES } from '../../server/tiles/service';
import { fastPathServed } from '../../server/routes/tiles';
import { TileCache } from '../../server/tiles/cache';
import { jsEncoder } from '../../server/tiles/encoder';
import { lonLatToTile, type TileCoord } from '../../server/tiles/tile-math';
import { ensureDatabase, median } from './common';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.DATABASE_URL },
    'load-sample': { type: 'boolean', default: false },
    'seed-synthetic': { type: 'string' },
    tiles: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    'append-docs': { type: 'boolean', default: false },
    // session: a real account and bearer token through the real session middleware (what a browser pays);
    // none: a fixed principal injected instead (the figures before 2026-11-27's session cache)
    auth: { type: 'string', default: 'session' },
  },
});
if (values.auth !== 'session' && values.auth !== 'none') {
  console.error('--auth session|none');
  process.exit(2);
}
if (!values.url) {
  console.error('Set DATABASE_URL (or --url) to a PostgreSQL/PostGIS database; it is created when missing.');
  process.exit(2);
}
const url = values.url;
const nTiles = Number(values.tiles);
const runs = Number(values.runs);
const config = loadConfig({ ...process.env, DATABASE_URL: url, TUBAN_SAMPLE: 'off', LOG_LEVEL: 'silent', TUBAN_MAX_UPLOAD_MB: '4096' });
const REGION = config.regionCode;
const SRID = config.workSrid;

const ms = (v: number, digits = 1) => v.toFixed(digits);
const log = (s: string) => process.stderr.write(`${s}\n`);


async function loadSample(db: Db) {
  const dir = path.resolve('data/bench-district');
  const { generateSample } = await import('../sample/generate');
  const { importFile } = await import('../../server/ingest/import');
  if (!existsSync(path.join(dir, 'survey-2020.zip'))) {
    log(`generating the district sample in ${dir}…`);
    generateSample({ out: dir, scale: 'district', seed: 42 });
  }
  // reference layers first: the survey import reconciles against them
  const order: [string, string][] = [
    ['cadastral.zip', 'cadastral'], ['villages.zip', 'village'], ['schools.zip', 'school'], ['frontage-band.zip', 'frontage'],
    ['compounds.zip', 'compound'], ['green.zip', 'green'], ['survey-2020.zip', 'survey'],
  ];
  for (const [file, layer] of order) {
    const f = path.join(dir, file);
    if (!existsSync(f)) continue;
    const t = performance.now();
    const r = await importFile(db, config, { bytes: new Uint8Array(await readFile(f)), fileName: file, layer });
    log(`  imported ${file}: ${r.stored} features in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
}

/**
 * N survey polygons and 10·N parcels (axis-aligned rectangles, 80–2,000 m² and 200–1,500 m²) around 150
 * settlement centres in a 30 × 30 km square near Ji'an, 36 village squares with dense boundaries. Seeded.
 */
async function seedSynthetic(db: Db, n: number) {
  log(`seeding ${n} polygons and ${10 * n} parcels…`);
  const batch = async (layer: string) => (await db.query<{ id: number }>(
    `INSERT INTO import_batch (region_code, layer_id, survey, file_name, sha256, source_layer, report)
     VALUES ($1, (SELECT id FROM layer WHERE name = $2), '2020', 'synthetic-' || $2, md5(random()::text), 'synthetic', '{}')
     RETURNING id`, [REGION, layer])).rows[0].id;
  const [sv, cad, vil] = [await batch('survey'), await batch('cadastral'), await batch('village')];
  await db.tx(async (q) => {
    await q.query('SELECT setseed(0.42)');
    await q.query(`CREATE TEMP TABLE centre ON COMMIT DROP AS
      SELECT c, 35578000 + random() * 30000 AS x, 3239000 + random() * 30000 AS y, 400 + random() * 900 AS r
      FROM generate_series(0, 149) c`);
    const place = `(SELECT x, y, r FROM centre WHERE c = i % 150)`;
    await q.query(`INSERT INTO parcel (region_code, batch_id, record, parcel_code, holder, land_use, attrs, geom)
      SELECT $1, $2, i, 'ZD' || lpad(i::text, 8, '0'), '权利人' || (i % 9973), (ARRAY['住宅','商业','工业','耕地'])[1 + i % 4], '{}', g
      FROM (SELECT i, ST_Multi(ST_MakeEnvelope(px, py, px + w, py + h, ${SRID})) AS g
            FROM (SELECT i, k.x + sqrt(random()) * k.r * cos(a) AS px, k.y + sqrt(random()) * k.r * sin(a) AS py,
                         15 + random() * 25 AS w, 15 + random() * 35 AS h
                  FROM generate_series(1, $3::int) i, LATERAL ${place} k, LATERAL (SELECT random() * 2 * pi() AS a) aa) s) t`,
      [REGION, cad, 10 * n]);
    await q.query(`INSERT INTO survey_polygon (region_code, survey, code, first_batch_id, batch_id, attrs, geom, area_m2,
                     status, village_name, flags, priority)
      SELECT $1, '2020', '500118-2020-' || lpad(i::text, 6, '0'), $2, $2, '{}', g, ST_Area(g),
             (ARRAY['pending','pending','pending','field_check','verified','linked','dismissed'])[1 + i % 7],
             '村' || (floor((ST_X(ST_Centroid(g)) - 35578000) / 5000)::int * 6 + floor((ST_Y(ST_Centroid(g)) - 3239000) / 5000)::int),
             CASE i % 5 WHEN 0 THEN '{frontage}'::text[] WHEN 1 THEN '{compound,green}' ELSE '{}' END, random() * 100
      FROM (SELECT i, ST_Multi(ST_MakeEnvelope(px, py, px + w, py + h, ${SRID})) AS g
            FROM (SELECT i, k.x + sqrt(random()) * k.r * cos(a) AS px, k.y + sqrt(random()) * k.r * sin(a) AS py,
                         9 + random() * 36 AS w, 9 + random() * 36 AS h
                  FROM generate_series(1, $3::int) i, LATERAL ${place} k, LATERAL (SELECT random() * 2 * pi() AS a) aa) s) t`,
      [REGION, sv, n]);
    await q.query(`INSERT INTO layer_feature (region_code, layer_id, batch_id, name, code, attrs, geom)
      SELECT $1, (SELECT id FROM layer WHERE name = 'village'), $2, '村' || (gx * 6 + gy), '500118' || lpad((gx * 6 + gy)::text, 6, '0'), '{}',
             ST_Multi(ST_Segmentize(ST_MakeEnvelope(35578000 + gx * 5000, 3239000 + gy * 5000, 35583000 + gx * 5000, 3244000 + gy * 5000, ${SRID}), 25))
      FROM generate_series(0, 5) gx, generate_series(0, 5) gy`, [REGION, vil]);
  });
  await db.query('ANALYZE survey_polygon');
  await db.query('ANALYZE parcel');
  await db.query('ANALYZE layer_feature');
}

/** The reference: the plain pg_tileserv-style tile query (bbox in the source CRS, ST_AsMVTGeom, ST_AsMVT). */
const RAW: Record<'survey' | 'parcels', string> = {
  survey: `
    WITH b AS (SELECT ST_TileEnvelope($1, $2, $3) AS t, ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096), ${SRID}) AS w)
    SELECT ST_AsMVT(q, 'survey', 4096, 'geom', 'fid') AS mvt FROM (
      SELECT ST_AsMVTGeom(ST_Transform(p.geom, 3857), b.t, 4096, 64, true) AS geom, p.id AS fid, p.id, p.code, p.status,
             p.priority, array_to_string(p.flags, ',') AS flags, p.village_name AS village
      FROM survey_polygon p, b WHERE p.geom && b.w AND p.removed_batch_id IS NULL) q`,
  parcels: `
    WITH b AS (SELECT ST_TileEnvelope($1, $2, $3) AS t, ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096), ${SRID}) AS w)
    SELECT ST_AsMVT(q, 'parcels', 4096, 'geom', 'fid') AS mvt FROM (
      SELECT ST_AsMVTGeom(ST_Transform(c.geom, 3857), b.t, 4096, 64, true) AS geom, c.id AS fid, c.id, c.parcel_code, c.holder, c.land_use
      FROM parcel c, b WHERE c.geom && b.w) q`,
};

/** Tiles holding sampled survey polygons (deterministic sample), and the densest tile, at zoom z. */
async function tilesAt(db: Db, z: number, table: 'survey_polygon' | 'parcel'): Promise<TileCoord[]> {
  const pts = await db.query<{ lon: number; lat: number }>(
    `SELECT ST_X(c) AS lon, ST_Y(c) AS lat FROM (
       SELECT ST_Transform(ST_PointOnSurface(geom), 4326) AS c FROM ${table} ORDER BY md5(id::text) LIMIT $1) s`, [nTiles]);
  const dense = await db.query<{ x: number; y: number }>(
    `SELECT floor((ST_X(c) + 20037508.342789244) / w)::int AS x, floor((20037508.342789244 - ST_Y(c)) / w)::int AS y
     FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 3857) AS c, 40075016.68557849 / 2 ^ $1 AS w FROM ${table}) s
     GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1`, [z]);
  const set = new Map<string, TileCoord>();
  for (const p of pts.rows) {
    const t = lonLatToTile(p.lon, p.lat, z);
    set.set(`${t.x}/${t.y}`, t);
  }
  if (dense.rows[0]) set.set(`${dense.rows[0].x}/${dense.rows[0].y}`, { z, ...dense.rows[0] });
  return [...set.values()];
}

function featureCount(buf: Uint8Array): number {
  const t = new VectorTile(new PbfReader(buf));
  return Object.values(t.layers).reduce((s, l) => s + l.length, 0);
}

interface Row {
  layer: string;
  z: number;
  tiles: number;
  features: number;
  raw: number;
  http: number;
  cached: number;
  cachedSlow: number;
  cachedRatio: number;
  js: number;
  ratio: number;
  jsRatio: number;
  revalidate: number;
  floor: number;
  bare: number;
  maxBytes: number;
  maxFeatures: number;
}

async function main() {
  await ensureDatabase(url, log);
  const db = await openPostgres({ url, statementTimeoutMs: config.statementTimeoutMs });
  await migrate(db, { workSrid: SRID });
  if (!db.hasMvt) throw new Error('This PostGIS has no protobuf support (ST_AsMVT): the reference cannot run.');
  const count = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM survey_polygon WHERE region_code = $1', [REGION])).rows[0].n;
  let data = 'as found in the database';
  if ((await count()) < 1000) {
    if (values['load-sample']) {
      await loadSample(db);
      data = 'synthetic district sample (scripts/generate-sample.ts --scale district), imported with the real ingest';
    } else if (values['seed-synthetic']) {
      await seedSynthetic(db, Number(values['seed-synthetic']));
      data = `--seed-synthetic ${values['seed-synthetic']} (SQL generate_series)`;
    } else {
      console.error('The database holds no survey polygons: pass --load-sample or --seed-synthetic N.');
      process.exit(2);
    }
  }
  const sizes = (await db.query<{ p: number; c: number }>(
    `SELECT (SELECT count(*) FROM survey_polygon WHERE region_code = $1)::int AS p, (SELECT count(*) FROM parcel WHERE region_code = $1)::int AS c`,
    [REGION])).rows[0];
  log(`data: ${sizes.p} survey polygons, ${sizes.c} parcels`);

  // the reference at its best plan: left to itself the planner runs the plain query as a parallel seq scan
  // (ST_AsMVTGeom is costed high), 2–7× slower on these tiles than the index scan
  const raw = new pg.Client({ connectionString: url, options: '-c jit=off -c max_parallel_workers_per_gather=0' });
  await raw.connect();
  const silent = pino({ level: 'silent' });
  let session: { token: string } | undefined;
  if (values.auth === 'session') {
    const u = (await findUserByUsername(db, 'bench-tiles')) ??
      (await createUser(db, { username: 'bench-tiles', role: 'analyst', displayName: 'tiles benchmark', mustChangePassword: false })).user;
    session = await createSession(db, u.id, 'scripts/bench/tiles.ts');
  }
  const cache = new TileCache(config.tileCacheBytes || 64 * 1024 * 1024);
  const tileService = new TileService({ db, regionCode: REGION, workSrid: SRID, log: silent, cache });
  const appOf = async (tileFastPath: boolean) => createApp({
    config, db, log: silent, tiles: tileService, tileFastPath,
    authenticate: session
      ? await authenticate({ config, db, log: silent })
      : (req, _res, next) => {
        req.principal = { id: 0, username: 'bench', displayName: 'bench', role: 'analyst', villages: null };
        next();
      },
  });
  const authHeader: Record<string, string> = session ? { authorization: `Bearer ${session.token}` } : {};
  const listen = async (app: Awaited<ReturnType<typeof appOf>>) => {
    const srv = listenApp(app, 0, '127.0.0.1');
    await new Promise<void>((r) => srv.once('listening', () => r()));
    return { srv, base: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` };
  };
  const { srv: server, base } = await listen(await appOf(true));
  const { srv: slowServer, base: slowBase } = await listen(await appOf(false));
  // the floor of any tile server on this machine: bare node:http handing back the same bytes from memory
  // (no session, no versions, no lookup) — what a cached tile can at best cost over the raw query
  let bareBody: Uint8Array = new Uint8Array(0);
  const bareServer = http.createServer((_req, res) => {
    res.writeHead(200, {
      'Content-Type': 'application/vnd.mapbox-vector-tile', 'Cache-Control': 'private, no-cache', ETag: '"bare"',
      'Content-Length': bareBody.byteLength,
    });
    res.end(bareBody);
  }).listen(0, '127.0.0.1');
  await new Promise<void>((r) => bareServer.once('listening', () => r()));
  const bareBase = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`;
  const js = new TileService({ db, regionCode: REGION, workSrid: SRID, encoder: jsEncoder() });

  const timeRaw = async (layer: 'survey' | 'parcels', t: TileCoord) => {
    const s = performance.now();
    const r = await raw.query<{ mvt: Buffer | null }>(RAW[layer], [t.z, t.x, t.y]);
    return { ms: performance.now() - s, bytes: r.rows[0].mvt?.byteLength ?? 0 };
  };
  // a lean keep-alive client (undici's fetch alone adds ~0.5 ms a request)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let tileRequests = 0;
  const get = (u: string, headers: Record<string, string> = {}) =>
    (u.includes('/tiles/') && tileRequests++, 0) || new Promise<{ status: number; etag: string; body: Buffer }>((resolve, reject) => {
      http.get(u, { agent, headers: { ...authHeader, ...headers } }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (d: Buffer) => chunks.push(d));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, etag: String(r.headers.etag ?? ''), body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
  const timeHttp = async (layer: string, t: TileCoord, o: { cold?: boolean; origin?: string } = { cold: true }) => {
    if (o.cold) cache.clear();
    const s = performance.now();
    const r = await get(`${o.origin ?? base}/tiles/${layer}/${t.z}/${t.x}/${t.y}.mvt`);
    if (r.status !== 200 && r.status !== 204) throw new Error(`${layer} ${t.z}/${t.x}/${t.y}: HTTP ${r.status}`);
    return { ms: performance.now() - s, body: new Uint8Array(r.body), etag: r.etag };
  };
  /** the app's own floor: GET /api/health (one SELECT 1 + the same middleware chain) */
  const timeFloor = async () => {
    const s = performance.now();
    await get(`${base}/api/health`);
    return performance.now() - s;
  };
  const timeBare = async (layer: string, t: TileCoord, body: Uint8Array) => {
    bareBody = body;
    const s = performance.now();
    await get(`${bareBase}/tiles/${layer}/${t.z}/${t.x}/${t.y}.mvt`);
    return performance.now() - s;
  };
  const timeRevalidate = async (layer: string, t: TileCoord, etag: string) => {
    const s = performance.now();
    const r = await get(`${base}/tiles/${layer}/${t.z}/${t.x}/${t.y}.mvt`, { 'if-none-match': etag });
    if (r.status !== 304) throw new Error(`${layer} ${t.z}/${t.x}/${t.y}: expected 304, got ${r.status}`);
    return performance.now() - s;
  };
  const timeJs = async (layer: string, t: TileCoord) => {
    const s = performance.now();
    await js.tile({ layer, tile: t });
    return performance.now() - s;
  };

  const plan: [layer: 'survey' | 'parcels', z: number, table: 'survey_polygon' | 'parcel'][] = [
    ['survey', 12, 'survey_polygon'], ['survey', 14, 'survey_polygon'], ['survey', 16, 'survey_polygon'],
    ['parcels', 15, 'parcel'], ['parcels', 16, 'parcel'],
  ];
  // warm-up: caches, connections, catalog
  for (const [layer, z, table] of plan) for (const t of (await tilesAt(db, z, table)).slice(0, 3)) {
    await timeRaw(layer, t);
    await timeHttp(layer, t);
    await timeJs(layer, t);
  }

  const rows: Row[] = [];
  for (const [layer, z, table] of plan) {
    const tiles = await tilesAt(db, z, table);
    const rawT: number[] = [];
    const httpT: number[] = [];
    const cachedT: number[] = [];
    const slowT: number[] = [];
    const jsT: number[] = [];
    const revT: number[] = [];
    const floorT: number[] = [];
    const bareT: number[] = [];
    let maxBytes = 0;
    let maxFeatures = 0;
    let features = 0;
    for (const t of tiles) {
      for (let i = 0; i < runs; i++) {
        // alternate the order so neither side always runs on a warmer cache
        if (i % 2) {
          httpT.push((await timeHttp(layer, t)).ms);
          rawT.push((await timeRaw(layer, t)).ms);
        } else {
          rawT.push((await timeRaw(layer, t)).ms);
          httpT.push((await timeHttp(layer, t)).ms);
        }
        // the tile is now in the cache (the cold request filed it)
        cachedT.push((await timeHttp(layer, t, {})).ms);
        slowT.push((await timeHttp(layer, t, { origin: slowBase })).ms);
      }
      const cachedBody = (await timeHttp(layer, t, {})).body;
      for (let i = 0; i < runs; i++) bareT.push(await timeBare(layer, t, cachedBody));
      jsT.push(await timeJs(layer, t));
      const { body, etag } = await timeHttp(layer, t);
      revT.push(await timeRevalidate(layer, t, etag));
      floorT.push(await timeFloor());
      const n = body.byteLength ? featureCount(body) : 0;
      features += n;
      maxFeatures = Math.max(maxFeatures, n);
      maxBytes = Math.max(maxBytes, body.byteLength);
    }
    const row: Row = {
      layer, z, tiles: tiles.length, features: Math.round(features / tiles.length),
      raw: median(rawT), http: median(httpT), js: median(jsT),
      cached: median(cachedT), cachedSlow: median(slowT), cachedRatio: median(cachedT) / median(rawT),
      ratio: median(httpT) / median(rawT), jsRatio: median(jsT) / median(rawT), revalidate: median(revT), floor: median(floorT), bare: median(bareT), maxBytes, maxFeatures,
    };
    rows.push(row);
    log(`${layer} z${z}: ${row.tiles} tiles, ~${row.features} features; raw ${ms(row.raw)} ms, cold ${ms(row.http)} ms ` +
      `(×${row.ratio.toFixed(2)}), cached ${ms(row.cached, 2)} ms (×${row.cachedRatio.toFixed(2)}), cached without the fast path ${ms(row.cachedSlow, 2)} ms, 304 ${ms(row.revalidate)} ms, /api/health ${ms(row.floor)} ms, bare node:http ${ms(row.bare, 2)} ms (×${(row.bare / row.raw).toFixed(2)}), JS encoder ${ms(row.js)} ms (×${row.jsRatio.toFixed(2)}); max ${(maxBytes / 1024).toFixed(0)} KB`);
  }
  log(`tile requests answered by the fast path (routes/tiles.ts): ${fastPathServed()} of ${tileRequests}; ` +
    `cache: ${cache.hits} hits, ${cache.misses} misses, ${cache.entries} tiles / ${(cache.bytes / 1024).toFixed(0)} KB held`);
  // below the parcels' minimum zoom nothing is queried
  const z12parcels = await timeHttp('parcels', (await tilesAt(db, 12, 'parcel'))[0]);

  agent.destroy();
  server.closeAllConnections();
  server.close();
  slowServer.closeAllConnections();
  slowServer.close();
  bareServer.closeAllConnections();
  bareServer.close();
  if (session) await revokeSession(db, session.token);
  await raw.end();
  await db.close();

  const worst = Math.max(...rows.map((r) => r.maxBytes));
  const table = [
    '| layer | zoom | tiles | features/tile (avg) | raw ST_AsMVT median | cold HTTP median | cold ratio (target ≤ 1.3) | cached HTTP median | cached ratio (target ≤ 0.3) | cached, no fast path | bare node:http, same bytes | bare ratio | 304 revalidation | /api/health | JS encoder median | JS ratio | largest tile |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.layer} | ${r.z} | ${r.tiles} | ${r.features} (max ${r.maxFeatures}) | ${ms(r.raw)} ms | ${ms(r.http)} ms | ` +
      `**${r.ratio.toFixed(2)}** | ${ms(r.cached, 2)} ms | **${r.cachedRatio.toFixed(2)}** | ${ms(r.cachedSlow, 2)} ms | ${ms(r.bare, 2)} ms | ${(r.bare / r.raw).toFixed(2)} | ${ms(r.revalidate)} ms | ${ms(r.floor)} ms | ${ms(r.js)} ms | ${r.jsRatio.toFixed(2)} | ${(r.maxBytes / 1024).toFixed(0)} KB |`),
  ].join('\n');
  const section = `
## Vector tiles (issue 4) — ${new Date().toISOString().slice(0, 10)}

\`\`\`
DATABASE_URL=postgres://root@127.0.0.1:5432/tuban_bench_tiles npm run bench:tiles -- ${process.argv.slice(2).join(' ')}
\`\`\`

Machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, PostgreSQL + PostGIS (${db.kind}). Data: ${sizes.p.toLocaleString('en-US')} survey
polygons, ${sizes.c.toLocaleString('en-US')} parcels — ${data}. Tiles: those holding ${nTiles} sampled features plus the densest tile of
each zoom; ${runs} runs per tile, raw and HTTP interleaved. **raw** = the plain pg_tileserv-style \`ST_AsMVT\` query for the
tile on its own connection (parallel workers off: its best plan; the planner's default parallel seq scan was several times slower); **cold HTTP** = \`GET /tiles/{layer}/{z}/{x}/{y}.mvt\` on the real app with its tile cache emptied first; **cached** = the
same request again, answered from the tile cache (the data-version query and a lookup); **cached, no fast path** = the same on a
second app over the same tile service without the tile fast path (the whole middleware chain) (${values.auth === 'session'
    ? 'logged in: bearer token through the real session middleware'
    : 'no session check: a fixed principal injected'}; tile query with the data versions, scope/area floor/cap, ETag, HTTP); **JS encoder** = the embedded database's path (GeoJSON rows +
geojson-vt + vt-pbf) run on the same server, for comparison; **304** = the same request with its ETag in
If-None-Match (what a browser sends each time: \`Cache-Control: private, no-cache\`); **bare node:http** = a server of
nothing but \`node:http\` handing back the same tile's bytes from memory, on the same client: the floor any tile server in
Node pays for the HTTP exchange, which the raw query does not; **/api/health** = one \`SELECT 1\` through the whole
middleware chain. Parcels below z15: 204 in ${ms(z12parcels.ms)} ms (no tile query).

${table}

Largest tile: ${(worst / 1024).toFixed(0)} KB (budget ${TILE_BUDGET_BYTES / 1024} KB): ${worst <= TILE_BUDGET_BYTES ? 'within' : '**over**'}.
`;
  process.stdout.write(section);
  if (values['append-docs']) {
    const docs = path.resolve('docs/BENCHMARKS.md');
    if (!existsSync(docs)) writeFileSync(docs, '# Benchmarks\n\nEach section: the command, the data, the figures of one run. Compare ratios, not times.\n');
    const before = readFileSync(docs, 'utf8');
    appendFileSync(docs, (before.endsWith('\n') ? '' : '\n') + section);
    log(`appended to ${docs}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
