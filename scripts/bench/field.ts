/**
 * Field page benchmark (issue 5): weight of the built page, and how fast a phone on a slow mobile network
 * shows a polygon and the distance to it.
 *
 *   npm run bench:field -- [--runs 5] [--append-docs]
 *
 * Setup (all in this process, nothing to start): a fresh embedded PGlite with the tiny synthetic sample town,
 * the real app on port 0, the field page from dist/field (built when stale), a signed link to one polygon and
 * a logged-in field user.
 *
 * Weight: gzip (level 9) of every built file; the budget is ≤ 250 KB gzip for all the page's JavaScript,
 * map code included (there is no map library: web-field/src/map.ts draws SVG).
 *
 * Load: a fresh headless Chromium context per run (cold HTTP cache, no service worker yet), 390×844 phone,
 * geolocation granted, the network throttled with CDP Network.emulateNetworkConditions at Chrome DevTools'
 * current "Slow 4G" preset — devtools-frontend SDK/NetworkManager.ts Slow4GConditions (named "Fast 3G" until
 * May 2024): latency 150 ms × 3.75 = 562.5 ms, download 1.6 Mbit/s × 0.9 = 180 000 B/s (1.44 Mbit/s), upload
 * 750 kbit/s × 0.9 = 84 375 B/s. Timed from navigation start (performance marks set by the page):
 *   ready     the polygon's facts and map are on screen (data from GET /api/field/by-code/… or …/worklist);
 *   distance  the distance and bearing from the phone are shown.
 * Target: ready ≤ 3000 ms (median).
 * Reference, same throttle, same run: navigating to GET /api/health (a few bytes of JSON) — the floor any page
 * pays on this network (connection + one round trip). Ratios page/floor are what compare across machines.
 * Also shown: the same with the CPU slowed 4× (Emulation.setCPUThrottlingRate, a mid-range phone).
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { chromium, type Browser } from 'playwright-core';
import { createApp, listen } from '../../server/app';
import { authenticate, createSession, SESSION_COOKIE } from '../../server/auth/session';
import { createUser } from '../../server/auth/users';
import { loadConfig } from '../../server/config';
import { migrate } from '../../server/db/migrate';
import { openPglite } from '../../server/db/pglite';
import { importFile } from '../../server/ingest/import';
import { SAMPLE_FILES } from '../../server/sample';
import { createLink } from '../../server/field/links';
import { generateSample } from '../generate-sample';
import { buildFieldIfNeeded, FIELD_OUT } from '../build-field-if-needed';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    'append-docs': { type: 'boolean', default: false },
  },
});
const RUNS = Math.max(1, Number(values.runs));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync'];
const SLOW_4G = { offline: false, latency: 150 * 3.75, downloadThroughput: (1.6 * 1000 * 1000) / 8 * 0.9, uploadThroughput: (750 * 1000) / 8 * 0.9 };
const JS_BUDGET_KB = 250;
const READY_BUDGET_MS = 3000;
const log = (s: string) => process.stderr.write(`${s}\n`);
const kb = (n: number) => (n / 1024).toFixed(1);
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function sizes() {
  const out: { file: string; bytes: number; gzip: number; lazy: boolean }[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(js|css|html)$/.test(e.name)) {
        out.push({ file: path.relative(FIELD_OUT, p), bytes: statSync(p).size, gzip: gzipSync(readFileSync(p), { level: 9 }).length, lazy: /mini\.esm/.test(e.name) });
      }
    }
  };
  walk(FIELD_OUT);
  return out.sort((a, b) => b.gzip - a.gzip);
}

async function main() {
  await buildFieldIfNeeded();
  const files = sizes();
  const js = files.filter((f) => f.file.endsWith('.js'));
  const jsAll = js.reduce((a, f) => a + f.gzip, 0);
  const jsInitial = js.filter((f) => !f.lazy && f.file !== 'sw.js').reduce((a, f) => a + f.gzip, 0);
  const css = files.filter((f) => f.file.endsWith('.css')).reduce((a, f) => a + f.gzip, 0);

  log('starting the embedded database with the tiny sample town (~20 s)…');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tuban-bench-field-'));
  const db = await openPglite();
  await migrate(db, { workSrid: 4523 });
  const config = loadConfig({ TUBAN_SAMPLE: 'off', LOG_LEVEL: 'silent', TUBAN_DATA_DIR: tmp, TUBAN_WEB_DIR: path.join(ROOT, 'dist', 'web') });
  generateSample({ out: path.join(tmp, 'sample'), scale: 'tiny', seed: 42 });
  for (const s of SAMPLE_FILES) {
    await importFile(db, config, { bytes: new Uint8Array(readFileSync(path.join(tmp, 'sample', s.file))), fileName: s.file, layer: s.layer, widthField: s.widthField, user: 'bench' });
  }
  const ctx = { config, db, log: pino({ level: 'silent' }) };
  const app = createApp({ ...ctx, authenticate: await authenticate(ctx) });
  const server = listen(app, 0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const poly = (await db.query<{ id: number; code: string; village_name: string; lon: number; lat: number }>(
    `SELECT id, code, village_name, ST_X(ST_Transform(ST_PointOnSurface(geom), 4326)) AS lon, ST_Y(ST_Transform(ST_PointOnSurface(geom), 4326)) AS lat
     FROM survey_polygon WHERE village_name IS NOT NULL ORDER BY priority DESC LIMIT 1`,
  )).rows[0];
  const { user: analyst } = await createUser(db, { username: 'bench-analyst', role: 'analyst', password: 'bench-Password-1', mustChangePassword: false });
  const { token } = await createLink(db, config.regionCode, { id: analyst.id, username: analyst.username, displayName: '', role: 'analyst', villages: null }, { polygon_ids: [Number(poly.id)] });
  const { user: field } = await createUser(db, { username: 'bench-field', role: 'field', villages: [poly.village_name], password: 'bench-Password-1', mustChangePassword: false });
  const session = (await createSession(db, field.id)).token;

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  type Row = { ready: number[]; distance: number[]; bytes: number[] };
  const measure = async (url: string, o: { cookie?: boolean; cpu?: number; floor?: boolean }) => {
    const c = await browser.newContext({
      viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'zh-CN', timezoneId: 'Asia/Shanghai',
      geolocation: { latitude: Number(poly.lat) - 0.0008, longitude: Number(poly.lon) - 0.0009, accuracy: 10 }, permissions: ['geolocation'],
    });
    if (o.cookie) await c.addCookies([{ name: SESSION_COOKIE, value: session, url: base }]);
    const page = await c.newPage();
    const cdp = await c.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await cdp.send('Network.emulateNetworkConditions', SLOW_4G);
    if (o.cpu) await cdp.send('Emulation.setCPUThrottlingRate', { rate: o.cpu });
    let bytes = 0;
    cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => {
      bytes += e.encodedDataLength;
    });
    await page.goto(url, { waitUntil: o.floor ? 'load' : 'commit' });
    let ready: number;
    let distance: number;
    if (o.floor) {
      ready = distance = await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd);
    } else {
      await page.waitForFunction(() => performance.getEntriesByName('tuban-field-distance').length > 0, undefined, { timeout: 30_000 });
      [ready, distance] = await page.evaluate(() => ['tuban-field-ready', 'tuban-field-distance'].map((n) => performance.getEntriesByName(n)[0].startTime));
    }
    await c.close();
    return { ready, distance, bytes };
  };
  const runs = async (label: string, url: string, o: { cookie?: boolean; cpu?: number; floor?: boolean }) => {
    const r: Row = { ready: [], distance: [], bytes: [] };
    await measure(url, o); // warm the server (not the browser: every run is a fresh context)
    for (let i = 0; i < RUNS; i++) {
      const m = await measure(url, o);
      r.ready.push(m.ready);
      r.distance.push(m.distance);
      r.bytes.push(m.bytes);
    }
    log(`${label}: ready ${r.ready.map((x) => x.toFixed(0)).join(', ')} ms`);
    return { label, ...r };
  };

  const results = [
    await runs('floor: GET /api/health', `${base}/api/health`, { floor: true }),
    await runs('signed link /f/<token>', `${base}/f/${token}`, {}),
    await runs('logged in /p/<code>', `${base}/p/${encodeURIComponent(poly.code)}`, { cookie: true }),
    await runs('signed link, CPU 4× slower', `${base}/f/${token}`, { cpu: 4 }),
  ];
  await browser.close();
  server.closeAllConnections();
  server.close();
  await db.close();
  rmSync(tmp, { recursive: true, force: true });

  const floor = median(results[0].ready);
  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    '',
    `## Field page (issue 5) — ${date}`,
    '',
    `Command: \`npm run bench:field -- --runs ${RUNS}\` (embedded PGlite, tiny synthetic town, app in-process on port 0; ` +
      'Debian Chromium headless, 390×844, fresh context per run: cold cache, no service worker).',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, Node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')}.`,
    'Network: CDP `Network.emulateNetworkConditions` at Chrome DevTools\' "Slow 4G" preset (devtools-frontend ' +
      '`Slow4GConditions`): latency 562.5 ms, download 180 000 B/s (1.44 Mbit/s), upload 84 375 B/s (675 kbit/s).',
    '',
    '| file | bytes | gzip |',
    '|---|---:|---:|',
    ...files.map((f) => `| ${f.file}${f.lazy ? ' (lazy: loaded when a photo is taken)' : ''} | ${f.bytes} | ${f.gzip} |`),
    '',
    `JavaScript: ${kb(jsAll)} KB gzip in all (budget ${JS_BUDGET_KB} KB: ${jsAll / 1024 <= JS_BUDGET_KB ? 'PASS' : 'FAIL'}), ` +
      `${kb(jsInitial)} KB on first load; CSS ${kb(css)} KB. No map library: the map is SVG (web-field/src/map.ts).`,
    '',
    '| run | ready ms (median) | distance shown ms (median) | runs (ready) | bytes on the wire | ratio ready / floor |',
    '|---|---:|---:|---|---:|---:|',
    ...results.map((r) => `| ${r.label} | ${median(r.ready).toFixed(0)} | ${median(r.distance).toFixed(0)} | ${r.ready.map((x) => x.toFixed(0)).join(', ')} | ${median(r.bytes).toFixed(0)} | ${(median(r.ready) / floor).toFixed(2)} |`),
    '',
    `Target: polygon on screen ≤ ${READY_BUDGET_MS} ms on Slow 4G — signed link ${median(results[1].ready) <= READY_BUDGET_MS ? 'PASS' : 'FAIL'}, ` +
      `logged in ${median(results[2].ready) <= READY_BUDGET_MS ? 'PASS' : 'FAIL'}.`,
  ];
  const md = lines.join('\n');
  process.stdout.write(`${md}\n`);
  if (values['append-docs']) appendFileSync(path.join(ROOT, 'docs', 'BENCHMARKS.md'), `${md}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
