/**
 * Imagery where a person judges a polygon (issue 15 items 3–4, issue 16 item 12): Debian's chromium against the
 * real server in-process, the tiny sample town in PGlite with its synthetic before/after imagery (合成影像)
 * rendered and imported through the real importer.
 *   - desk, 1440×900: T flips the dates (the badge names the one shown, with its date), Shift+T opens the swipe
 *     (the divider is dragged and moves the clip; both maps move together; both dates shown), Esc closes it; a
 *     polygon opened is fitted no deeper than the imagery's last zoom; the detail panel shows both chips;
 *   - the QC screen shows the chips of the sampled polygons;
 *   - phone, 390×844: a field link shows the chips with their dates and draws the imagery under the polygon,
 *     and after one online visit shows the chips offline;
 *   - the village report printed to PDF holds the chips (pdfimages), rendered with pdftoppm.
 * Screenshots: test-artifacts/imagery-*.png — look at them.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Map as MapLibre } from 'maplibre-gl';
import { freshDb, type TestDb } from '../helpers/db';
import { importTinySample } from '../helpers/sample';
import { startApp, type TestApp, type UserClient } from '../helpers/api';
import { importTinyImagery } from '../helpers/imagery';
import type { ImageryReport } from '../../server/imagery/import';
import { REPORT_CHIPS_MAX } from '../../server/dashboard/report';
import { tileOf } from '../../server/imagery/mercator';
import { webDirFor } from '../helpers/web-build';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync'];
const SHOTS = path.resolve('test-artifacts');
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
const run = promisify(execFile);
function has(cmd: string): boolean {
  try {
    execFileSync(cmd, ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
/** poppler-utils reads the printed report back; CI installs it (.ci/run), and there it must not be skipped */
const POPPLER = (has('pdftoppm') && has('pdftotext') && has('pdfimages')) || !!process.env.CI;
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

/** what the web app exposes for tests (web/src/map/view.ts), read without redeclaring the global other tests declare */
type Tuban = { map: MapLibre; compare?: MapLibre; firstIdle?: Promise<unknown> };
type W = { __tuban?: Tuban };

describe.runIf(existsSync(CHROMIUM))('imagery at the desk, on the phone and in the report', () => {
  let tmp: string;
  let db: TestDb;
  let app: TestApp;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let imagery: Record<'before' | 'after', ImageryReport>;
  let analyst: UserClient;
  const pageErrors: string[] = [];
  const shot = (name: string, p = page) => p.screenshot({ path: path.join(SHOTS, `imagery-${name}.png`) });

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tuban-e2e-imagery-'));
    mkdirSync(SHOTS, { recursive: true });
    const webDir = await webDirFor(tmp);
    db = await freshDb('pglite');
    app = await startApp(db, { env: { TUBAN_WEB_DIR: webDir, TUBAN_DATA_DIR: path.join(tmp, 'data') } });
    await importTinySample(db, app.config, path.join(tmp, 'sample'));
    imagery = await importTinyImagery(db, app.config, path.join(tmp, 'sample'));
    analyst = await app.as('analyst');
    // the imagery store re-reads its layers every 2 s: the map config names both once it has
    for (let i = 0; i < 100; i++) {
      if (Object.values((await analyst.get('/api/config/map')).body.imagery).filter(Boolean).length === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    ctx = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const [name, value] = analyst.cookie!.split(';')[0].split('=');
    await ctx.addCookies([{ name, value, url: app.url }]);
    // no network: anything not on our server is refused
    await ctx.route((url) => !url.href.startsWith(app.url), (route) => route.abort());
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const badge = () => page.textContent('.imagery-badge');
  /** a frame drawn with every tile in: a repaint forced, then MapLibre's idle (which never comes twice for nothing) */
  const idle = (which: 'map' | 'compare' = 'map') => page.evaluate((w) => new Promise<void>((r) => {
    const m = (window as unknown as W).__tuban![w]!;
    m.once('idle', () => r());
    m.triggerRepaint();
  }), which);
  const opacity = () => page.evaluate(() => (window as unknown as W).__tuban!.map!.getPaintProperty('imagery-after', 'raster-opacity'));

  it('T flips between the dates, and the badge on the map names the one shown', async () => {
    await page.goto(`${app.url}/`);
    await page.waitForSelector('.detail-body:not(.loading) h3');
    await page.waitForFunction(() => (window as unknown as W).__tuban?.firstIdle).then(() => page.evaluate(() => (window as unknown as W).__tuban!.firstIdle));
    expect(await badge()).toBe(`后时相 ${imagery.after.date}`);
    expect(await opacity()).toBe(1);
    await idle();
    await shot('1-after');
    await page.keyboard.press('t');
    await poll(badge).toBe(`前时相 ${imagery.before.date}`);
    expect(await opacity()).toBe(0);
    await idle();
    await shot('2-before');
    await page.keyboard.press('t');
    await poll(badge).toContain('后时相');
  });

  it('Shift+T opens the swipe: a divider to drag, both dates, the two maps moving together; Esc closes it', async () => {
    await page.keyboard.press('Shift+T');
    await page.waitForSelector('.compare .compare-divider');
    await page.waitForFunction(() => (window as unknown as W).__tuban?.compare?.loaded());
    expect(await page.textContent('.compare-label.before')).toBe(`前时相 ${imagery.before.date}`);
    expect(await page.textContent('.compare-label.after')).toBe(`后时相 ${imagery.after.date}`);
    // the before map is cut at the divider: left half before, right half after
    const box = (await page.locator('.compare').boundingBox())!;
    const clipAt = async () => page.evaluate(() => (document.querySelector('.compare-map') as HTMLElement).style.clipPath);
    expect(await clipAt()).toBe(`inset(0px ${Math.round(box.width - Math.round(box.width / 2))}px 0px 0px)`);
    // dragged to 30 % of the width
    const handle = (await page.locator('.compare-handle').boundingBox())!;
    await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.3, handle.y + handle.height / 2, { steps: 8 });
    await page.mouse.up();
    await poll(async () => Number(await page.getAttribute('.compare-divider', 'aria-valuenow'))).toBe(30);
    expect(await clipAt()).toBe(`inset(0px ${Math.round(box.width - Math.round(box.width * 0.3))}px 0px 0px)`);
    // the divider is a slider for the keyboard too
    await page.focus('.compare-divider');
    await page.keyboard.press('ArrowRight');
    expect(Number(await page.getAttribute('.compare-divider', 'aria-valuenow'))).toBe(35);
    // synced: moving the main map moves the before map
    await page.evaluate(() => (window as unknown as W).__tuban!.map!.jumpTo({ zoom: (window as unknown as W).__tuban!.map!.getZoom() - 0.5 }));
    const [a, b] = await page.evaluate(() => [(window as unknown as W).__tuban!.map!, (window as unknown as W).__tuban!.compare!].map((m) => [m.getCenter().lng, m.getCenter().lat, m.getZoom()]));
    expect(b[0]).toBeCloseTo(a[0], 9);
    expect(b[1]).toBeCloseTo(a[1], 9);
    expect(b[2]).toBeCloseTo(a[2], 9);
    await page.evaluate(() => (window as unknown as W).__tuban!.map!.jumpTo({ zoom: (window as unknown as W).__tuban!.map!.getZoom() + 0.5 }));
    await page.locator('.compare-divider').blur();
    await Promise.all([idle('compare'), idle('map')]);
    await shot('3-swipe');
    await page.keyboard.press('Escape');
    await page.waitForSelector('.compare', { state: 'detached' });
    expect(await page.evaluate(() => !!(window as unknown as W).__tuban!.compare)).toBe(false);
    await poll(badge).toContain('后时相');
    // Shift+T opens it again, and Shift+T closes it
    await page.keyboard.press('Shift+T');
    await page.waitForSelector('.compare');
    await page.keyboard.press('Shift+T');
    await page.waitForSelector('.compare', { state: 'detached' });
  });

  it('the keys help lists T and Shift+T', async () => {
    await page.keyboard.press('?');
    await page.waitForSelector('dialog.help[open]');
    const text = await page.textContent('dialog.help');
    expect(text).toContain('切换前后时相影像');
    expect(text).toContain('卷帘对比');
    await page.keyboard.press('Escape');
  });

  it('a polygon opened is fitted as deep as it fits, never past the imagery\'s zoom; the detail shows both chips with their dates', async () => {
    // from far out, so the move is not skipped as "already in view"
    await page.evaluate(() => (window as unknown as W).__tuban!.map.jumpTo({ zoom: 12 }));
    await page.keyboard.press('j');
    await page.waitForSelector('.detail-body:not(.loading) .imgchips figure[data-epoch=after] img');
    await poll(() => page.$$eval('.detail-body .imgchips img', (imgs) => imgs.filter((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth === 320).length)).toBe(2);
    expect(await page.$$eval('.detail-body .imgchips figcaption', (fs) => fs.map((f) => f.textContent))).toEqual([`前时相 ${imagery.before.date}`, `后时相 ${imagery.after.date}`]);
    const code = (await page.textContent('.detail-head h2'))!.split(' ')[0];
    const id = (await analyst.get(`/api/polygons/by-code/${code}`)).body.id as number;
    const b = (await analyst.get(`/api/polygons/${id}`)).body.bbox as [number, number, number, number];
    await poll(() => page.evaluate(() => !(window as unknown as W).__tuban!.map.isMoving())).toBe(true);
    await idle();
    const { zoom, fit } = await page.evaluate((b) => {
      const m = (window as unknown as W).__tuban!.map;
      return { zoom: m.getZoom(), fit: m.cameraForBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 80, maxZoom: 24 })!.zoom! };
    }, b);
    expect(zoom).toBeCloseTo(Math.min(fit, imagery.after.zooms.max), 2);
    // the polygon opened is drawn selected (its state set while the map's tiles were still loading)
    expect(await page.evaluate((id) => (window as unknown as W).__tuban!.map.getFeatureState({ source: 'survey', sourceLayer: 'survey', id }).selected, id)).toBe(true);
    await shot('4-detail-chips');
  });

  it('the QC screen shows the chips of each sampled polygon', async () => {
    const list = (await analyst.get('/api/polygons', { query: { status: 'pending', sort: 'code', limit: 4 } })).body.items as { id: number; version: number }[];
    const r = await analyst.post('/api/decisions/bulk', { action: 'verify', request_id: randomUUID(), items: list.map(({ id, version }) => ({ id, version })) });
    expect(r.status, r.text).toBe(200);
    const reviewer = await app.as('reviewer');
    const sample = await reviewer.post('/api/qc/samples', { per_village: 2, seed: 'imagery' });
    expect(sample.status, sample.text).toBe(201);
    await page.goto(`${app.url}/#/qc?sample=${sample.body.id}`);
    await page.waitForSelector('#qc-items tbody tr');
    const rows = await page.locator('#qc-items tbody tr').count();
    await poll(() => page.$$eval('#qc-items .imgchips img', (imgs) => imgs.filter((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth === 320).length)).toBe(2 * rows);
    await shot('5-qc');
  });

  it('on a phone, a field link shows the chips and draws the imagery under the polygon; offline after one visit the chips stay', async () => {
    const items = (await analyst.get('/api/polygons', { query: { status: 'pending', sort: 'code', limit: 2 } })).body.items as { id: number; code: string }[];
    const link = await analyst.post('/api/field-links', { polygon_ids: items.map((x) => x.id), label: '影像测试' });
    expect(link.status, link.text).toBe(201);
    const phone = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 1, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    await phone.route((url) => !url.href.startsWith(app.url), (route) => route.abort());
    const p = await phone.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(`${app.url}/f/${link.body.token}#${encodeURIComponent(items[0].code)}`);
    await p.waitForSelector('body[data-ready=polygon]');
    await p.waitForSelector('.imgchips figure[data-epoch=after][data-loaded]');
    await p.waitForSelector('.imgchips figure[data-epoch=before][data-loaded]');
    expect(await p.$$eval('.imgchips figcaption', (fs) => fs.map((f) => f.textContent))).toEqual([`前时相 ${imagery.before.date}`, `后时相 ${imagery.after.date}`]);
    // the chips fit the phone's width, side by side
    const boxes = await p.$$eval('.imgchips img', (imgs) => imgs.map((i) => i.getBoundingClientRect()).map((r) => [r.left, r.right, r.top]));
    expect(boxes[0][1]).toBeLessThanOrEqual(boxes[1][0]);
    expect(boxes[1][1]).toBeLessThanOrEqual(PHONE.width);
    expect(boxes[0][2]).toBe(boxes[1][2]);
    // the map: the after imagery (fetched with the link) under the polygon, its date in a corner
    await poll(() => p.$$eval('.map .tiles.imagery img', (imgs) => imgs.filter((i) => (i as HTMLImageElement).src.startsWith('blob:') && (i as HTMLImageElement).naturalWidth === 256).length)).toBeGreaterThan(0);
    expect(await p.textContent('.map .imagery-date')).toBe(`后时相 ${imagery.after.date}`);
    await shot('6-phone', p);
    // the link sees the imagery around its polygons, not the whole town's
    const [lon, lat] = (await analyst.get(`/api/field/polygons/${items[0].id}`)).body.polygon.target.coordinates as [number, number];
    const z = imagery.after.zooms.max;
    const tileAt = (lo: number, la: number) => fetch(`${app.url}/tiles/imagery/after/${z}/${tileOf(lo, la, z).join('/')}.webp?v=${imagery.after.import_id}`,
      { headers: { authorization: `FieldLink ${link.body.token}` } });
    expect((await tileAt(lon, lat)).status).toBe(200);
    const far = await tileAt(lon + 0.05, lat);
    expect(far.status).toBe(403);
    expect((await far.json()).error.code).toBe('field_link_scope');
    await p.locator('.chips-card').scrollIntoViewIfNeeded();
    await shot('7-phone-chips', p);

    await p.waitForSelector('body[data-offline=ready]', { timeout: 30_000 });
    await phone.setOffline(true);
    await p.reload();
    await p.waitForSelector('body[data-ready=polygon]');
    await p.waitForSelector('.imgchips figure[data-epoch=after][data-loaded]');
    await p.waitForSelector('.imgchips figure[data-epoch=before][data-loaded]');
    await p.locator('.chips-card').scrollIntoViewIfNeeded();
    await shot('8-phone-offline', p);
    await phone.close();
  });

  it.runIf(POPPLER)('the printed village report holds the chips of its polygons, with their dates', async () => {
    const reviewer = await app.as('reviewer');
    const village = (await db.query<{ v: string }>(
      `SELECT village_name AS v FROM survey_polygon WHERE village_name IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`)).rows[0].v;
    const n = Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM survey_polygon WHERE village_name = $1', [village])).rows[0].n);
    const c = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const [name, value] = reviewer.cookie!.split(';')[0].split('=');
    await c.addCookies([{ name, value, url: app.url }]);
    await c.route((url) => !url.href.startsWith(app.url), (route) => route.abort());
    const p = await c.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    const res = await p.goto(`${app.url}/reports/village/${encodeURIComponent(village)}`);
    expect(res!.status()).toBe(200);
    const shown = Math.min(n, REPORT_CHIPS_MAX);
    // every chip loaded (the CSP lets the page load images of its own server, with its session)
    expect(await p.$$eval('.chip-pair img', (imgs) => imgs.filter((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth === 320).length)).toBe(2 * shown);
    const pdf = path.join(tmp, 'report.pdf');
    await p.pdf({ path: pdf, format: 'A4', preferCSSPageSize: true, printBackground: true });
    await c.close();
    const text = (await run('pdftotext', ['-layout', pdf, '-'], { maxBuffer: 1 << 26 })).stdout;
    expect(text).toContain('四、影像对比');
    expect(text).toContain(`前时相 ${imagery.before.date}`);
    expect(text).toContain(`后时相 ${imagery.after.date}`);
    // the chips are in the PDF as images (pdfimages lists one line per image after two header lines)
    const images = (await run('pdfimages', ['-list', pdf])).stdout.trim().split('\n').slice(2).filter((l) => /\bimage\b/.test(l));
    expect(images.length).toBeGreaterThanOrEqual(2 * shown);
    for (const f of readdirSync(SHOTS).filter((f) => f.startsWith('imagery-report-'))) rmSync(path.join(SHOTS, f));
    await run('pdftoppm', ['-png', '-r', '110', pdf, path.join(SHOTS, 'imagery-report')]);
  });

  it('raised no page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
