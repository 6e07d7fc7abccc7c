/**
 * Dashboard and export benchmark (issue 6), with the reference measured in the same run (PERFORMANCE.md:
 * compare ratios, never absolute times on these noisy machines).
 *
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/tuban_bench_exports npm run bench:exports -- \
 *       [--seed-synthetic 50000] [--runs 15] [--export-runs 3] [--append-docs]
 *
 * Data: whatever the database holds (district scale expected: ~50k polygons). On an empty database
 * `--seed-synthetic N` inserts N survey polygons in 36 villages with campaign flags, statuses and their
 * decision events (dates across the 2021 campaign), by SQL generate_series.
 * Measured:
 *   - GET /api/coverage (every dashboard figure) through the real app: median of --runs, unrestricted and
 *     village-limited. Target: median ≤ 500 ms.
 *   - the full GeoJSON export (GET /api/exports/polygons.geojson, streamed, keyset pages) against
 *     `ogr2ogr -f GeoJSON /vsistdout/ PG:… -sql "SELECT … FROM survey_polygon"` on the same database, same
 *     run, same coordinate precision (7 decimals). Target: tuban's rate ≥ 0.5 × ogr2ogr's.
 *   - for information: the ledger CSV/XLSX and the zipped shapefile, and the server heap while exporting.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createApp, listen } from '../../server/app';
import { loadConfig } from '../../server/config';
import { migrate } from '../../server/db/migrate';
import { openPostgres } from '../../server/db/postgres';
import type { Db } from '../../server/db/types';
import type { Principal } from '../../server/auth/guard';
import { ensureDatabase, median } from './common';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.DATABASE_URL },
    'seed-synthetic': { type: 'string' },
    runs: { type: 'string', default: '15' },
    'export-runs': { type: 'string', default: '3' },
    'append-docs': { type: 'boolean', default: false },
  },
});
if (!values.url) {
  console.error('Set DATABASE_URL (or --url) to a PostgreSQL/PostGIS database; it is created when missing.');
  process.exit(2);
}
const url = values.url;
const runs = Number(values.runs);
const exportRuns = Number(values['export-runs']);
const config = loadConfig({ ...process.env, DATABASE_URL: url, TUBAN_SAMPLE: 'off', LOG_LEVEL: 'silent' });
const REGION = config.regionCode;
const SRID = config.workSrid;

const pct = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))];
const log = (s: string) => process.stderr.write(`${s}\n`);
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });


/**
 * N polygons (9–45 m rectangles) around 150 settlements in a 30 × 30 km square near Ji'an, 36 village
 * squares; statuses ~3/7 waiting, 4/7 decided; every decided polygon has its decision event (verify, link,
 * dismiss with a reason) dated across the 2021 campaign, some returned and decided again. Two delivery
 * batches. Seeded (setseed).
 */
async function seedSynthetic(db: Db, n: number) {
  log(`seeding ${n} polygons with decision events…`);
  const batch = async (layer: string, created: string) => (await db.query<{ id: number }>(
    `INSERT INTO import_batch (region_code, layer_id, survey, file_name, sha256, source_layer, report, created_at)
     VALUES ($1, (SELECT id FROM layer WHERE name = $2), '2021', 'synthetic-' || $2, md5(random()::text), 'synthetic', '{}', $3)
     RETURNING id`, [REGION, layer, created])).rows[0].id;
  const b1 = await batch('survey', '2021-04-10T09:00:00+08:00');
  const b2 = await batch('survey', '2021-09-01T09:00:00+08:00');
  const vil = await batch('village', '2021-04-01T09:00:00+08:00');
  await db.tx(async (q) => {
    await q.query('SELECT setseed(0.42)');
    await q.query(`CREATE TEMP TABLE centre ON COMMIT DROP AS
      SELECT c, 35578000 + random() * 30000 AS x, 3239000 + random() * 30000 AS y, 400 + random() * 900 AS r
      FROM generate_series(0, 149) c`);
    await q.query(`INSERT INTO survey_polygon (region_code, survey, code, first_batch_id, batch_id, attrs, geom, area_m2,
                     status, version, village_name, flags, priority)
      SELECT $1, '2021', '500118-2021-' || lpad(i::text, 6, '0'), CASE WHEN i % 10 = 0 THEN $3::int ELSE $2::int END, $3::int, '{}', g, ST_Area(g),
             (ARRAY['pending','pending','field_check','verified','linked','dismissed','verified'])[1 + i % 7], 2,
             '村' || (floor((ST_X(ST_Centroid(g)) - 35578000) / 5000)::int * 6 + floor((ST_Y(ST_Centroid(g)) - 3239000) / 5000)::int),
             CASE i % 5 WHEN 0 THEN '{frontage}'::text[] WHEN 1 THEN '{compound,green}' WHEN 2 THEN '{school}' ELSE '{}' END, random() * 100
      FROM (SELECT i, ST_Multi(ST_MakeEnvelope(px, py, px + w, py + h, ${SRID})) AS g
            FROM (SELECT i, k.x + sqrt(random()) * k.r * cos(a) AS px, k.y + sqrt(random()) * k.r * sin(a) AS py,
                         9 + random() * 36 AS w, 9 + random() * 36 AS h
                  FROM generate_series(1, $4::int) i, LATERAL (SELECT x, y, r FROM centre WHERE c = i % 150) k,
                       LATERAL (SELECT random() * 2 * pi() AS a) aa) s) t`,
      [REGION, b1, b2, n]);
    // the decision each decided polygon is at, dated across the campaign (4/15 … 12/31); one in nine was
    // returned once and decided again (three events), the others decided once
    await q.query(`INSERT INTO polygon_event (region_code, polygon_id, seq, at, user_id, username, action, from_status, to_status, reason)
      SELECT p.region_code, p.id, s.seq,
             timestamptz '2021-04-15 09:00+08' + (random() * 260) * interval '1 day' + (s.seq - 1) * interval '3 days',
             1 + p.id % 5, 'analyst' || (1 + p.id % 5),
             CASE WHEN s.seq = 2 THEN 'return' ELSE (CASE p.status WHEN 'verified' THEN 'verify' WHEN 'linked' THEN 'link' ELSE 'dismiss' END) END,
             CASE WHEN s.seq = 2 THEN p.status ELSE 'pending' END,
             CASE WHEN s.seq = 2 THEN 'pending' ELSE p.status END,
             CASE WHEN p.status = 'dismissed' AND s.seq <> 2
                  THEN (ARRAY['legal_permitted','false_change','agricultural_facility','temporary_use','already_removed'])[1 + p.id % 5] END
      FROM survey_polygon p
      CROSS JOIN LATERAL generate_series(1, CASE WHEN p.id % 9 = 0 THEN 3 ELSE 1 END) AS s(seq)
      WHERE p.region_code = $1 AND p.status IN ('verified', 'linked', 'dismissed')`, [REGION]);
    await q.query(`INSERT INTO layer_feature (region_code, layer_id, batch_id, name, code, attrs, geom)
      SELECT $1, (SELECT id FROM layer WHERE name = 'village'), $2, '村' || (gx * 6 + gy), '500118' || lpad((gx * 6 + gy)::text, 6, '0'), '{}',
             ST_Multi(ST_Segmentize(ST_MakeEnvelope(35578000 + gx * 5000, 3239000 + gy * 5000, 35583000 + gx * 5000, 3244000 + gy * 5000, ${SRID}), 25))
      FROM generate_series(0, 5) gx, generate_series(0, 5) gy`, [REGION, vil]);
  });
  for (const t of ['survey_polygon', 'polygon_event', 'layer_feature', 'import_batch']) await db.query(`ANALYZE ${t}`);
}

/** ogr2ogr's connection string for the same database */
function ogrPg(): string {
  const u = new URL(url);
  const parts = [`host=${u.hostname}`, `port=${u.port || 5432}`, `dbname=${u.pathname.slice(1)}`, `user=${decodeURIComponent(u.username) || os.userInfo().username}`];
  if (u.password) parts.push(`password=${decodeURIComponent(u.password)}`);
  return `PG:${parts.join(' ')}`;
}

/** The reference: ogr2ogr reading the same rows (transformed to EPSG:4326 by PostGIS) into GeoJSON on stdout. */
const OGR_SQL = `SELECT id, code, survey, village_name AS village, area_m2, status, priority, flags, ST_Transform(geom, 4326) AS geom
                 FROM survey_polygon WHERE region_code = '${REGION}' AND removed_batch_id IS NULL`;

function runOgr(): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const p = spawn('ogr2ogr', ['-f', 'GeoJSON', '/vsistdout/', ogrPg(), '-sql', OGR_SQL, '-lco', 'COORDINATE_PRECISION=7'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let err = '';
    p.stdout.on('data', (c: Buffer) => (bytes += c.length));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve({ ms: performance.now() - started, bytes }) : reject(new Error(`ogr2ogr exited ${code}: ${err}`))));
  });
}

async function main() {
  await ensureDatabase(url, log);
  const db = await openPostgres({ url, statementTimeoutMs: 600_000 });
  await migrate(db, { workSrid: SRID });
  const count = async () => (await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM survey_polygon WHERE region_code = $1 AND removed_batch_id IS NULL', [REGION])).rows[0].n;
  let data = 'as found in the database';
  if ((await count()) < 1000) {
    if (!values['seed-synthetic']) {
      console.error('The database holds no survey polygons: pass --seed-synthetic N.');
      process.exit(2);
    }
    await seedSynthetic(db, Number(values['seed-synthetic']));
    data = `--seed-synthetic ${values['seed-synthetic']} (SQL generate_series, decision events included)`;
  }
  const sizes = (await db.query<{ p: number; e: number; v: number }>(
    `SELECT (SELECT count(*) FROM survey_polygon WHERE region_code = $1 AND removed_batch_id IS NULL)::int AS p,
            (SELECT count(*) FROM polygon_event WHERE region_code = $1)::int AS e,
            (SELECT count(*) FROM layer_feature f JOIN layer l ON l.id = f.layer_id WHERE l.name = 'village')::int AS v`, [REGION])).rows[0];
  const village = (await db.query<{ v: string }>(
    `SELECT village_name AS v FROM survey_polygon WHERE village_name IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`)).rows[0]?.v;
  log(`data: ${sizes.p} polygons, ${sizes.e} events, ${sizes.v} villages`);

  let principal: Principal = { id: 0, username: 'bench', displayName: 'bench', role: 'reviewer', villages: null };
  const app = createApp({
    config, db, log: pino({ level: 'silent' }),
    authenticate: (req, _res, next) => {
      req.principal = principal;
      next();
    },
  });
  const server = listen(app, 0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // heap of this process (the server) while it works
  let peakHeap = 0;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 20);
  const heapBefore = process.memoryUsage().heapUsed;

  const timeGet = async (p: string) => {
    const s = performance.now();
    const r = await fetch(base + p);
    let bytes = 0;
    const reader = r.body!.getReader();
    for (let c = await reader.read(); !c.done; c = await reader.read()) bytes += c.value.byteLength;
    if (r.status !== 200) throw new Error(`${p}: HTTP ${r.status}`);
    return { ms: performance.now() - s, bytes };
  };

  // ---- dashboard figures
  for (let i = 0; i < 3; i++) await timeGet('/api/coverage');
  const cov: number[] = [];
  for (let i = 0; i < runs; i++) cov.push((await timeGet('/api/coverage')).ms);
  principal = { ...principal, villages: village ? [village] : null };
  const covScoped: number[] = [];
  for (let i = 0; i < runs; i++) covScoped.push((await timeGet('/api/coverage')).ms);
  principal = { ...principal, villages: null };
  const choro: number[] = [];
  for (let i = 0; i < Math.min(runs, 5); i++) choro.push((await timeGet('/api/coverage/villages.geojson')).ms);
  // the dashboard screen as the browser loads it: its three requests at once (web/src/dashboard/page.ts)
  const screen: number[] = [];
  for (let i = 0; i < Math.min(runs, 10); i++) {
    const s = performance.now();
    await Promise.all(['/api/coverage', '/api/overdue?limit=20', '/api/coverage/villages.geojson?figures=0'].map((p) => timeGet(p)));
    screen.push(performance.now() - s);
  }
  log(`dashboard screen (coverage + overdue + village outlines in parallel): median ${fmt(median(screen), 1)} ms`);
  log(`GET /api/coverage: median ${fmt(median(cov), 1)} ms (p90 ${fmt(pct(cov, 0.9), 1)}), village-limited ${fmt(median(covScoped), 1)} ms`);

  // ---- GeoJSON export vs ogr2ogr, interleaved
  await runOgr();
  await timeGet('/api/exports/polygons.geojson');
  const ogr: { ms: number; bytes: number }[] = [];
  const ours: { ms: number; bytes: number }[] = [];
  for (let i = 0; i < exportRuns; i++) {
    if (i % 2) {
      ours.push(await timeGet('/api/exports/polygons.geojson'));
      ogr.push(await runOgr());
    } else {
      ogr.push(await runOgr());
      ours.push(await timeGet('/api/exports/polygons.geojson'));
    }
  }
  const ogrMs = median(ogr.map((x) => x.ms));
  const oursMs = median(ours.map((x) => x.ms));
  const ratio = ogrMs / oursMs; // = our rate / ogr2ogr's rate
  log(`GeoJSON export: tuban ${fmt(oursMs)} ms (${fmt(sizes.p / (oursMs / 1000))} features/s), ogr2ogr ${fmt(ogrMs)} ms (${fmt(sizes.p / (ogrMs / 1000))} features/s): ×${ratio.toFixed(2)}`);

  // ---- the other exports (information)
  const others: { name: string; ms: number; bytes: number; heap: number }[] = [];
  for (const p of ['polygons.geojson', 'ledger.csv', 'ledger.xlsx', 'polygons.zip']) {
    const t: { ms: number; bytes: number }[] = [];
    peakHeap = 0;
    for (let i = 0; i < Math.max(1, Math.min(exportRuns, 2)); i++) t.push(await timeGet(`/api/exports/${p}`));
    others.push({ name: p, ms: median(t.map((x) => x.ms)), bytes: t[0].bytes, heap: peakHeap });
    log(`${p}: ${fmt(median(t.map((x) => x.ms)))} ms, ${fmt(t[0].bytes / 1e6, 1)} MB, peak heap ${fmt(peakHeap / 1e6)} MB`);
  }
  clearInterval(sampler);
  server.closeAllConnections();
  server.close();
  await db.close();

  const section = `
## Dashboard and exports (issue 6) — ${new Date().toISOString().slice(0, 10)}

\`\`\`
DATABASE_URL=${url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@')} npm run bench:exports -- ${process.argv.slice(2).join(' ')}
\`\`\`

Machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, PostgreSQL + PostGIS. Data: ${fmt(sizes.p)} survey polygons
(not removed), ${fmt(sizes.e)} decision events, ${sizes.v} villages — ${data}. Requests through the real app on port 0
(reviewer, all villages unless said), bodies read to the end.

| figure | tuban | reference (same run) | ratio | target |
|---|---|---|---|---|
| GET /api/coverage, every dashboard figure (median of ${runs}; p90) | **${fmt(median(cov), 1)} ms** (p90 ${fmt(pct(cov, 0.9), 1)} ms) | — | — | ≤ 500 ms: ${median(cov) <= 500 ? 'met' : '**missed**'} |
| same, village-limited reviewer (${village}) | ${fmt(median(covScoped), 1)} ms | — | — | |
| GET /api/coverage/villages.geojson | ${fmt(median(choro), 1)} ms | — | — | |
| dashboard screen: coverage + overdue + village outlines (figures=0) at once, as the page asks (median of ${screen.length}) | ${fmt(median(screen), 1)} ms | — | — | |
| full GeoJSON export, EPSG:4326, 7 decimals (median of ${exportRuns}) | ${fmt(oursMs)} ms = **${fmt(sizes.p / (oursMs / 1000))} features/s**, ${fmt(ours[0].bytes / 1e6, 1)} MB | ogr2ogr -f GeoJSON /vsistdout/: ${fmt(ogrMs)} ms = ${fmt(sizes.p / (ogrMs / 1000))} features/s, ${fmt(ogr[0].bytes / 1e6, 1)} MB | **×${ratio.toFixed(2)}** of ogr2ogr's rate | ≥ 0.5×: ${ratio >= 0.5 ? 'met' : '**missed**'} |
${others.map((o) => `| ${o.name} (information) | ${fmt(o.ms)} ms, ${fmt(sizes.p / (o.ms / 1000))} rows/s, ${fmt(o.bytes / 1e6, 1)} MB; server heap peak ${fmt(o.heap / 1e6)} MB | — | — | |`).join('\n')}

Reference command: \`ogr2ogr -f GeoJSON /vsistdout/ PG:… -sql "${OGR_SQL.replace(/\s+/g, ' ')}" -lco COORDINATE_PRECISION=7\`
(PostGIS transforms, ogr2ogr writes). tuban's export also looks up each polygon's decision (认定人, reason, case) and
writes more properties. Server heap (this process: server and client) ${fmt(heapBefore / 1e6)} MB before the runs; the peak
while each export ran is in its row (keyset pages of 2,000 rows; XLSX through exceljs's streaming writer; the shapefile
through a temporary directory). The heap is sampled every 20 ms and includes garbage not yet collected.
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
