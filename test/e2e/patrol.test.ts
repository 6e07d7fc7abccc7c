/**
 * Daily patrol on a phone (issue 16 items 8–10, done-when): Debian's chromium driven by playwright-core on the
 * 390×844 touch viewport, geolocation emulated and moved along a path, against the real server in-process
 * with an embedded PGlite holding the tiny synthetic sample town. A field account logs in at /patrol once
 * online, then the network goes away: the page reloads from the service worker, the patrol runs, two findings
 * are recorded (one 在建 with the case offered), the patrol ends — nothing reaches the server. The network
 * returns: the patrol, its track and both leads arrive exactly once (counted in the database), the 在建 one
 * with its case.
 *
 * Runs only where the browser exists (CHROMIUM_PATH, default /usr/bin/chromium). Screenshots go to
 * test-artifacts/patrol-*.png: look at them.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freshDb, type TestDb } from '../helpers/db';
import { importTinySample } from '../helpers/sample';
import { startApp, type TestApp } from '../helpers/api';
import { buildField, FIELD_OUT, isFieldBuildFresh } from '../../scripts/build-field-if-needed';
import { buildWeb, isWebBuildFresh, WEB_OUT } from '../../scripts/build-web-if-needed';
import { createUser } from '../../server/auth/users';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync'];
const SHOTS = path.resolve('test-artifacts');
const PHONE = { width: 390, height: 844 };
const PHOTO = path.resolve('test/fixtures/photos/gps.jpg');
const PASSWORD = 'patrol-Password-2021';
/** ~25 m of latitude */
const STEP = 0.000225;

describe.runIf(existsSync(CHROMIUM))('daily patrol on a phone', () => {
  let tmp: string;
  let db: TestDb;
  let app: TestApp;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let village: string;
  let start: [number, number];
  const pageErrors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `patrol-${name}.png`), fullPage: true });
  const n = async (sql: string) => Number((await db.query<{ n: number }>(sql)).rows[0].n);
  const moveTo = async (i: number) => {
    await ctx.setGeolocation({ latitude: start[1] + i * STEP, longitude: start[0] + (i > 2 ? (i - 2) * STEP : 0), accuracy: 6 });
  };

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tuban-e2e-patrol-'));
    mkdirSync(SHOTS, { recursive: true });
    // the field page is served from <webDir>/../field; the dashboard (last test) is the analyst app in webDir
    let webDir = WEB_OUT;
    if (path.dirname(WEB_OUT) !== path.dirname(FIELD_OUT) || !isFieldBuildFresh(FIELD_OUT) || !isWebBuildFresh(WEB_OUT)) {
      webDir = path.join(tmp, 'web');
      await buildField(path.join(tmp, 'field'), { quiet: true });
      await buildWeb(webDir, { quiet: true });
    }
    db = await freshDb('pglite');
    app = await startApp(db, { env: { TUBAN_WEB_DIR: webDir, TUBAN_DATA_DIR: path.join(tmp, 'data') } });
    await importTinySample(db, app.config, path.join(tmp, 'sample'));
    const analyst = await app.as('analyst');
    const list = await analyst.get('/api/polygons', { query: { status: 'pending', limit: 50 } });
    const it = list.body.items.find((x: { village: string | null }) => x.village);
    const d = await analyst.get(`/api/field/polygons/${it.id}`);
    village = it.village;
    // start ~150 m south of a polygon of the village, inside the village
    const target = d.body.polygon.target.coordinates as [number, number];
    start = [target[0], target[1] - 0.00135];
    await createUser(db, { username: 'shenhe', displayName: '审核员', role: 'reviewer', password: PASSWORD, mustChangePassword: false });
    await createUser(db, { username: 'xuncha', displayName: '巡查员', role: 'field', villages: [village], password: PASSWORD, mustChangePassword: false });

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    ctx = await browser.newContext({
      viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 1, locale: 'zh-CN', timezoneId: 'Asia/Shanghai',
      geolocation: { latitude: start[1], longitude: start[0], accuracy: 6 }, permissions: ['geolocation'],
    });
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (dlg) => void dlg.accept());
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('runs a patrol offline with two findings; online again, the track and the leads arrive exactly once', async () => {
    await page.goto(`${app.url}/patrol`);
    await page.waitForSelector('#login-user');
    await page.fill('#login-user', 'xuncha');
    await page.fill('#login-pass', PASSWORD);
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('body[data-ready=patrol-start]');
    // the page says the browser does not record in the background
    expect(await page.textContent('[data-background-note]')).toContain('浏览器不会在后台记录轨迹');
    expect(await page.locator('#patrol-village option').allTextContents()).toEqual([village]);
    await page.waitForSelector('body[data-offline=ready]', { timeout: 30_000 });
    await page.fill('#patrol-members', '张三、李四');
    await shot('1-start');

    // from here on, no network: the page itself comes from the service worker
    await ctx.setOffline(true);
    await page.reload();
    await page.waitForSelector('body[data-ready=patrol-start]');
    await page.fill('#patrol-members', '张三、李四');
    await page.click('[data-start]');
    await page.waitForSelector('body[data-ready=patrol-live]');
    const points = async () => Number(await page.textContent('[data-points]'));
    // walking: a point per move (≥ 20 m); standing still, one every ~10 s (same place: one vertex of the line)
    const walk = async (i: number) => {
      const before = await points();
      await moveTo(i);
      await expect.poll(points, { timeout: 15_000 }).toBeGreaterThan(before);
    };
    await expect.poll(points).toBeGreaterThanOrEqual(1);
    for (let i = 1; i <= 4; i++) await walk(i);
    expect(await page.textContent('[data-distance]')).toMatch(/米/);

    // finding 1: a pile of materials, not under construction
    await page.click('[data-find]');
    await page.waitForSelector('body[data-ready=patrol-finding]');
    await page.setInputFiles('input[data-photo-input]', PHOTO);
    await expect.poll(() => page.locator('.patrol-finding figure.photo').count(), { timeout: 30_000 }).toBe(1);
    await page.check('input[name=category][value=other]');
    await page.fill('textarea[name=note]', '路边堆放砖块钢筋');
    expect(await page.isHidden('[data-case-offer]')).toBe(true);
    await page.click('[data-save-finding]');
    await page.waitForSelector('body[data-ready=patrol-live]');

    await walk(5);
    // finding 2: construction in progress — the case with the stop order is offered at once
    await page.click('[data-find]');
    await page.waitForSelector('body[data-ready=patrol-finding]');
    await page.setInputFiles('input[data-photo-input]', PHOTO);
    await expect.poll(() => page.locator('.patrol-finding figure.photo').count(), { timeout: 30_000 }).toBe(1);
    await page.check('input[name=uc][value=yes]');
    await page.fill('textarea[name=note]', '正在砌二层墙体');
    expect(await page.isVisible('[data-case-offer]')).toBe(true);
    expect(await page.textContent('[data-case-offer]')).toContain('立即立案并下达停工通知');
    expect(await page.isChecked('[data-open-case]')).toBe(true);
    await shot('2-finding-in-construction');
    await page.click('[data-save-finding]');
    await page.waitForSelector('body[data-ready=patrol-live]');
    await expect.poll(() => page.textContent('[data-findings]')).toBe('2');
    // offline, each try fails at once and waits again (a moment in "sending" between tries)
    await expect.poll(() => page.locator('.patrol-findings li [data-state=waiting]').count()).toBe(2);
    await shot('3-offline-live');

    await page.click('[data-end]');
    await page.waitForSelector('body[data-ready=patrol-start]');
    await page.waitForSelector('[data-local-patrol] .q-head [data-state=waiting]');
    await shot('4-offline-ended');
    // nothing reached the server
    expect(await n('SELECT count(*) AS n FROM patrol')).toBe(0);
    expect(await n("SELECT count(*) AS n FROM survey_polygon WHERE source = 'patrol'")).toBe(0);

    await ctx.setOffline(false);
    await page.waitForSelector('[data-local-patrol] .q-head [data-state=sent]', { timeout: 60_000 });
    await page.waitForSelector('[data-local-patrol] [data-case]');
    await expect.poll(() => page.locator('[data-local-patrol] [data-lead]').count()).toBe(2);
    await shot('5-sent');

    // exactly once, also after a reload (a second chance to resend)
    await page.reload();
    await page.waitForSelector('body[data-ready=patrol-start]');
    await page.waitForTimeout(2000);
    expect(await n('SELECT count(*) AS n FROM patrol')).toBe(1);
    expect(await n('SELECT count(*) AS n FROM patrol_finding')).toBe(2);
    expect(await n("SELECT count(*) AS n FROM survey_polygon WHERE source = 'patrol'")).toBe(2);
    expect(await n('SELECT count(*) AS n FROM enforcement_case')).toBe(1);
    expect(await n("SELECT count(*) AS n FROM evidence e JOIN survey_polygon s ON s.id = e.polygon_id WHERE s.source = 'patrol'")).toBe(2);

    const reviewer = await app.as('reviewer');
    const list = await reviewer.get('/api/patrols');
    expect(list.body.total).toBe(1);
    const p = list.body.items[0];
    expect(p).toMatchObject({ village, members: ['张三', '李四'] });
    expect(p.track_points).toBeGreaterThanOrEqual(6);
    expect(p.distance_m).toBeGreaterThan(100);
    expect(p.findings).toHaveLength(2);
    expect(p.findings.filter((f: { case_number: string | null }) => f.case_number)).toHaveLength(1);
    const one = await reviewer.get(`/api/patrols/${p.client_id}`);
    expect(one.body.track.type).toBe('LineString');
    expect(one.body.track.coordinates).toHaveLength(6);
    const leads = await reviewer.get('/api/polygons', { query: { source: 'patrol', status: 'pending,linked' } });
    expect(leads.body.total).toBe(2);
    await shot('6-after-reload');
  }, 240_000);

  it('shows the patrol on the reviewer dashboard, per village and week, with the ledger downloads', async () => {
    const desk = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const d = await desk.newPage();
    d.on('pageerror', (e) => pageErrors.push(e.message));
    await d.goto(`${app.url}/`);
    await d.fill('#login-user', 'shenhe');
    await d.fill('#login-pass', PASSWORD);
    await d.click('form.login button[type=submit]');
    const row = d.locator(`#patrol-weeks tr[data-village="${village}"]`).first();
    await row.waitFor({ timeout: 30_000 });
    const cells = await row.locator('td').allTextContents();
    // week, days, km, findings, survey, patrol, report, …
    expect(cells[1]).toBe('1');
    expect(cells[3]).toBe('2');
    expect(cells[5]).toBe('2');
    expect(await d.textContent('#patrol-totals')).toContain('巡查 1 天');
    expect(await d.getAttribute('#p-patrol a[href^="/api/exports/patrols.xlsx"]', 'href')).toBeTruthy();
    await d.locator('#p-patrol').scrollIntoViewIfNeeded();
    await d.locator('#p-patrol').screenshot({ path: path.join(SHOTS, 'patrol-7-dashboard.png') });
    await desk.close();
  }, 120_000);

  it('raised no page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
