/**
 * Imagery benchmark (issue 15 item 6), references measured in the same run (PERFORMANCE.md: compare ratios,
 * never absolute times on these shared machines).
 *
 *   npm run bench:imagery -- [--size 10000] [--tiles 300] [--chips 40] [--import-only] [--append-docs]
 *   (DATABASE_URL, default postgres://root@127.0.0.1:5432/tuban_bench_imagery: metadata; tiles go under a temp dir)
 *
 * Image: a synthetic size × size RGB GeoTIFF at 0.5 m in EPSG:4523 around Ji'an — fields, roads, noise —
 *   written by this script as a raw file + VRT and turned into a tiled, deflated GeoTIFF by gdal_translate
 *   (cached in data/bench-imagery/).
 * Import: the real importImagery in a child process, so its peak RSS (process.resourceUsage().maxRSS) is the
 *   importer's; printed as seconds per 100 Mpx. Target ≤ 60 s / 100 Mpx.
 * Tiles (`--tiles` random tiles over every zoom of the import):
 *   raw      fs.readFile of the tile's file (the reference);
 *   warm     readImageryTile on a store that has served the tile (its LRU) — target ≤ 1.5 × raw;
 *   cold     readImageryTile on a store whose tile cache is empty (file read, cache fill);
 *   http     GET /tiles/imagery/after/z/x/y?v=<id> through the real app with a real session, cold (fresh app
 *            and store) and warm — target cold ≤ 50 ms.
 * Chips: GET /api/polygons/:id/chips/after for `--chips` polygons laid over the image, first request (p50).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createApp, listen as listenApp } from '../../server/app';
import { authenticate, createSession } from '../../server/auth/session';
import { createUser, findUserByUsername } from '../../server/auth/users';
import { loadConfig } from '../../server/config';
import { migrate } from '../../server/db/migrate';
import { openPostgres } from '../../server/db/postgres';
import { importImagery, type ImageryReport } from '../../server/imagery/import';
import { tilePath } from '../../server/imagery/pyramid';
import { ImageryStore, layerDir, readImageryTile } from '../../server/imagery/store';
import { ensureDatabase, median } from './common';

const REGION = '500118';
const SRID = 4523;
const UL = [35585000, 3256000];
const RES = 0.5;

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '10000' },
    tiles: { type: 'string', default: '300' },
    chips: { type: 'string', default: '40' },
    'append-docs': { type: 'boolean', default: false },
    'import-only': { type: 'boolean', default: false },
    'child-import': { type: 'string' },
    'data-dir': { type: 'string' },
  },
});
const url = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/tuban_bench_imagery';
const log = (s: string) => process.stderr.write(`${s}\n`);
const pct = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))];
const ms = (n: number) => n.toFixed(n < 1 ? 3 : 1);

/** A textured RGB image: fields of a few crop colours, roads every 400 px, some noise. Written band-free, row by row. */
function makeImage(file: string, size: number) {
  const raw = `${file}.raw`;
  const fd = openSync(raw, 'w');
  const row = Buffer.alloc(size * 3);
  const palette = [[92, 122, 60], [128, 150, 80], [160, 140, 96], [110, 100, 80], [70, 100, 55], [180, 170, 150]];
  let seed = 1;
  const noise = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) % 17 - 8;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const road = x % 400 < 8 || y % 400 < 8;
      const cell = ((x >> 6) * 73856093) ^ ((y >> 5) * 19349663);
      const c = road ? [150, 150, 148] : palette[Math.abs(cell) % palette.length];
      const n = noise();
      row[x * 3] = Math.max(0, Math.min(255, c[0] + n));
      row[x * 3 + 1] = Math.max(0, Math.min(255, c[1] + n));
      row[x * 3 + 2] = Math.max(0, Math.min(255, c[2] + n));
    }
    writeSync(fd, row);
  }
  closeSync(fd);
  const band = (i: number, interp: string) => `<VRTRasterBand dataType="Byte" band="${i}" subClass="VRTRawRasterBand"><ColorInterp>${interp}</ColorInterp>` +
    `<SourceFilename relativeToVRT="1">${path.basename(raw)}</SourceFilename><ImageOffset>${i - 1}</ImageOffset><PixelOffset>3</PixelOffset><LineOffset>${size * 3}</LineOffset></VRTRasterBand>`;
  writeFileSync(`${file}.vrt`, `<VRTDataset rasterXSize="${size}" rasterYSize="${size}"><GeoTransform>${UL[0]}, ${RES}, 0, ${UL[1]}, 0, -${RES}</GeoTransform>` +
    `${band(1, 'Red')}${band(2, 'Green')}${band(3, 'Blue')}</VRTDataset>`);
  execFileSync('gdal_translate', ['-q', '-a_srs', 'EPSG:4523', '-co', 'TILED=YES', '-co', 'COMPRESS=DEFLATE', '-co', 'BIGTIFF=IF_SAFER', `${file}.vrt`, file]);
  rmSync(raw);
  rmSync(`${file}.vrt`);
}

/** child: import and report with the peak RSS */
async function childImport(file: string, dataDir: string) {
  const db = await openPostgres({ url, max: 2 });
  const rssBefore = process.resourceUsage().maxRSS;
  const report = await importImagery(db, { dataDir, regionCode: REGION, workSrid: SRID }, { path: file, fileName: path.basename(file), epoch: 'after', date: '2020-10-01' });
  await db.close();
  process.stdout.write(JSON.stringify({ report, maxRssKb: process.resourceUsage().maxRSS, rssBeforeKb: rssBefore }) + '\n');
}

async function main() {
  if (values['child-import']) return childImport(values['child-import'], values['data-dir']!);
  const size = Number(values.size);
  const nTiles = Number(values.tiles);
  const nChips = Number(values.chips);
  await ensureDatabase(url, log);
  const db = await openPostgres({ url, max: 8 });
  await migrate(db, { workSrid: SRID });
  await db.query('DELETE FROM imagery_layer WHERE region_code = $1', [REGION]);

  const dir = path.resolve('data/bench-imagery');
  mkdirSync(dir, { recursive: true });
  const tif = path.join(dir, `bench-${size}.tif`);
  if (!existsSync(tif)) {
    log(`generating ${size} × ${size} image…`);
    makeImage(tif, size);
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tuban-bench-imagery-'));
  log(`importing ${tif} (${(size * size / 1e6).toFixed(0)} Mpx) in a child process…`);
  const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1], '--child-import', tif, '--data-dir', dataDir],
    { env: { ...process.env, DATABASE_URL: url }, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (child.status !== 0) throw new Error(`import failed: ${child.stderr}`);
  const { report, maxRssKb, rssBeforeKb } = JSON.parse(child.stdout.trim().split('\n').pop()!) as { report: ImageryReport; maxRssKb: number; rssBeforeKb: number };
  const perHundred = report.seconds / (report.pixels.total / 1e8);
  const head = [
    `image: ${size} × ${size} px (${(report.pixels.total / 1e6).toFixed(0)} Mpx), ${report.resolution_m} m, zooms ${report.zooms.min}–${report.zooms.max}, ${report.tiles} tiles, ${(report.bytes / 1048576).toFixed(1)} MB; grid error ${report.grid_error_px} px`,
    `import: ${report.seconds} s = ${perHundred.toFixed(1)} s per 100 Mpx (target ≤ 60) · peak RSS ${(maxRssKb / 1024).toFixed(0)} MB (${(rssBeforeKb / 1024).toFixed(0)} MB before the import: node, tsx, pg)`,
  ];
  if (values['import-only']) {
    await db.query('DELETE FROM imagery_layer WHERE region_code = $1', [REGION]);
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
    const lines = [...head, `load average: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cores, shared)`];
    process.stdout.write(lines.join('\n') + '\n');
    if (values['append-docs']) appendDocs(lines, `--size ${size} --import-only`);
    return;
  }

  // a random sample of tiles over every zoom, read from the layer's directory
  const root = layerDir(dataDir, report.import_id);
  const all: [number, number, number][] = [];
  for (const z of readdirSync(root)) for (const x of readdirSync(path.join(root, z))) for (const y of readdirSync(path.join(root, z, x))) all.push([+z, +x, parseInt(y, 10)]);
  let s = 7;
  const pick = () => all[((s = (s * 16807) % 2147483647) % all.length)];
  const sample = Array.from({ length: Math.min(nTiles, all.length) }, pick);

  const time = async (f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    return performance.now() - t;
  };
  const raw: number[] = [];
  const cold: number[] = [];
  const warm: number[] = [];
  const coldStore = () => new ImageryStore(db, REGION, dataDir);
  const warmStore = coldStore();
  await warmStore.current();
  for (const [z, x, y] of sample) await readImageryTile(warmStore, 'after', z, x, y);
  for (const [z, x, y] of sample) {
    raw.push(await time(() => readFile(tilePath(root, z, x, y))));
    const st = coldStore();
    await st.current(); // the layer lookup is remembered by a running app; the tile is what is cold
    cold.push(await time(() => readImageryTile(st, 'after', z, x, y)));
    warm.push(await time(() => readImageryTile(warmStore, 'after', z, x, y)));
  }

  // through HTTP: the real app and a real session
  const config = loadConfig({ ...process.env, TUBAN_DATA_DIR: dataDir, TUBAN_SAMPLE: 'off', LOG_LEVEL: 'silent' });
  const silent = pino({ level: 'silent' });
  const u = (await findUserByUsername(db, 'bench-imagery')) ??
    (await createUser(db, { username: 'bench-imagery', role: 'analyst', displayName: 'imagery benchmark', mustChangePassword: false })).user;
  const session = await createSession(db, u.id, 'scripts/bench/imagery.ts');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (base: string, p: string) => new Promise<{ status: number; ms: number }>((resolve, reject) => {
    const t = performance.now();
    http.get(base + p, { agent, headers: { authorization: `Bearer ${session.token}` } }, (r) => {
      r.resume();
      r.on('end', () => resolve({ status: r.statusCode ?? 0, ms: performance.now() - t }));
    }).on('error', reject);
  });
  const listen = async () => {
    const app = createApp({ config: { ...config, regionCode: REGION }, db, log: silent, authenticate: await authenticate({ config, db, log: silent }) });
    const srv = listenApp(app, 0, '127.0.0.1');
    await new Promise<void>((r) => srv.once('listening', () => r()));
    return { srv, base: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` };
  };
  const { srv, base } = await listen();
  await get(base, `/tiles/imagery/after/0/0/0?v=${report.import_id}`); // the session and the layer remembered
  const httpCold: number[] = [];
  const httpWarm: number[] = [];
  for (const [z, x, y] of sample) {
    const p = `/tiles/imagery/after/${z}/${x}/${y}.webp?v=${report.import_id}`;
    const c = await get(base, p);
    if (c.status !== 200) throw new Error(`${p}: ${c.status}`);
    httpCold.push(c.ms);
    httpWarm.push((await get(base, p)).ms);
  }

  // chips: polygons laid over the image (30–80 m squares), first request each
  const b = await db.query<{ id: number }>(
    `INSERT INTO import_batch (region_code, layer_id, survey, file_name, sha256, source_layer, report)
     VALUES ($1, (SELECT id FROM layer WHERE name = 'survey'), 'bench-imagery', 'bench-imagery', md5(random()::text), 'tb', '{}') RETURNING id`, [REGION]);
  const extentM = size * RES;
  const polys = await db.query<{ id: number }>(
    `INSERT INTO survey_polygon (region_code, survey, code, first_batch_id, batch_id, attrs, geom, area_m2)
     SELECT $1, 'bench-imagery', 'BI-' || g || '-' || md5(random()::text), $2, $2, '{}',
            ST_Multi(ST_MakeEnvelope(x, y, x + w, y + w, ${SRID})), w * w
     FROM (SELECT g, $3 + 100 + random() * ($5 - 300) AS x, $4 - 100 - random() * ($5 - 300) AS y, 30 + random() * 50 AS w
           FROM generate_series(1, $6::int) g) s
     RETURNING id`, [REGION, b.rows[0].id, UL[0], UL[1], extentM, nChips]);
  const chips: number[] = [];
  for (const p of polys.rows) {
    const r = await get(base, `/api/polygons/${p.id}/chips/after`);
    if (r.status !== 200) throw new Error(`chip ${p.id}: ${r.status}`);
    chips.push(r.ms);
  }
  srv.close();
  agent.destroy();
  await db.query('DELETE FROM survey_polygon WHERE region_code = $1 AND survey = $2', [REGION, 'bench-imagery']);
  await db.query('DELETE FROM import_batch WHERE region_code = $1 AND survey = $2', [REGION, 'bench-imagery']);
  await db.query('DELETE FROM imagery_layer WHERE region_code = $1', [REGION]);
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });

  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const lines = [
    ...head,
    `tiles (${sample.length}, all zooms)      p50 ms   p99 ms   p50 / raw`,
    `  raw fs.readFile             ${ms(median(raw)).padStart(7)}  ${ms(pct(raw, 0.99)).padStart(7)}     1.00`,
    `  readImageryTile warm        ${ms(median(warm)).padStart(7)}  ${ms(pct(warm, 0.99)).padStart(7)}  ${(median(warm) / median(raw)).toFixed(2).padStart(7)}   (target ≤ 1.5)`,
    `  readImageryTile cold        ${ms(median(cold)).padStart(7)}  ${ms(pct(cold, 0.99)).padStart(7)}  ${(median(cold) / median(raw)).toFixed(2).padStart(7)}`,
    `  HTTP warm                   ${ms(median(httpWarm)).padStart(7)}  ${ms(pct(httpWarm, 0.99)).padStart(7)}  ${(median(httpWarm) / median(raw)).toFixed(2).padStart(7)}`,
    `  HTTP cold                   ${ms(median(httpCold)).padStart(7)}  ${ms(pct(httpCold, 0.99)).padStart(7)}  ${(median(httpCold) / median(raw)).toFixed(2).padStart(7)}   (target p99 ≤ 50 ms)`,
    `chips (${chips.length}, first request, HTTP)  p50 ${ms(median(chips))} ms · p99 ${ms(pct(chips, 0.99))} ms`,
    `load average: ${load} (${os.cpus().length} cores, shared)`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (values['append-docs']) appendDocs(lines, `--size ${size} --tiles ${nTiles} --chips ${nChips}`);
}

function appendDocs(lines: string[], args: string) {
  appendFileSync('docs/BENCHMARKS.md', `\n### Imagery run ${new Date().toISOString().slice(0, 16)}Z — \`npm run bench:imagery -- ${args}\`\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
