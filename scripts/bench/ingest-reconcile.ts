/**
 * Import + reconcile benchmark, with the references measured in the same run (PERFORMANCE.md: compare
 * ratios, never absolute times on these noisy machines).
 *
 *   npm run bench:ingest -- [--scale district|town] [--runs 1] [--url postgres://root@127.0.0.1:5432/test]
 *
 * District scale on PostgreSQL/PostGIS:
 *   reference = `ogr2ogr -f PostgreSQL` (COPY, native SRID, index after load) loading the same zips
 *             + the fastest hand-written SQL for the same results (repair, overlaps, share, largest
 *               parcel, frontage flag) on the loaded tables;
 *   tuban     = importFile(cadastral) + importFile(frontage) + importFile(survey) incl. reconciliation.
 * Town scale: tuban on the embedded PGlite vs on the server, same files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { generateSample } from '../sample/generate';
import { openPostgres } from '../../server/db/postgres';
import { openPglite } from '../../server/db/pglite';
import { migrate } from '../../server/db/migrate';
import type { Db } from '../../server/db/types';
import { importFile, type ImportSettings } from '../../server/ingest/import';
import { loadConfig } from '../../server/config';
import { median } from './common';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: 'district' },
    runs: { type: 'string', default: '1' },
    url: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test' },
    'skip-embedded': { type: 'boolean', default: false },
  },
});
const scale = values.scale as 'district' | 'town';
const runs = Number(values.runs);
const baseUrl = values.url!;
const dir = path.resolve(`data/bench-${scale}`);
const cfg = loadConfig({ ...process.env, TUBAN_MAX_UPLOAD_MB: '4096' });
const settings: ImportSettings = { ...cfg };

const secs = (ms: number) => (ms / 1000).toFixed(2);

async function freshDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  await c.query('CREATE EXTENSION postgis');
  await c.end();
  return u.toString();
}

function pgConnString(url: string): string {
  const u = new URL(url);
  return `PG:host=${u.hostname} port=${u.port || 5432} dbname=${u.pathname.slice(1)} user=${decodeURIComponent(u.username || 'root')}`;
}

/** ogr2ogr with COPY into the native SRID, spatial index built after the load. */
function ogrLoad(url: string, zip: string, table: string) {
  execFileSync('ogr2ogr', [
    '-f', 'PostgreSQL', pgConnString(url), `/vsizip/${zip}`, '-nln', table, '-nlt', 'PROMOTE_TO_MULTI',
    '-lco', 'GEOMETRY_NAME=geom', '-lco', 'SPATIAL_INDEX=NONE', '-lco', 'FID=fid', '--config', 'PG_USE_COPY', 'YES',
  ], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SHAPE_ENCODING: 'CP936' } }); // the sample .dbf files are GBK
}

// The fastest hand-written SQL found for the same results (PERFORMANCE.md: two steps, repair first,
// driven from the polygons into the parcel index, JIT off).
const REFERENCE_SQL = [
  'SET jit = off',
  'CREATE INDEX ON cadastral USING gist (geom)',
  'CREATE INDEX ON frontage USING gist (geom)',
  'UPDATE survey SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3)) WHERE NOT ST_IsValid(geom)',
  'CREATE INDEX ON survey USING gist (geom)',
  'ANALYZE survey', 'ANALYZE cadastral', 'ANALYZE frontage',
  `CREATE TABLE ref_overlap AS
     SELECT p.fid AS pid, c.fid AS cid, ST_Area(ST_Intersection(p.geom, c.geom)) AS a, ST_Area(p.geom) AS pa
     FROM survey p JOIN cadastral c ON ST_Intersects(c.geom, p.geom)`,
  `CREATE TABLE ref_result AS
     SELECT p.fid, ST_Area(p.geom) AS area, l.cid AS largest, l.a / NULLIF(l.pa, 0) AS share, l.n,
            EXISTS (SELECT 1 FROM frontage f WHERE ST_Intersects(f.geom, p.geom)) AS frontage
     FROM survey p LEFT JOIN (
       SELECT DISTINCT ON (pid) pid, cid, a, pa, count(*) OVER (PARTITION BY pid) AS n
       FROM ref_overlap WHERE a > 0 ORDER BY pid, a DESC) l ON l.pid = p.fid`,
];

async function reference(files: Record<string, string>): Promise<{ load: number; sql: number }> {
  const url = await freshDatabase('tuban_bench_ref');
  let t = performance.now();
  ogrLoad(url, files.cadastral, 'cadastral');
  ogrLoad(url, files.survey, 'survey');
  ogrLoad(url, files.frontage, 'frontage');
  const load = performance.now() - t;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  t = performance.now();
  for (const s of REFERENCE_SQL) await c.query(s);
  const sql = performance.now() - t;
  await c.end();
  return { load, sql };
}

async function tuban(db: Db, files: Record<string, string>): Promise<{ total: number; reconcile: number; steps: Record<string, number> }> {
  await migrate(db, { workSrid: settings.workSrid });
  const t = performance.now();
  let reconcile = 0;
  let steps: Record<string, number> = {};
  for (const layer of ['cadastral', 'frontage', 'survey'] as const) {
    const bytes = new Uint8Array(await readFile(files[layer]));
    const r = await importFile(db, settings, { bytes, fileName: path.basename(files[layer]), layer });
    if (layer === 'survey') { reconcile = r.reconcile!.seconds * 1000; steps = r.reconcile!.steps; }
    process.stderr.write(`    ${layer}: ${r.stored} stored in ${r.seconds}s ${JSON.stringify(r.timings)}\n`);
  }
  return { total: performance.now() - t, reconcile, steps };
}

async function main() {
  if (!existsSync(path.join(dir, 'survey-2020.zip'))) {
    process.stderr.write(`generating ${scale} data in ${dir}…\n`);
    generateSample({ out: dir, scale, seed: 42 });
  }
  const files = {
    survey: path.join(dir, 'survey-2020.zip'),
    cadastral: path.join(dir, 'cadastral.zip'),
    frontage: path.join(dir, 'frontage-band.zip'),
  };
  const refT: number[] = [];
  const appT: number[] = [];
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`run ${i + 1}/${runs}: reference (ogr2ogr + SQL)…\n`);
    const r = await reference(files);
    refT.push(r.load + r.sql);
    process.stderr.write(`  ogr2ogr ${secs(r.load)} s + overlay SQL ${secs(r.sql)} s\n`);
    process.stderr.write(`run ${i + 1}/${runs}: tuban on PostgreSQL…\n`);
    const db = await openPostgres({ url: await freshDatabase('tuban_bench_app') });
    const a = await tuban(db, files);
    await db.close();
    appT.push(a.total);
    process.stderr.write(`  tuban ${secs(a.total)} s (reconcile ${secs(a.reconcile)} s: ${JSON.stringify(a.steps)})\n`);
  }
  const ratio = median(appT) / median(refT);
  console.log(`\n${scale} scale, ${runs} run(s), PostgreSQL/PostGIS`);
  console.log(`reference (ogr2ogr COPY + hand-written SQL): ${secs(median(refT))} s`);
  console.log(`tuban import + reconcile:                    ${secs(median(appT))} s`);
  console.log(`ratio tuban / reference: ${ratio.toFixed(2)} (target ≤ 1.5, aim ≤ 1.0)`);

  if (!values['skip-embedded']) {
    const town = path.resolve('data/bench-town');
    if (!existsSync(path.join(town, 'survey-2020.zip'))) generateSample({ out: town, scale: 'town', seed: 42 });
    const tfiles = { survey: path.join(town, 'survey-2020.zip'), cadastral: path.join(town, 'cadastral.zip'), frontage: path.join(town, 'frontage-band.zip') };
    process.stderr.write('town scale: embedded PGlite…\n');
    const lite = await openPglite();
    const e = await tuban(lite, tfiles);
    await lite.close();
    process.stderr.write('town scale: PostgreSQL…\n');
    const srv = await openPostgres({ url: await freshDatabase('tuban_bench_app') });
    const s = await tuban(srv, tfiles);
    await srv.close();
    console.log(`\ntown scale import + reconcile: embedded ${secs(e.total)} s, server ${secs(s.total)} s, embedded/server ${(e.total / s.total).toFixed(2)}`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
