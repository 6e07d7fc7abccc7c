/**
 * The scale curve (issue 17 item 2): the same three imports (cadastral, frontage band, survey incl.
 * reconciliation) at town, district and large scale, each through the real CLI (`scripts/ingest.ts`) in
 * its own process so that its peak RSS (VmHWM, via GNU time) is the import's own.
 *
 *   npm run bench:scale -- [--scales town,district,large] [--dbs postgres,pglite] [--data-root data]
 *                          [--url postgres://root@127.0.0.1:5432/test] [--svg docs/scale-curve.svg]
 *
 * The reference in the same run is `ogr2ogr` loading the same cadastral zip into PostgreSQL (COPY, no
 * index): these machines are noisy, so the curve is also printed as a ratio to that load, which should
 * stay flat if tuban grows as linearly as a plain COPY does.
 *
 * Data: `<data-root>/bench-<scale>/` (generated with seed 42 when missing; large is ~300 MB of zips).
 * PGlite runs in a temporary data dir that is removed afterwards.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { generateSample, type SampleScale } from '../sample/generate';

const { values } = parseArgs({
  options: {
    scales: { type: 'string', default: 'town,district' },
    dbs: { type: 'string', default: 'postgres,pglite' },
    'data-root': { type: 'string', default: 'data' },
    url: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test' },
    svg: { type: 'string' },
    json: { type: 'string', default: 'data/bench-results/scale-curve.json' },
  },
});

const LAYERS = [
  { layer: 'cadastral', file: 'cadastral.zip', args: [] as string[] },
  { layer: 'frontage', file: 'frontage-band.zip', args: [] as string[] },
  { layer: 'survey', file: 'survey-2020.zip', args: [] as string[] },
];

interface Step {
  layer: string;
  seconds: number; // wall time of the CLI process, start-up included
  importSeconds: number; // the import as the report times it
  rssMb: number; // peak RSS of the CLI process
  stored: number;
  timings: Record<string, number>;
  reconcile?: Record<string, number>;
}
interface Row { scale: string; db: string; steps: Step[]; reference?: number }

async function freshDatabase(base: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  await c.query('CREATE EXTENSION postgis');
  await c.end();
  return u.toString();
}

function ogrSeconds(url: string, zip: string): number {
  const u = new URL(url);
  const conn = `PG:host=${u.hostname} port=${u.port || 5432} dbname=${u.pathname.slice(1)} user=${decodeURIComponent(u.username || 'root')}`;
  const t = performance.now();
  execFileSync('ogr2ogr', [
    '-f', 'PostgreSQL', conn, `/vsizip/${zip}`, '-nln', 'ref_cadastral', '-nlt', 'PROMOTE_TO_MULTI',
    '-lco', 'GEOMETRY_NAME=geom', '-lco', 'SPATIAL_INDEX=NONE', '--config', 'PG_USE_COPY', 'YES',
  ], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SHAPE_ENCODING: 'CP936' } });
  return (performance.now() - t) / 1000;
}

/** One CLI import in its own process, under GNU time for the peak RSS. */
function cliImport(zip: string, layer: string, env: NodeJS.ProcessEnv): Step {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'TUBAN_MAXRSS_KB %M', process.execPath, '--import', 'tsx', 'scripts/ingest.ts', zip, '--layer', layer, '--json'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`ingest ${layer} failed (${r.status}):\n${r.stderr.slice(-4000)}`);
  const kb = Number(/TUBAN_MAXRSS_KB (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  const report = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
  return {
    layer,
    seconds,
    importSeconds: report.seconds,
    rssMb: kb / 1024,
    stored: report.stored,
    timings: report.timings ?? {},
    reconcile: report.reconcile?.steps,
  };
}

async function runOne(scale: SampleScale, db: string, dir: string): Promise<Row> {
  let env: NodeJS.ProcessEnv;
  let cleanup = () => {};
  if (db === 'postgres') {
    const url = await freshDatabase(values.url!, 'tuban_bench_scale');
    // the CLI migrates and imports as the owner role; allowed for a bench database
    env = { DATABASE_URL: url, DATABASE_OWNER_URL: url, TUBAN_ALLOW_OWNER_ROLE: '1', TUBAN_MAX_UPLOAD_MB: '8192' };
  } else {
    const data = mkdtempSync(path.join(os.tmpdir(), 'tuban-scale-'));
    env = { DATABASE_URL: '', TUBAN_DATA_DIR: data, TUBAN_MAX_UPLOAD_MB: '8192' };
    cleanup = () => rmSync(data, { recursive: true, force: true });
  }
  try {
    const steps: Step[] = [];
    for (const l of LAYERS) {
      const s = cliImport(path.join(dir, l.file), l.layer, env);
      process.stderr.write(`  ${scale} ${db} ${l.layer}: ${s.stored} rows, ${s.importSeconds.toFixed(1)} s, peak RSS ${s.rssMb.toFixed(0)} MB ${JSON.stringify(s.timings)}\n`);
      steps.push(s);
    }
    let reference: number | undefined;
    if (db === 'postgres') {
      reference = ogrSeconds(env.DATABASE_URL!, path.join(dir, 'cadastral.zip'));
      process.stderr.write(`  reference ogr2ogr cadastral: ${reference.toFixed(1)} s\n`);
    }
    return { scale, db, steps, reference };
  } finally {
    cleanup();
  }
}

function svg(rows: Row[]): string {
  // seconds of the whole import (three layers) against parcels, log–log, one line per database
  const pts = rows.map((r) => ({ db: r.db, x: r.steps[0].stored, y: r.steps.reduce((a, s) => a + s.importSeconds, 0) }));
  const W = 640, H = 400, L = 70, B = 50, T = 30, R = 140;
  const lx = (v: number) => Math.log10(v);
  const xs = pts.map((p) => lx(p.x)), ys = pts.map((p) => lx(p.y));
  const [x0, x1] = [Math.floor(Math.min(...xs)), Math.ceil(Math.max(...xs))];
  const [y0, y1] = [Math.floor(Math.min(...ys)), Math.ceil(Math.max(...ys))];
  const X = (v: number) => L + ((lx(v) - x0) / (x1 - x0 || 1)) * (W - L - R);
  const Y = (v: number) => H - B - ((lx(v) - y0) / (y1 - y0 || 1)) * (H - B - T);
  const colour: Record<string, string> = { postgres: '#1f6feb', pglite: '#d97706' };
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">\n`;
  out += `<rect width="${W}" height="${H}" fill="#fff"/>\n<text x="${L}" y="18" font-size="14">import + reconcile seconds vs parcels (log–log); dashed = linear</text>\n`;
  for (let e = x0; e <= x1; e++) out += `<line x1="${X(10 ** e)}" y1="${T}" x2="${X(10 ** e)}" y2="${H - B}" stroke="#eee"/><text x="${X(10 ** e)}" y="${H - B + 18}" text-anchor="middle">1e${e}</text>\n`;
  for (let e = y0; e <= y1; e++) out += `<line x1="${L}" y1="${Y(10 ** e)}" x2="${W - R}" y2="${Y(10 ** e)}" stroke="#eee"/><text x="${L - 8}" y="${Y(10 ** e) + 4}" text-anchor="end">${10 ** e} s</text>\n`;
  out += `<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle">parcels (cadastral rows)</text>\n`;
  let legend = 0;
  for (const db of [...new Set(pts.map((p) => p.db))]) {
    const ps = pts.filter((p) => p.db === db).sort((a, b) => a.x - b.x);
    out += `<polyline fill="none" stroke="${colour[db] ?? '#333'}" stroke-width="2" points="${ps.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ')}"/>\n`;
    for (const p of ps) out += `<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="4" fill="${colour[db] ?? '#333'}"/>\n`;
    // the linear extrapolation from the smallest point
    const a = ps[0];
    const b = ps[ps.length - 1];
    out += `<line x1="${X(a.x).toFixed(1)}" y1="${Y(a.y).toFixed(1)}" x2="${X(b.x).toFixed(1)}" y2="${Y((a.y * b.x) / a.x).toFixed(1)}" stroke="${colour[db] ?? '#333'}" stroke-dasharray="4 4"/>\n`;
    out += `<rect x="${W - R + 16}" y="${T + legend * 20}" width="12" height="12" fill="${colour[db] ?? '#333'}"/><text x="${W - R + 34}" y="${T + legend * 20 + 11}">${db}</text>\n`;
    legend++;
  }
  return out + '</svg>\n';
}

async function main() {
  const rows: Row[] = [];
  for (const scale of values.scales!.split(',') as SampleScale[]) {
    const dir = path.resolve(values['data-root']!, `bench-${scale}`);
    if (!existsSync(path.join(dir, 'survey-2020.zip'))) {
      process.stderr.write(`generating ${scale} data in ${dir}…\n`);
      generateSample({ out: dir, scale, seed: 42 });
    }
    for (const db of values.dbs!.split(',')) {
      try {
        rows.push(await runOne(scale, db, dir));
      } catch (e) {
        process.stderr.write(`  ${scale} ${db}: FAILED ${(e as Error).message.slice(0, 2000)}\n`);
      }
    }
  }
  console.log(`\nscale curve (load at start ${os.loadavg()[0].toFixed(1)}, now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  console.log('| scale | db | layer | rows | import s | rows/s | peak RSS MB | phases (s) |');
  console.log('|---|---|---|---:|---:|---:|---:|---|');
  for (const r of rows)
    for (const s of r.steps) {
      const phases = { ...s.timings, ...(s.reconcile ? { reconcile: s.reconcile } : {}) };
      console.log(`| ${r.scale} | ${r.db} | ${s.layer} | ${s.stored.toLocaleString('en')} | ${s.importSeconds.toFixed(1)} | ${Math.round(s.stored / s.importSeconds).toLocaleString('en')} | ${s.rssMb.toFixed(0)} | ${JSON.stringify(phases).replace(/"/g, '')} |`);
    }
  console.log('\n| scale | db | parcels | total import s | s per 100k parcels | ogr2ogr cadastral s (same run) | tuban / ogr2ogr |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const total = r.steps.reduce((a, s) => a + s.importSeconds, 0);
    const parcels = r.steps[0].stored;
    console.log(`| ${r.scale} | ${r.db} | ${parcels.toLocaleString('en')} | ${total.toFixed(1)} | ${((total / parcels) * 1e5).toFixed(2)} | ${r.reference?.toFixed(1) ?? '—'} | ${r.reference ? (total / r.reference).toFixed(2) : '—'} |`);
  }
  mkdirSync(path.dirname(values.json!), { recursive: true });
  const previous: Row[] = existsSync(values.json!) ? JSON.parse(readFileSync(values.json!, 'utf8')) : [];
  const merged = [...previous.filter((p) => !rows.some((r) => r.scale === p.scale && r.db === p.db)), ...rows];
  writeFileSync(values.json!, JSON.stringify(merged, null, 2));
  if (values.svg) {
    writeFileSync(values.svg, svg(merged));
    console.log(`\nplot → ${values.svg} (from ${values.json})`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
