/**
 * Import + reconcile benchmark, with the references measured in the same run (PERFORMANCE.md: compare
 * ratios, never absolute times on these noisy machines).
 *
 *   npm run bench:ingest -- [--scale district|town|large] [--runs 1] [--url postgres://root@127.0.0.1:5432/test]
 *                           [--data-root data] [--skip-embedded]
 *
 * District scale on PostgreSQL/PostGIS:
 *   reference = `ogr2ogr -f PostgreSQL` (COPY, native SRID, index after load) loading the same zips
 *             + for the SQL phase, the faster of (a) hand-written SQL for the same results (repair, overlaps,
 *               share, largest parcel, frontage flag) on the loaded tables and (b) tuban's own reconciliation
 *               statements, as timed in its import report in the same run (issue 17 item 1: the reference
 *               takes the best known per phase; (b) includes tuban's few round trips around the statements,
 *               so run bare they could only be a little faster);
 *   tuban     = importFile(cadastral) + importFile(frontage) + importFile(survey) incl. reconciliation.
 * Town scale: tuban on the embedded PGlite vs on the server, same files.
 *
 * Every tuban import runs through the real CLI (scripts/ingest.ts) in its own process, under GNU time, so
 * the peak RSS printed beside its time is the import's own (issue 11 item 6: ≤ 600 MB whatever the
 * file's size). On PGlite the floor — PGlite + PostGIS opened and migrated, nothing imported
 * (pglite-floor.ts) — is measured in the same run and printed beside it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { generateSample } from '../sample/generate';
import { median } from './common';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: 'district' },
    runs: { type: 'string', default: '1' },
    url: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test' },
    'skip-embedded': { type: 'boolean', default: false },
    'data-root': { type: 'string', default: 'data' },
  },
});
const scale = values.scale as 'district' | 'town' | 'large';
const runs = Number(values.runs);
const baseUrl = values.url!;
const root = path.resolve(values['data-root']!);
const dir = path.join(root, `bench-${scale}`);

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

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

/** A child process under GNU time: its peak RSS (kB) and stdout. */
function timed(args: string[], env: NodeJS.ProcessEnv): { kb: number; stdout: string } {
  const r = spawnSync('/usr/bin/time', ['-f', 'TUBAN_MAXRSS_KB %M', process.execPath, '--import', 'tsx', ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}):\n${r.stderr.slice(-4000)}`);
  return { kb: Number(/TUBAN_MAXRSS_KB (\d+)/.exec(r.stderr)?.[1] ?? NaN), stdout: r.stdout };
}

interface Run { total: number; reconcile: number; steps: Record<string, number>; peakKb: number }

/** The three imports through the CLI, one process each; the import times come from the reports. */
function tuban(env: NodeJS.ProcessEnv, files: Record<string, string>): Run {
  let total = 0;
  let reconcile = 0;
  let steps: Record<string, number> = {};
  let peakKb = 0;
  for (const layer of ['cadastral', 'frontage', 'survey'] as const) {
    const { kb, stdout } = timed(['scripts/ingest.ts', files[layer], '--layer', layer, '--json'], env);
    const r = JSON.parse(stdout.slice(stdout.indexOf('{')));
    total += r.seconds * 1000;
    peakKb = Math.max(peakKb, kb);
    if (layer === 'survey') { reconcile = r.reconcile.seconds * 1000; steps = r.reconcile.steps; }
    process.stderr.write(`    ${layer}: ${r.stored} stored in ${r.seconds}s, peak RSS ${mb(kb)} ${JSON.stringify(r.timings)}\n`);
  }
  return { total, reconcile, steps, peakKb };
}

async function serverEnv(): Promise<NodeJS.ProcessEnv> {
  const url = await freshDatabase('tuban_bench_app');
  // the CLI migrates and imports as the owner role; allowed for a bench database
  return { DATABASE_URL: url, DATABASE_OWNER_URL: url, TUBAN_ALLOW_OWNER_ROLE: '1', TUBAN_MAX_UPLOAD_MB: '8192' };
}

/** tuban on PGlite in a fresh data dir, and the floor (PGlite + PostGIS, nothing imported) in another. */
function embedded(files: Record<string, string>): { run: Run; floorKb: number } {
  const data = mkdtempSync(path.join(os.tmpdir(), 'tuban-bench-'));
  const floorDir = mkdtempSync(path.join(os.tmpdir(), 'tuban-floor-'));
  try {
    const floorKb = timed(['scripts/bench/pglite-floor.ts', floorDir], { DATABASE_URL: '' }).kb;
    const run = tuban({ DATABASE_URL: '', TUBAN_DATA_DIR: data, TUBAN_MAX_UPLOAD_MB: '8192' }, files);
    return { run, floorKb };
  } finally {
    rmSync(data, { recursive: true, force: true });
    rmSync(floorDir, { recursive: true, force: true });
  }
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
  const appKb: number[] = [];
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`run ${i + 1}/${runs}: reference (ogr2ogr + SQL)…\n`);
    const r = await reference(files);
    process.stderr.write(`  ogr2ogr ${secs(r.load)} s + overlay SQL ${secs(r.sql)} s\n`);
    process.stderr.write(`run ${i + 1}/${runs}: tuban on PostgreSQL…\n`);
    const a = tuban(await serverEnv(), files);
    const sqlPhase = Math.min(r.sql, a.reconcile);
    refT.push(r.load + sqlPhase);
    process.stderr.write(`  reference: ogr2ogr ${secs(r.load)} s + SQL phase ${secs(sqlPhase)} s (${sqlPhase === r.sql ? 'hand-written' : "tuban's own statements"}; ` +
      `hand-written ${secs(r.sql)} s, tuban's reconcile ${secs(a.reconcile)} s)\n`);
    appT.push(a.total);
    appKb.push(a.peakKb);
    process.stderr.write(`  tuban ${secs(a.total)} s, peak RSS ${mb(a.peakKb)} (reconcile ${secs(a.reconcile)} s: ${JSON.stringify(a.steps)})\n`);
  }
  const ratio = median(appT) / median(refT);
  console.log(`\n${scale} scale, ${runs} run(s), PostgreSQL/PostGIS`);
  console.log(`reference (ogr2ogr COPY + the faster SQL):   ${secs(median(refT))} s`);
  console.log(`tuban import + reconcile:                    ${secs(median(appT))} s, peak RSS ${mb(median(appKb))} (largest of the three CLI processes; target ≤ 600 MB)`);
  console.log(`ratio tuban / reference: ${ratio.toFixed(2)} (target ≤ 1.5, aim ≤ 1.0)`);

  if (!values['skip-embedded']) {
    const town = path.join(root, 'bench-town');
    if (!existsSync(path.join(town, 'survey-2020.zip'))) generateSample({ out: town, scale: 'town', seed: 42 });
    const tfiles = { survey: path.join(town, 'survey-2020.zip'), cadastral: path.join(town, 'cadastral.zip'), frontage: path.join(town, 'frontage-band.zip') };
    process.stderr.write('town scale: embedded PGlite…\n');
    const e = embedded(tfiles);
    process.stderr.write('town scale: PostgreSQL…\n');
    const s = tuban(await serverEnv(), tfiles);
    console.log(`\ntown scale import + reconcile: embedded ${secs(e.run.total)} s, server ${secs(s.total)} s, embedded/server ${(e.run.total / s.total).toFixed(2)}`);
    console.log(`town scale peak RSS: embedded ${mb(e.run.peakKb)} (PGlite + PostGIS floor ${mb(e.floorKb)}, tuban above it ${mb(e.run.peakKb - e.floorKb)}), server ${mb(s.peakKb)}`);
    if (scale !== 'town') {
      process.stderr.write(`${scale} scale: embedded PGlite…\n`);
      const d = embedded(files);
      console.log(`${scale} scale on PGlite: ${secs(d.run.total)} s, peak RSS ${mb(d.run.peakKb)} (PGlite + PostGIS floor ${mb(d.floorKb)}, tuban above it ${mb(d.run.peakKb - d.floorKb)})`);
    }
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
