/**
 * OGC API – Features with GDAL's OAPIF client (issue 17 item 6): the district parcels fetched by
 * `ogr2ogr … OAPIF:` with default options, against a plain `ogr2ogr` from PostGIS (the PG: driver) of the
 * same table to the same output format, in the same run; prints the ratio. Target: ≤ 30 s.
 *
 *   npm run bench:ogc -- [--scale district|town] [--runs 3] [--url postgres://root@127.0.0.1:5432/test]
 *
 * The district data is generated into data/bench-<scale> (as bench:ingest does) and the cadastral layer
 * imported into a fresh database `tuban_bench_ogc` with the real ingest. Auth as the README tells a GIS
 * user: a bearer token in GDAL_HTTP_HEADERS.
 *
 * Also in the same run, the floor (ogc-floor.ts): the same ogr2ogr against a bare node:http server answering
 * the same number of pages of the same features from memory — what GDAL's paging costs with a server that
 * costs nothing. `--page-size N` passes `-oo PAGE_SIZE=N` to both OAPIF runs (GDAL 3.6 asks limit=10 by
 * default; 3.8 and later take the limit the OpenAPI document declares).
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { createApp, listen } from '../../server/app';
import { authenticate, createSession } from '../../server/auth/session';
import { createUser } from '../../server/auth/users';
import { loadConfig } from '../../server/config';
import { migrate } from '../../server/db/migrate';
import { openPostgres } from '../../server/db/postgres';
import { importFile } from '../../server/ingest/import';
import { generateSample } from '../sample/generate';
import { median } from './common';
import { startOgcFloor } from './ogc-floor';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: 'district' },
    runs: { type: 'string', default: '3' },
    url: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test' },
    'page-size': { type: 'string' },
  },
});
const scale = values.scale as 'district' | 'town';
const runs = Number(values.runs);
const dir = path.resolve(`data/bench-${scale}`);
const secs = (ms: number) => (ms / 1000).toFixed(2);

async function freshDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: values.url });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(values.url!);
  u.pathname = `/${name}`;
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  await c.query('CREATE EXTENSION postgis');
  await c.end();
  return u.toString();
}

/**
 * Runs a command and times it. Asynchronous on purpose: the OAPIF server is this very process, and a
 * synchronous child (execFileSync) would block the event loop that has to answer its requests — the cause of
 * the "> 9 min, not finished" of the first run of this script (2026-12-05).
 */
async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const t = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${cmd} exited with ${code}`);
  return performance.now() - t;
}

async function main() {
  if (!existsSync(path.join(dir, 'cadastral.zip'))) {
    process.stderr.write(`generating ${scale} data in ${dir}…\n`);
    generateSample({ out: dir, scale, seed: 42 });
  }
  const url = await freshDatabase('tuban_bench_ogc');
  const cfg = loadConfig({ ...process.env, TUBAN_SAMPLE: 'off', TUBAN_MAX_UPLOAD_MB: '4096', DATABASE_URL: url });
  const db = await openPostgres({ url });
  await migrate(db, { workSrid: cfg.workSrid });
  process.stderr.write('importing the parcels…\n');
  const bytes = new Uint8Array(await readFile(path.join(dir, 'cadastral.zip')));
  const imp = await importFile(db, cfg, { bytes, fileName: 'cadastral.zip', layer: 'cadastral' });
  const n = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM parcel')).rows[0].n;
  process.stderr.write(`  ${imp.stored} parcels stored (${n} in the table)\n`);

  const log = pino({ level: 'silent' });
  const ctx = { config: cfg, db, log };
  const app = createApp({ ...ctx, authenticate: await authenticate(ctx) });
  const server = listen(app, 0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { user } = await createUser(db, { username: 'bench-gis', role: 'reviewer', villages: null, password: `Bench-${Date.now()}-x9`, mustChangePassword: false });
  const { token } = await createSession(db, user.id);

  const out = mkdtempSync(path.join(os.tmpdir(), 'bench-ogc-'));
  const u = new URL(url);
  const pgSource = `PG:host=${u.hostname} port=${u.port || 5432} dbname=${u.pathname.slice(1)} user=${decodeURIComponent(u.username || 'root')} tables=parcel`;
  const floor = await startOgcFloor({ tuban: base, token, collection: 'parcels', total: n });
  const oo = values['page-size'] ? ['-oo', `PAGE_SIZE=${values['page-size']}`] : [];
  const gdalEnv = { ...process.env, GDAL_HTTP_HEADERS: `Authorization: Bearer ${token}` };
  const ref: number[] = [];
  const oapif: number[] = [];
  const floorT: number[] = [];
  let pages = 0;
  for (let i = 0; i < runs; i++) {
    // both to FlatGeobuf in CRS84, the same fields: only the source differs
    ref.push(await timed('ogr2ogr', ['-f', 'FlatGeobuf', path.join(out, `ref-${i}.fgb`), pgSource, '-t_srs', 'OGC:CRS84', '-nln', 'parcels',
      '-sql', 'SELECT id, parcel_code, holder, land_use, approved_area, round(area_m2::numeric, 2) AS area_m2, geom FROM parcel ORDER BY id']));
    oapif.push(await timed('ogr2ogr', ['-f', 'FlatGeobuf', path.join(out, `oapif-${i}.fgb`), `OAPIF:${base}/ogc`, 'parcels', ...oo], gdalEnv));
    const before = floor.pages;
    floorT.push(await timed('ogr2ogr', ['-f', 'FlatGeobuf', path.join(out, `floor-${i}.fgb`), `OAPIF:${floor.base}/ogc`, 'parcels', ...oo], gdalEnv));
    pages = floor.pages - before;
    const count = (f: string) => Number(execFileSync('ogrinfo', ['-ro', '-so', '-al', path.join(out, f)], { encoding: 'utf8' }).match(/Feature Count: (\d+)/)?.[1]);
    const got = count(`oapif-${i}.fgb`);
    process.stderr.write(`run ${i + 1}/${runs}: ogr2ogr PG: ${secs(ref[i])} s, ogr2ogr OAPIF: ${secs(oapif[i])} s (${got} features), ` +
      `floor: ${secs(floorT[i])} s (${pages} pages)\n`);
    if (got !== n) throw new Error(`OAPIF gave ${got} features, the table has ${n}`);
    if (count(`floor-${i}.fgb`) !== n) throw new Error('the floor server did not serve every feature');
  }
  rmSync(out, { recursive: true, force: true });
  floor.close();
  server.close();
  await db.close();
  const gdal = execFileSync('ogrinfo', ['--version'], { encoding: 'utf8' }).trim();
  console.log(`\n${scale} parcels: ${n.toLocaleString('en-US')} features, ${runs} run(s), ${gdal}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`reference: ogr2ogr from PostGIS (PG: driver):  ${secs(median(ref))} s`);
  console.log(`tuban: ogr2ogr OAPIF:, ${values['page-size'] ? `-oo PAGE_SIZE=${values['page-size']}:` : 'default options:'}       ${secs(median(oapif))} s (target ≤ 30 s)`);
  console.log(`floor: the same ogr2ogr, bare node:http:   ${secs(median(floorT))} s (${pages} pages of ${values['page-size'] ?? "GDAL's default"} features)`);
  console.log(`ratio OAPIF / PG: ${(median(oapif) / median(ref)).toFixed(2)}; OAPIF / floor: ${(median(oapif) / median(floorT)).toFixed(2)}`);
  console.log(`per page: tuban ${(median(oapif) / pages).toFixed(2)} ms, floor ${(median(floorT) / pages).toFixed(2)} ms`);
}

main().catch((e) => { console.error(e); process.exit(1); });
