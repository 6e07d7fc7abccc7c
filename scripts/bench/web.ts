/**
 * Web app benchmark (issue 4): weight of the built app, and time to the first complete map render.
 *
 *   npm run bench:web                                  sizes only (builds dist/web when stale)
 *   npm run bench:web -- --url http://127.0.0.1:3000 --user demo-analyst --password demo-analyst-2020 \
 *       [--runs 5] [--append-docs] [--dist DIR] [--trace]
 *
 * --dist DIR   weigh (and build when stale) DIR instead of dist/web; serve it with TUBAN_WEB_DIR=DIR, e.g. to
 *              compare two builds side by side on two ports without touching the shared dist/web.
 * --trace      print each app run's waterfall: every resource the page fetched (ms since navigation start),
 *              the map's milestones (created, camera, style loaded, first idle) and when each vector source's
 *              last tile before the first idle arrived (tiles are fetched by the worker, so they are not in
 *              the page's resource timing).
 *
 * Sizes: gzip of every built chunk. "app" is everything but maplibre-gl (its JS chunk, CSS and worker, split
 * off with manualChunks in vite.config.ts); target ≤ 150 KB gzip.
 *
 * Render (with --url: a running tuban server, e.g. one on the district-scale database):
 *   app        a fresh headless Chromium context per run (cold cache), log in through the API, open the
 *              workspace at its default view (the survey's extent) and time navigation start → the map's
 *              first 'idle' (every tile in view loaded and drawn), which must hold survey features.
 *              Target ≤ 2000 ms.
 *   reference  bare MapLibre (the same maplibre-gl, served from node_modules) on the same server and camera
 *              with only the survey vector layer: what any MapLibre page pays for those tiles. The ratio
 *              app/reference is what our page adds (login check, config, queue, counts, reference layers).
 * Chromium: CHROMIUM_PATH or /usr/bin/chromium, with the flags of the browser tests (software WebGL).
 */
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { buildWeb, isWebBuildFresh, WEB_OUT as DEFAULT_OUT } from '../build-web-if-needed';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    user: { type: 'string', default: 'demo-analyst' },
    password: { type: 'string', default: 'demo-analyst-2020' },
    runs: { type: 'string', default: '5' },
    'append-docs': { type: 'boolean', default: false },
    build: { type: 'boolean', default: false },
    // a build directory other than dist/web (built there when stale; serve it with TUBAN_WEB_DIR)
    dist: { type: 'string' },
    // print each app run's waterfall: resource timings and the map's own milestones
    trace: { type: 'boolean', default: false },
  },
});
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WEB_OUT = values.dist ? path.resolve(values.dist) : DEFAULT_OUT;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync'];
const APP_BUDGET_KB = 150;
const RENDER_BUDGET_MS = 2000;
const log = (s: string) => process.stderr.write(`${s}\n`);
const kb = (n: number) => (n / 1024).toFixed(1);
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Chunk {
  file: string;
  bytes: number;
  gzip: number;
  group: 'app' | 'app (lazy)' | 'maplibre';
}

function sizes(): Chunk[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(js|mjs|css|html|svg)$/.test(e.name)) files.push(p);
    }
  };
  walk(WEB_OUT);
  return files.map((p) => {
    const buf = readFileSync(p);
    const rel = path.relative(WEB_OUT, p);
    const base = path.basename(p);
    const group: Chunk['group'] = /^maplibre/.test(base) ? 'maplibre' : /^pmtiles/.test(base) ? 'app (lazy)' : 'app';
    return { file: rel, bytes: statSync(p).size, gzip: gzipSync(buf, { level: 9 }).length, group };
  }).sort((a, b) => a.group.localeCompare(b.group) || b.gzip - a.gzip);
}

async function login(base: string): Promise<string> {
  const r = await fetch(new URL('/api/auth/login', base), {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: values.user, password: values.password, token: true }),
  });
  if (!r.ok) throw new Error(`login as ${values.user}: HTTP ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

const REF_HTML = (center: [number, number], zoom: number) => `<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/__bench/maplibre-gl.css"><style>html,body,#map{margin:0;height:100%}</style></head>
<body><div id="map"></div><script type="module">
import { Map } from '/__bench/maplibre-gl.mjs';
const map = new Map({ container: 'map', center: ${JSON.stringify(center)}, zoom: ${zoom}, fadeDuration: 0, attributionControl: false,
  style: { version: 8, sources: { survey: { type: 'vector', tiles: [location.origin + '/tiles/survey/{z}/{x}/{y}.mvt'], minzoom: 10, maxzoom: 16 } },
    layers: [{ id: 'bg', type: 'background', paint: { 'background-color': '#f3f1eb' } },
             { id: 'f', type: 'fill', source: 'survey', 'source-layer': 'survey', paint: { 'fill-color': '#E69F00', 'fill-opacity': 0.4 } },
             { id: 'l', type: 'line', source: 'survey', 'source-layer': 'survey', paint: { 'line-color': '#b47c00' } }] } });
window.__ref = new Promise((resolve) => map.once('idle', () => resolve({ firstIdleAt: performance.now(),
  features: map.querySourceFeatures('survey', { sourceLayer: 'survey' }).length })));
</script></body></html>`;

/** In the page: every resource (start → end, ms since navigation start, KB) and the map's milestones. */
function waterfall(): string {
  const w = window as unknown as { __tuban?: { metrics?: Record<string, number> } };
  const rows = (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
    .map((e) => ({ at: e.startTime, line: `${e.startTime.toFixed(0).padStart(6)} → ${e.responseEnd.toFixed(0).padStart(6)}  ${(e.transferSize / 1024).toFixed(1).padStart(7)} KB  ${e.name.replace(location.origin, '')}` }));
  for (const [k, v] of Object.entries(w.__tuban?.metrics ?? {})) if (typeof v === 'number' && k.endsWith('At')) rows.push({ at: v, line: `${v.toFixed(0).padStart(6)}   map: ${k}` });
  const tilesAt = (w.__tuban?.metrics as { tilesAt?: Record<string, number> } | undefined)?.tilesAt ?? {};
  for (const [k, v] of Object.entries(tilesAt)) rows.push({ at: v, line: `${v.toFixed(0).padStart(6)}   map: last ${k} tile in` });
  const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
  if (nav) rows.push({ at: nav.responseEnd, line: `${nav.responseEnd.toFixed(0).padStart(6)}   document received` }, { at: nav.domContentLoadedEventEnd, line: `${nav.domContentLoadedEventEnd.toFixed(0).padStart(6)}   DOMContentLoaded` });
  return rows.sort((a, b) => a.at - b.at).map((r) => `    ${r.line}`).join('\n');
}

async function renderRuns(browser: Browser, base: string, runs: number) {
  const token = await login(base);
  const host = new URL(base);
  const cookie = { name: 'tuban_session', value: token, domain: host.hostname, path: '/', httpOnly: true, sameSite: 'Lax' as const };
  const app: number[] = [];
  const ref: number[] = [];
  let camera: { center: [number, number]; zoom: number } | undefined;
  let features = 0;
  const mlDir = path.join(ROOT, 'node_modules', 'maplibre-gl', 'dist');
  for (let i = 0; i < runs; i++) {
    // our page, cold cache
    {
      const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      await ctx.addCookies([cookie]);
      const page = await ctx.newPage();
      await page.goto(new URL('/', base).href);
      await page.waitForFunction(() => (window as unknown as { __tuban?: { firstIdle?: unknown } }).__tuban?.firstIdle, null, { timeout: 60_000 });
      const m = await page.evaluate(async () => {
        const t = (window as unknown as { __tuban: { firstIdle: Promise<{ firstIdleAt: number; surveyFeaturesAtFirstIdle: number }>; map: { getCenter(): { lng: number; lat: number }; getZoom(): number } } }).__tuban;
        const r = await t.firstIdle;
        const c = t.map.getCenter();
        return { ...r, center: [c.lng, c.lat] as [number, number], zoom: t.map.getZoom() };
      });
      if (!m.surveyFeaturesAtFirstIdle) throw new Error('the first idle map held no survey features: is --url a server with survey data?');
      if (values.trace) log(await page.evaluate(waterfall));
      app.push(m.firstIdleAt);
      camera ??= { center: m.center, zoom: m.zoom };
      features = m.surveyFeaturesAtFirstIdle;
      await ctx.close();
    }
    // bare MapLibre, same camera, cold cache
    {
      const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      await ctx.addCookies([cookie]);
      await ctx.route('**/__bench/**', (route) => {
        const name = new URL(route.request().url()).pathname.replace('/__bench/', '');
        if (name === 'ref.html') return route.fulfill({ contentType: 'text/html', body: REF_HTML(camera!.center, camera!.zoom) });
        const file = path.join(mlDir, path.basename(name.split('?')[0]));
        return route.fulfill({ contentType: name.endsWith('.css') ? 'text/css' : 'text/javascript', body: readFileSync(file) });
      });
      const page = await ctx.newPage();
      await page.goto(new URL('/__bench/ref.html', base).href);
      const r = await page.evaluate(() => (window as unknown as { __ref: Promise<{ firstIdleAt: number; features: number }> }).__ref);
      ref.push(r.firstIdleAt);
      await ctx.close();
    }
    log(`  run ${i + 1}: app ${app[i].toFixed(0)} ms, reference ${ref[i].toFixed(0)} ms`);
  }
  return { app, ref, camera: camera!, features };
}

async function main() {
  if (values.build || !isWebBuildFresh(WEB_OUT)) {
    log('building dist/web…');
    await buildWeb(WEB_OUT, { quiet: true });
  }
  const chunks = sizes();
  const sum = (g: Chunk['group'] | Chunk['group'][]) =>
    chunks.filter((c) => ([] as string[]).concat(g).includes(c.group)).reduce((a, c) => a + c.gzip, 0);
  const appKb = sum(['app', 'app (lazy)']) / 1024;
  console.log('\nBuilt web app (dist/web), gzip -9:');
  for (const c of chunks) console.log(`  ${c.group.padEnd(11)} ${c.file.padEnd(44)} ${kb(c.bytes).padStart(8)} KB  gzip ${kb(c.gzip).padStart(7)} KB`);
  console.log(`  app code (all but maplibre-gl): ${appKb.toFixed(1)} KB gzip (initial ${kb(sum('app'))} KB + lazy ${kb(sum('app (lazy)'))} KB)` +
    ` — budget ${APP_BUDGET_KB} KB: ${appKb <= APP_BUDGET_KB ? 'OK' : 'OVER'}`);
  console.log(`  maplibre-gl (js + css + worker): ${kb(sum('maplibre'))} KB gzip`);

  let render: Awaited<ReturnType<typeof renderRuns>> | undefined;
  if (values.url) {
    const runs = Number(values.runs);
    log(`\nfirst map render against ${values.url}, ${runs} runs (cold cache each)…`);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      render = await renderRuns(browser, values.url, runs);
    } finally {
      await browser.close();
    }
    const a = median(render.app);
    const r = median(render.ref);
    console.log(`\nFirst map render (navigation start → first 'idle' with survey tiles), median of ${runs}:`);
    console.log(`  camera: ${render.camera.center.map((x) => x.toFixed(4)).join(',')} z${render.camera.zoom.toFixed(2)}, ${render.features} survey features in view`);
    console.log(`  app ${a.toFixed(0)} ms (budget ${RENDER_BUDGET_MS} ms: ${a <= RENDER_BUDGET_MS ? 'OK' : 'OVER'}); reference (bare MapLibre, survey only) ${r.toFixed(0)} ms; ratio ${(a / r).toFixed(2)}`);
  }

  if (values['append-docs']) {
    const date = new Date().toISOString().slice(0, 10);
    const lines = [
      '',
      `## Web app (issue 4) — ${date}, ${os.cpus().length} cores, Node ${process.version}, load average ${os.loadavg()[0].toFixed(1)} at the end`,
      '',
      '`npm run bench:web' + (values.url ? ` -- --url ${values.url} --runs ${values.runs}` : '') + '`',
      '',
      '| chunk | group | gzip KB |',
      '|---|---|---:|',
      ...chunks.filter((c) => /\.(js|mjs|css)$/.test(c.file)).map((c) => `| ${c.file.replace(/-[A-Za-z0-9_-]{8}\./, '-*.')} | ${c.group} | ${kb(c.gzip)} |`),
      '',
      `App code without maplibre-gl: **${appKb.toFixed(1)} KB gzip** (budget ${APP_BUDGET_KB} KB); maplibre-gl ${kb(sum('maplibre'))} KB.`,
      ...(render
        ? [
          '',
          `First map render in headless Chromium (software WebGL), navigation start → first \`idle\` with survey tiles, cold cache, median of ${render.app.length}: ` +
          `**${median(render.app).toFixed(0)} ms** (budget ${RENDER_BUDGET_MS} ms); reference, bare MapLibre with only the survey layer at the same camera ` +
          `(z${render.camera.zoom.toFixed(1)}, ${render.features} survey features): ${median(render.ref).toFixed(0)} ms; ratio **${(median(render.app) / median(render.ref)).toFixed(2)}**.`,
        ]
        : []),
      '',
    ];
    appendFileSync(path.join(ROOT, 'docs', 'BENCHMARKS.md'), lines.join('\n'));
    log('appended to docs/BENCHMARKS.md');
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
