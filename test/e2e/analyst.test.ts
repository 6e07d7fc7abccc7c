/**
 * The analyst workspace in a real browser (issue 4): Debian's chromium driven by playwright-core, against the
 * real server in-process on port 0 with an embedded PGlite holding the tiny synthetic sample town. No network.
 *
 * Runs only where the browser exists (CHROMIUM_PATH, default /usr/bin/chromium). The web app is the current
 * dist/web when it is up to date, else it is built into a temporary directory. Screenshots go to
 * test-artifacts/ (gitignored): look at them.
 */
import { rgbPng } from '../helpers/png';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Map as MapLibre } from 'maplibre-gl';
import { freshDb, type TestDb } from '../helpers/db';
import { importTinySample } from '../helpers/sample';
import { startApp, type TestApp } from '../helpers/api';
import { webDirFor } from '../helpers/web-build';
import { createUser } from '../../server/auth/users';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync'];
const SHOTS = path.resolve('test-artifacts');
const DESKTOP = { width: 1440, height: 900 };
const PASSWORD = 'e2e-Password-2021';

/** expect.poll waits 1 s by default: too little on a busy 2-core machine */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

type Status = 'pending' | 'field_check' | 'verified' | 'linked' | 'dismissed';

/** what the web app exposes for tests and benchmarks (web/src/map/view.ts) */
declare global {
  interface Window {
    __tuban?: { map?: MapLibre; firstIdle?: Promise<{ firstIdleAt?: number; surveyFeaturesAtFirstIdle?: number }> };
  }
}

/** The browser session's cookies as a header, to check through the API what the page did. */
const cookieHeader = (cs: { name: string; value: string }[]) => cs.map((c) => `${c.name}=${c.value}`).join('; ');

describe.runIf(existsSync(CHROMIUM))('analyst workspace in the browser', () => {
  let tmp: string;
  let db: TestDb;
  let app: TestApp;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tuban-e2e-'));
    mkdirSync(SHOTS, { recursive: true });
    const webDir = await webDirFor(tmp);
    db = await freshDb('pglite');
    app = await startApp(db, { env: { TUBAN_WEB_DIR: webDir } });
    await importTinySample(db, app.config, path.join(tmp, 'sample'));
    for (const [username, displayName, must] of [['ana', '安分析', false], ['bob', '薄同事', false], ['carol', '新同事', true]] as const) {
      await createUser(db, { username, displayName, role: 'analyst', password: PASSWORD, mustChangePassword: must });
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    ctx = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // no network: anything not on our server is refused (and would fail the test below)
    const outside: string[] = [];
    await ctx.route((url) => !url.href.startsWith(app.url), (route) => {
      outside.push(route.request().url());
      return route.abort();
    });
    (globalThis as { __outside?: string[] }).__outside = outside;
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const count = async (p: Page, s: Status) => Number((await p.textContent(`[data-count=${s}]`))?.replace(/\D/g, '') ?? NaN);
  const selectedId = async (p: Page) => Number(await p.getAttribute('.list li.row[aria-selected=true]', 'data-id'));
  const waitMapIdle = (p: Page) => p.waitForFunction(() => window.__tuban?.firstIdle).then(() => p.evaluate(() => window.__tuban!.firstIdle));
  /** status of a polygon in the survey tiles the map holds now (not the local feature-state) */
  const tileStatus = (p: Page, id: number) =>
    p.evaluate((id) => {
      const fs = window.__tuban!.map!.querySourceFeatures('survey', { sourceLayer: 'survey', filter: ['==', ['id'], id] });
      return fs.length ? String(fs[0].properties.status) : null;
    }, id);
  async function showOnMap(p: Page, id: number) {
    const bbox = (await (await app.as('reviewer')).get(`/api/polygons/${id}`)).body.bbox as [number, number, number, number];
    await p.evaluate((b) => {
      const m = window.__tuban!.map!;
      m.jumpTo(m.cameraForBounds([[b[0], b[1]], [b[2], b[3]]], { maxZoom: 17 })!);
    }, bbox);
  }
  const apiStatus = async (id: number) => (await app.as('reviewer')).get(`/api/polygons/${id}`).then((r) => r.body.status as Status);

  async function login(p: Page, username: string, password = PASSWORD) {
    await p.goto(`${app.url}/`);
    await p.fill('#login-user', username);
    await p.fill('#login-pass', password);
    await p.click('form.login button[type=submit]');
  }

  it('logs in and triages three polygons by keyboard; the map and the counts follow', async () => {
    await page.goto(`${app.url}/`);
    await page.waitForSelector('#login-user');
    await page.screenshot({ path: path.join(SHOTS, 'e2e-1-login.png') });
    await login(page, 'ana');
    await page.waitForSelector('.list li.row');
    const idle = await waitMapIdle(page);
    expect(idle?.surveyFeaturesAtFirstIdle).toBeGreaterThan(0);
    await poll(() => count(page, 'pending')).toBeGreaterThan(10);
    const pending0 = await count(page, 'pending');
    expect(await count(page, 'verified')).toBe(0);

    // the top of the queue (highest priority) is selected and shown at once: its detail, the map on it
    await page.waitForSelector('.list li.row[aria-selected=true]');
    await page.waitForSelector('.detail-body:not(.loading) h3');
    const top = await selectedId(page);
    expect(top).toBe(Number(await page.getAttribute('.list li.row:first-child', 'data-id')));
    expect(await page.evaluate(() => window.__tuban!.map!.getZoom())).toBeGreaterThan(15);
    // J / K move through the queue
    await page.keyboard.press('j');
    await poll(() => selectedId(page)).not.toBe(top);
    await page.keyboard.press('k');
    await poll(() => selectedId(page)).toBe(top);
    const first = top;
    await page.waitForSelector('.detail-body:not(.loading) h3');
    await page.waitForFunction(() => window.__tuban!.map!.loaded());
    await page.screenshot({ path: path.join(SHOTS, 'e2e-2-selected.png') });

    // V verify → the next comes up by itself
    await page.keyboard.press('v');
    await poll(() => selectedId(page)).not.toBe(first);
    const second = await selectedId(page);
    // D dismiss: reason 2 (false change) by key
    await page.waitForSelector('.detail-body:not(.loading) h3');
    await page.keyboard.press('d');
    await page.waitForSelector('dialog.dismiss[open]');
    await page.keyboard.press('2');
    await poll(() => selectedId(page)).not.toBe(second);
    const third = await selectedId(page);
    // F field check
    await page.waitForSelector('.detail-body:not(.loading) h3');
    await page.keyboard.press('f');
    await poll(() => selectedId(page)).not.toBe(third);

    expect(await apiStatus(first)).toBe('verified');
    expect(await apiStatus(second)).toBe('dismissed');
    expect(await apiStatus(third)).toBe('field_check');
    await poll(() => count(page, 'pending')).toBe(pending0 - 3);
    await poll(() => count(page, 'verified')).toBe(1);
    await poll(() => count(page, 'dismissed')).toBe(1);
    await poll(() => count(page, 'field_check')).toBe(1);
    // the rows say so, and the map's survey tiles were reloaded with the new status
    expect(await page.getAttribute(`#row-${first} .badge`, 'class')).toContain('st-verified');
    await showOnMap(page, first);
    await poll(() => tileStatus(page, first)).toBe('verified');
    await showOnMap(page, second);
    await poll(() => tileStatus(page, second)).toBe('dismissed');

    // undo (U) within a few seconds puts the last one back
    const fourth = await selectedId(page);
    await page.waitForSelector('.detail-body:not(.loading) h3');
    await page.keyboard.press('v');
    await poll(() => selectedId(page)).not.toBe(fourth);
    await poll(() => apiStatus(fourth)).toBe('verified');
    await page.keyboard.press('u');
    await poll(() => apiStatus(fourth)).toBe('pending');
    await poll(() => selectedId(page)).toBe(fourth);
    await poll(() => count(page, 'verified')).toBe(1);
    // a field check requested by mistake is withdrawn the same way
    await page.waitForSelector('.detail-body:not(.loading) h3');
    await page.keyboard.press('f');
    await poll(() => apiStatus(fourth)).toBe('field_check');
    await page.keyboard.press('u');
    await poll(() => apiStatus(fourth)).toBe('pending');
    await poll(() => selectedId(page)).toBe(fourth);
    await poll(() => count(page, 'field_check')).toBe(1);

    // the link holds the selection and the view
    const hash = decodeURIComponent(new URL(page.url()).hash);
    const fourthCode = (await (await app.as('reviewer')).get(`/api/polygons/${fourth}`)).body.code as string;
    expect(hash).toContain(`code=${fourthCode}`); // by its code (issue 13 item 14)
    expect(hash).toMatch(/z=\d/);
    expect(hash).toMatch(/c=1\d\d\.\d+,\d\d\.\d+/);
    await page.screenshot({ path: path.join(SHOTS, 'e2e-3-triaged.png') });
  });

  it('bulk-dismisses five polygons picked in the list, and box-selects on the map', async () => {
    const rows = page.locator('.list li.row.st-pending');
    const ids = await rows.evaluateAll((els) => els.slice(0, 5).map((e) => Number((e as HTMLElement).dataset.id)));
    expect(ids).toHaveLength(5);
    const dismissed0 = await count(page, 'dismissed');
    await page.click(`#row-${ids[0]} input.check`);
    await page.click(`#row-${ids[4]} input.check`, { modifiers: ['Shift'] });
    await poll(() => page.textContent('.bulkbar strong')).toMatch(/5/);
    await page.screenshot({ path: path.join(SHOTS, 'e2e-4-bulk-selected.png') });
    await page.click('.bulkbar .act-dismiss');
    await page.waitForSelector('dialog.dismiss[open]');
    await page.keyboard.press('2'); // false change (already removed would ask for its date and photo)
    await poll(() => page.isHidden('.bulkbar')).toBe(true);
    for (const id of ids) expect(await apiStatus(id)).toBe('dismissed');
    await poll(() => count(page, 'dismissed')).toBe(dismissed0 + 5);
    for (const id of ids) expect(await page.getAttribute(`#row-${id} .badge`, 'class')).toContain('st-dismissed');

    // shift-drag on the map: the pending polygons in the box are selected for a bulk action
    await page.evaluate(() => window.__tuban!.map!.jumpTo({ zoom: 14.5 }));
    await page.waitForFunction(() => window.__tuban!.map!.loaded() && window.__tuban!.map!.areTilesLoaded());
    const box = (await page.locator('#map').boundingBox())!;
    // clear of the layer panel (top left) and the legend (bottom left)
    await page.keyboard.down('Shift');
    await page.mouse.move(box.x + box.width * 0.35, box.y + box.height * 0.15);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height * 0.8, { steps: 5 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    await poll(() => page.isVisible('.bulkbar')).toBe(true);
    const picked = Number((await page.textContent('.bulkbar strong'))!.replace(/\D/g, ''));
    expect(picked).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SHOTS, 'e2e-5-box-selected.png') });
    await page.keyboard.press('Escape');
    await poll(() => page.isHidden('.bulkbar')).toBe(true);
  });

  it('shows plainly who decided first when a second session got there before', async () => {
    // select a pending polygon in the browser
    const target = Number(await page.locator('.list li.row.st-pending').nth(2).getAttribute('data-id'));
    await page.click(`#row-${target} .code`);
    await page.waitForSelector('.detail-body:not(.loading) h3');
    // bob, logged in elsewhere, verifies it first
    const bob = await app.login('bob', PASSWORD);
    const v = (await bob.get(`/api/polygons/${target}`)).body.version as number;
    const r = await bob.post(`/api/polygons/${target}/decisions`, { action: 'verify', version: v, request_id: randomUUID() });
    expect(r.status).toBe(200);
    // ana dismisses it with the version she saw
    await page.keyboard.press('d');
    await page.waitForSelector('dialog.dismiss[open]');
    await page.keyboard.press('2');
    await page.waitForSelector('.banner:not([hidden])');
    const text = (await page.textContent('.banner'))!;
    expect(text).toContain('bob');
    expect(text).toContain('已核实');
    expect(await apiStatus(target)).toBe('verified');
    expect(await page.getAttribute(`#row-${target}`, 'class')).toContain('conflict');
    expect(await page.getAttribute(`#row-${target} .badge`, 'class')).toContain('st-verified');
    await page.screenshot({ path: path.join(SHOTS, 'e2e-6-conflict.png') });
  });

  it('links a polygon to a new case (L), and the next one to the same case found by search', async () => {
    const a = Number(await page.locator('.list li.row.st-pending').first().getAttribute('data-id'));
    await page.click(`#row-${a} .code`);
    await page.waitForSelector('.detail-body:not(.loading) h3');
    await page.keyboard.press('l');
    await page.waitForSelector('dialog.link-case[open]');
    await page.fill('#nc-party', '张某某');
    expect(await page.inputValue('#nc-address')).not.toBe('');
    await page.click('form.new-case button[type=submit]');
    await poll(() => apiStatus(a)).toBe('linked');
    await page.waitForSelector('#toasts .toast:has-text("已立案")');
    // auto-advanced to the next open polygon: link it to the same case, found by the party's name
    const b = await selectedId(page);
    expect(b).not.toBe(a);
    await page.waitForSelector('.detail-body:not(.loading) h3');
    await page.keyboard.press('l');
    await page.waitForSelector('dialog.link-case[open]');
    await page.fill('#case-q', '张某某');
    await page.waitForSelector('dialog.link-case .cases li:has-text("张某某")');
    await page.keyboard.press('Enter');
    await poll(() => apiStatus(b)).toBe('linked');
    const reviewer = await app.as('reviewer');
    const caseOf = async (id: number) =>
      ((await reviewer.get(`/api/polygons/${id}/history`)).body.items as { action: string; case_id: number }[]).find((e) => e.action === 'link')!.case_id;
    expect(await caseOf(b)).toBe(await caseOf(a));
    await page.click(`#row-${a} .code`);
    await page.waitForSelector('.detail-body:not(.loading) .history');
    expect(await page.textContent('.detail-body')).toMatch(/吉安|违建|〔\d{4}〕|#\d+/);
    await page.screenshot({ path: path.join(SHOTS, 'e2e-6b-linked.png') });
  });

  it('opens a copied link on the same polygon and filters, in English, and on a phone', async () => {
    const id = await selectedId(page);
    const phone = await browser.newContext({
      storageState: await ctx.storageState(), viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2,
    });
    const p = await phone.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(`${app.url}/#/?status=all&p=${id}`);
    await p.waitForSelector('.detail-body:not(.loading) h3');
    await waitMapIdle(p);
    expect(await selectedId(p)).toBe(id);
    expect(await p.getAttribute('.chip.all', 'aria-pressed')).toBe('true');
    await p.screenshot({ path: path.join(SHOTS, 'e2e-7-phone-detail.png') });
    await p.click('.detail-head .back');
    await p.screenshot({ path: path.join(SHOTS, 'e2e-8-phone-queue.png') });

    // English: every string from the catalogue
    await p.click('.top button[lang=en]');
    await p.waitForSelector('.top h1:text-is("Suspect polygon review")');
    await p.waitForSelector('.detail-body:not(.loading) h3');
    expect(await p.textContent('.top h1')).toBe('Suspect polygon review');
    expect(await p.textContent('.chips')).toContain('Pending');
    await phone.close();
  });

  it('issues a signed field link for the selected polygon that opens without an account', async () => {
    const id = await selectedId(page);
    const code = (await page.textContent('.detail-head h2'))!.trim().split(/\s+/)[0]; // the code, then the status badge
    await page.click('button.act-share');
    const url = await page.locator('input.link-url').inputValue();
    expect(url).toMatch(new RegExp(`^${app.url}/f/[A-Za-z0-9_-]{20,}$`));
    // the dialog lists the links in use, this one first
    await page.waitForSelector('.links-list li b');
    await page.screenshot({ path: path.join(SHOTS, 'e2e-9b-field-link.png') });
    // a fresh browser, no session: the link alone shows that polygon
    const anon = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const p = await anon.newPage();
    await p.goto(url);
    await p.waitForSelector(`text=${code}`);
    const links = await (await fetch(`${app.url}/api/field-links`, { headers: { cookie: cookieHeader(await ctx.cookies()) } })).json();
    const issued = links.items.find((l: { polygon_ids: number[]; state: string }) => l.polygon_ids.includes(id!) && l.state === 'active');
    expect(issued).toBeTruthy();
    // revoked from the dialog: the phone's next visit is refused
    await page.click(`.links-list li[data-link="${issued.id}"] button`);
    await poll(() => page.locator(`.links-list li[data-link="${issued.id}"]`).count()).toBe(0);
    expect((await p.goto(url))!.status()).toBe(410);
    await page.keyboard.press('Escape');
    await anon.close();
  });

  it('makes a first login change the password', async () => {
    const c = await browser.newContext({ viewport: DESKTOP });
    const p = await c.newPage();
    await login(p, 'carol');
    await p.waitForSelector('#pw-new');
    // the server's policy refuses a password that contains the username: the form says so
    await p.fill('#pw-new', 'carol-2021-new');
    await p.fill('#pw-again', 'carol-2021-new');
    await p.click('form.login button[type=submit]');
    await poll(() => p.textContent('form.login .error')).toMatch(/用户名|username/);
    await p.fill('#pw-new', 'Fresh-pass-2021-xyz');
    await p.fill('#pw-again', 'Fresh-pass-2021-xyz');
    await p.click('form.login button[type=submit]');
    await p.waitForSelector('.list li.row');
    await c.close();
  });

  it('with imagery of both dates configured, shows them with an opacity control; T switches', async () => {
    // a stand-in imagery server (XYZ): one flat colour per date
    const tiles = createServer((req, res) => {
      const before = req.url!.startsWith('/before/');
      res.writeHead(200, { 'content-type': 'image/png', 'access-control-allow-origin': '*' });
      res.end(solidPng(256, before ? [120, 160, 110] : [170, 140, 110]));
    });
    await new Promise<void>((r) => tiles.listen(0, '127.0.0.1', r));
    const port = (tiles.address() as AddressInfo).port;
    const withImagery = await startApp(db, {
      env: {
        TUBAN_WEB_DIR: app.config.webDir,
        TUBAN_IMAGERY_BEFORE_URL: `http://127.0.0.1:${port}/before/{z}/{x}/{y}.png`,
        TUBAN_IMAGERY_AFTER_URL: `http://127.0.0.1:${port}/after/{TileMatrix}/{TileCol}/{TileRow}.png`,
      },
    });
    try {
      const c = await browser.newContext({ viewport: DESKTOP, storageState: await ctx.storageState() });
      const p = await c.newPage();
      p.on('pageerror', (e) => pageErrors.push(e.message));
      const seen: string[] = [];
      p.on('request', (r) => r.url().includes(`:${port}/`) && seen.push(new URL(r.url()).pathname.split('/')[1]));
      await p.goto(`${withImagery.url}/`);
      await waitMapIdle(p);
      expect(new Set(seen)).toEqual(new Set(['before', 'after']));
      await p.click('.map-panel summary');
      const mix = p.locator('#imagery-mix');
      expect(await mix.inputValue()).toBe('1');
      await p.keyboard.press('t');
      expect(await mix.inputValue()).toBe('0');
      expect(await p.evaluate(() => window.__tuban!.map!.getPaintProperty('imagery-after', 'raster-opacity'))).toBe(0);
      await p.screenshot({ path: path.join(SHOTS, 'e2e-9-imagery.png') });
      await c.close();
    } finally {
      await withImagery.close();
      await closeServer(tiles);
    }
  });

  it('raised no page errors and fetched nothing from outside', () => {
    expect(pageErrors).toEqual([]);
    expect((globalThis as { __outside?: string[] }).__outside).toEqual([]);
  });
});

function closeServer(s: Server) {
  s.closeAllConnections();
  return new Promise<void>((r) => s.close(() => r()));
}

/** A PNG of one colour (RGB), enough for a stand-in imagery tile. */
function solidPng(size: number, rgb: [number, number, number]): Buffer {
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: size }, () => rgb).flat())]);
  return rgbPng(size, size, Buffer.concat(Array.from({ length: size }, () => row)));
}
