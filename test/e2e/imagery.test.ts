/**
 * Imagery at the desk (issue 15 item 3): Debian's chromium at 1440×900 against the real server in-process, the
 * tiny sample town in PGlite. T flips the dates (the badge names the one shown), Shift+T opens the swipe (the
 * divider is dragged and moves the clip; both maps move together; both dates are shown), Esc closes it, and a
 * polygon opened is fitted no deeper than the imagery's last zoom. Screenshots: test-artifacts/imagery-*.png.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Map as MapLibre } from 'maplibre-gl';
import { freshDb, type TestDb } from '../helpers/db';
import { importTinySample } from '../helpers/sample';
import { startApp, type TestApp } from '../helpers/api';
import { buildWeb, isWebBuildFresh, WEB_OUT } from '../../scripts/build-web-if-needed';
import { buildField, FIELD_OUT, isFieldBuildFresh } from '../../scripts/build-field-if-needed';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync'];
const SHOTS = path.resolve('test-artifacts');
const DESKTOP = { width: 1440, height: 900 };
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

declare global {
  interface Window {
    __tuban?: { map?: MapLibre; compare?: MapLibre; firstIdle?: Promise<unknown> };
  }
}

/**
 * A stand-in imagery tile: fields in a 32-px grid (greens for the before date); the after date adds grey roofs
 * in some cells, so the two sides of the swipe look different.
 */
async function tile(epoch: string, x: number, y: number): Promise<Buffer> {
  const n = 256;
  const raw = Buffer.alloc(n * n * 3);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const cx = (x * 8 + (i >> 5)) | 0;
      const cy = (y * 8 + (j >> 5)) | 0;
      const h = (cx * 7 + cy * 13) % 5;
      let c = [[96, 140, 70], [120, 160, 84], [150, 150, 90], [84, 120, 62], [134, 170, 100]][h];
      const edge = (i & 31) < 2 || (j & 31) < 2;
      if (edge) c = [186, 176, 150];
      else if (epoch === 'after' && (cx * 3 + cy * 5) % 4 === 0 && (i & 31) > 6 && (i & 31) < 26 && (j & 31) > 8 && (j & 31) < 24) c = [205, 205, 210];
      raw.set(c, (j * n + i) * 3);
    }
  }
  return sharp(raw, { raw: { width: n, height: n, channels: 3 } }).png().toBuffer();
}

describe.runIf(existsSync(CHROMIUM))('imagery at the desk', () => {
  let tmp: string;
  let db: TestDb;
  let app: TestApp;
  let tiles: Server;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `imagery-${name}.png`) });

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tuban-e2e-imagery-'));
    mkdirSync(SHOTS, { recursive: true });
    let webDir = WEB_OUT;
    if (!isWebBuildFresh(WEB_OUT) || !isFieldBuildFresh(FIELD_OUT)) {
      webDir = path.join(tmp, 'web');
      await buildWeb(webDir, { quiet: true });
      await buildField(path.join(tmp, 'field'), { quiet: true });
    }
    tiles = createServer((req, res) => {
      const m = /^\/(before|after)\/(\d+)\/(\d+)\/(\d+)\.png$/.exec(req.url!);
      if (!m) return void res.writeHead(404).end();
      void tile(m[1], Number(m[3]), Number(m[4])).then((b) => {
        res.writeHead(200, { 'content-type': 'image/png', 'access-control-allow-origin': '*', 'cache-control': 'max-age=3600' });
        res.end(b);
      });
    });
    await new Promise<void>((r) => tiles.listen(0, '127.0.0.1', r));
    const port = (tiles.address() as AddressInfo).port;
    db = await freshDb('pglite');
    app = await startApp(db, {
      env: {
        TUBAN_WEB_DIR: webDir,
        TUBAN_DATA_DIR: path.join(tmp, 'data'),
        TUBAN_IMAGERY_BEFORE_URL: `http://127.0.0.1:${port}/before/{z}/{x}/{y}.png`,
        TUBAN_IMAGERY_AFTER_URL: `http://127.0.0.1:${port}/after/{z}/{x}/{y}.png`,
      },
    });
    await importTinySample(db, app.config, path.join(tmp, 'sample'));
    const analyst = await app.as('analyst');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    const ctx = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const [name, value] = analyst.cookie!.split(';')[0].split('=');
    await ctx.addCookies([{ name, value, url: app.url }]);
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    if (tiles) {
      tiles.closeAllConnections();
      await new Promise<void>((r) => tiles.close(() => r()));
    }
    await db?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const badge = () => page.textContent('.imagery-badge');
  /** a frame drawn with every tile in: a repaint forced, then MapLibre's idle (which never comes twice for nothing) */
  const idle = (which: 'map' | 'compare' = 'map') => page.evaluate((w) => new Promise<void>((r) => {
    const m = window.__tuban![w]!;
    m.once('idle', () => r());
    m.triggerRepaint();
  }), which);
  const opacity = () => page.evaluate(() => window.__tuban!.map!.getPaintProperty('imagery-after', 'raster-opacity'));

  it('T flips between the dates, and the badge on the map names the one shown', async () => {
    await page.goto(`${app.url}/`);
    await page.waitForSelector('.detail-body:not(.loading) h3');
    await page.waitForFunction(() => window.__tuban?.firstIdle).then(() => page.evaluate(() => window.__tuban!.firstIdle));
    expect(await badge()).toContain('后时相');
    expect(await opacity()).toBe(1);
    await idle();
    await shot('1-after');
    await page.keyboard.press('t');
    await poll(badge).toContain('前时相');
    expect(await opacity()).toBe(0);
    await idle();
    await shot('2-before');
    await page.keyboard.press('t');
    await poll(badge).toContain('后时相');
  });

  it('Shift+T opens the swipe: a divider to drag, both dates, the two maps moving together; Esc closes it', async () => {
    await page.keyboard.press('Shift+T');
    await page.waitForSelector('.compare .compare-divider');
    await page.waitForFunction(() => window.__tuban?.compare?.loaded());
    expect(await page.textContent('.compare-label.before')).toContain('前时相');
    expect(await page.textContent('.compare-label.after')).toContain('后时相');
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
    await page.evaluate(() => window.__tuban!.map!.jumpTo({ zoom: window.__tuban!.map!.getZoom() - 0.5 }));
    const [a, b] = await page.evaluate(() => [window.__tuban!.map!, window.__tuban!.compare!].map((m) => [m.getCenter().lng, m.getCenter().lat, m.getZoom()]));
    expect(b[0]).toBeCloseTo(a[0], 9);
    expect(b[1]).toBeCloseTo(a[1], 9);
    expect(b[2]).toBeCloseTo(a[2], 9);
    await page.evaluate(() => window.__tuban!.map!.jumpTo({ zoom: window.__tuban!.map!.getZoom() + 0.5 }));
    await page.locator('.compare-divider').blur();
    await Promise.all([idle('compare'), idle('map')]);
    await shot('3-swipe');
    await page.keyboard.press('Escape');
    await page.waitForSelector('.compare', { state: 'detached' });
    expect(await page.evaluate(() => !!window.__tuban!.compare)).toBe(false);
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

  it('raised no page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
