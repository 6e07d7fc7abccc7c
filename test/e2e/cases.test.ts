/**
 * A case officer works a case from discovery to closure in a real browser (issue 13, "Done when"): Debian's
 * chromium driven by playwright-core against the real server in-process, on an embedded PGlite holding the
 * tiny synthetic sample town. No network.
 *
 * The loop: link two polygons to a new 在建 case in the workspace; find it in #/cases (J/K, Enter); record the
 * stop order; print the notices; record the utility notice (water, power, gas); complete the report to the
 * town, refused without a photo, done with an uploaded one; close as 已拆除 with 180 m²; the dashboard's
 * demolished m² moves by 180 against the target an admin set in the dashboard's form. A reviewer then reads
 * the case without a single action button, and cannot print its notices.
 * Every screen is shot at 1440×900 and 390×844 (test-artifacts/cases-*.png, gitignored): look at them.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freshDb, type TestDb } from '../helpers/db';
import { importTinySample } from '../helpers/sample';
import { startApp, type TestApp, type UserClient } from '../helpers/api';
import { rgbPng } from '../helpers/png';
import { buildWeb, isWebBuildFresh, WEB_OUT } from '../../scripts/build-web-if-needed';
import { createUser } from '../../server/auth/users';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync'];
const SHOTS = path.resolve(process.env.TUBAN_SHOTS ?? 'test-artifacts');
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
const PASSWORD = 'e2e-Password-2021';
const PARTY = '王某某（e2e）';

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

describe.runIf(existsSync(CHROMIUM))('a case officer works a case in the browser', () => {
  let tmp: string;
  let db: TestDb;
  let app: TestApp;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let reviewerApi: UserClient;
  let caseId = 0;
  let polygonIds: number[] = [];
  let demolishedBefore = 0;
  const pageErrors: string[] = [];
  const outside: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tuban-e2e-cases-'));
    mkdirSync(SHOTS, { recursive: true });
    let webDir = WEB_OUT;
    if (!isWebBuildFresh(WEB_OUT)) {
      webDir = path.join(tmp, 'web');
      await buildWeb(webDir, { quiet: true });
    }
    db = await freshDb('pglite');
    app = await startApp(db, { env: { TUBAN_WEB_DIR: webDir } });
    await importTinySample(db, app.config, path.join(tmp, 'sample'));
    await createUser(db, { username: 'officer', displayName: '执法甲', role: 'analyst', password: PASSWORD, mustChangePassword: false });
    await createUser(db, { username: 'boss', displayName: '管理乙', role: 'admin', password: PASSWORD, mustChangePassword: false });
    await createUser(db, { username: 'rev', displayName: '审核丙', role: 'reviewer', password: PASSWORD, mustChangePassword: false });
    reviewerApi = await app.as('reviewer');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    ctx = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    ctx.setDefaultTimeout(20_000);
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await ctx.route((url) => !url.href.startsWith(app.url), (route) => {
      outside.push(route.request().url());
      return route.abort();
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function login(p: Page, username: string) {
    await p.goto(`${app.url}/`);
    await p.fill('#login-user', username);
    await p.fill('#login-pass', PASSWORD);
    await p.click('form.login button[type=submit]');
  }

  /** the screen as it is (desktop), and the same address on a phone with the same session */
  async function shoot(name: string, o: { ready?: string; c?: BrowserContext; p?: Page } = {}) {
    const p = o.p ?? page;
    await p.screenshot({ path: path.join(SHOTS, `cases-${name}-1440.png`), fullPage: true });
    const phone = await browser.newContext({
      storageState: await (o.c ?? ctx).storageState(), viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 1,
      locale: 'zh-CN', timezoneId: 'Asia/Shanghai',
    });
    await phone.route((url) => !url.href.startsWith(app.url), (route) => route.abort());
    const pp = await phone.newPage();
    await pp.goto(p.url());
    if (o.ready) await pp.waitForSelector(o.ready);
    await pp.waitForTimeout(300); // the map's first frame
    await pp.screenshot({ path: path.join(SHOTS, `cases-${name}-390.png`), fullPage: true });
    // nothing overflows sideways on the phone
    const overflow = await pp.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `${name} at 390 px`).toBeLessThanOrEqual(1);
    await phone.close();
  }

  const stats = async () => (await reviewerApi.get('/api/cases/stats')).body as { demolished_m2: number; target_m2: number | null };
  const stepRow = (step: string) => page.locator(`#case-steps tr[data-step=${step}]`);

  it('an admin sets this year’s demolition target on the dashboard', async () => {
    const admin = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const p = await admin.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await login(p, 'boss');
    await p.waitForSelector('.top');
    await p.goto(`${app.url}/#/dashboard`);
    await p.waitForSelector('#p-cases .case-panel-body[aria-busy=false]');
    demolishedBefore = (await stats()).demolished_m2;
    await p.fill('#target-m2', '5000');
    await p.click('#p-cases .target-form button[type=submit]');
    await poll(async () => (await stats()).target_m2).toBe(5000);
    await poll(() => p.textContent('#p-cases .kpi-sub')).toContain('5,000');
    await p.locator('#p-cases').screenshot({ path: path.join(SHOTS, 'cases-0-admin-target-1440.png') });
    await admin.close();
  });

  it('links two polygons to a new 在建 case in the workspace', async () => {
    await login(page, 'officer');
    await page.waitForSelector('.list li.row');
    await page.waitForSelector('.detail-body:not(.loading) h3');
    const first = await page.locator('.list li.row.st-pending').first().getAttribute('data-id');
    await page.click(`#row-${first} .code`);
    await page.keyboard.press('x');
    await page.keyboard.press('j');
    await page.keyboard.press('x');
    polygonIds = (await page.$$eval('.list li.row', (rows) => rows.filter((r) => r.querySelector('input[type=checkbox]:checked') || r.classList.contains('checked'))
      .map((r) => Number(r.getAttribute('data-id')))));
    expect(polygonIds).toHaveLength(2);
    await page.keyboard.press('l');
    await page.waitForSelector('dialog.link-case[open]');
    await page.fill('#nc-party', PARTY);
    await page.fill('#nc-address', '吉安大道旁二层砖混建筑');
    await page.selectOption('#nc-kind', 'under_construction');
    await page.click('form.new-case button[type=submit]');
    await page.waitForSelector('#toasts .toast');
    expect(await page.textContent('#toasts')).toContain('已立案');
    for (const id of polygonIds) await poll(async () => (await reviewerApi.get(`/api/polygons/${id}`)).body.status).toBe('linked');
    const cases = (await reviewerApi.get('/api/cases', { query: { q: PARTY } })).body.items as { id: number; kind: string; polygon_count: number }[];
    expect(cases).toHaveLength(1);
    expect(cases[0]).toMatchObject({ kind: 'under_construction', polygon_count: 2 });
    caseId = cases[0].id;
    // the polygon's detail links its case
    await page.click(`#row-${polygonIds[0]} .code`);
    await page.waitForSelector(`.detail-body a.case-link[href="#/cases/${caseId}"]`);
  });

  it('finds the case in #/cases: filters in the URL, J/K and Enter', async () => {
    await page.click('nav.screens a[href="#/cases"]');
    await page.waitForSelector('.case-table-wrap[data-ready="1"] .case-table');
    await page.selectOption('#cases-kind', 'under_construction');
    await poll(() => page.url()).toContain('kind=under_construction');
    await page.fill('#cases-q', '王某某');
    await poll(() => page.url()).toContain('q=');
    await poll(() => page.locator('.case-table tbody tr').count()).toBe(1);
    const row = page.locator(`#case-${caseId}`);
    // the next deadline is the report to the town (1 working day), with its step; 2 polygons
    expect(await row.locator('.c-next').textContent()).toMatch(/\d{4}-\d{2}-\d{2}/);
    expect(await row.locator('.c-next').textContent()).toContain('报镇');
    expect((await row.locator('.c-polys').textContent())?.trim()).toBe('2');
    await shoot('1-list', { ready: '.case-table' });
    await page.locator('body').click({ position: { x: 5, y: 200 } });
    await page.keyboard.press('j');
    await poll(() => row.getAttribute('aria-selected')).toBe('true');
    expect(page.url()).toContain(`sel=${caseId}`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.case-detail[data-ready="1"]');
    expect(page.url()).toContain(`#/cases/${caseId}`);
    // Back returns to the filtered list
    await page.goBack();
    await page.waitForSelector(`#case-${caseId}`);
    expect(await page.inputValue('#cases-q')).toBe('王某某');
    await page.goForward();
    await page.waitForSelector('.case-detail[data-ready="1"]');
  });

  it('shows the case: its polygons on the map, the steps in the plan’s order, who answers for the village', async () => {
    await page.waitForSelector('#case-map[data-ready="1"]');
    expect(await page.locator('.case-map-label').count()).toBe(2);
    const steps = await page.$$eval('#case-steps tbody tr', (trs) => trs.map((t) => t.getAttribute('data-step')));
    expect(steps).toEqual(['stop_order', 'self_removal_deadline', 'utility_notice', 'report_to_town', 'forced_measures_or_court', 'outcome']);
    expect(await stepRow('report_to_town').textContent()).toContain('1 个工作日');
    expect(await page.textContent('#case-responsible')).toBeTruthy();
    await shoot('2-detail', { ready: '.case-detail[data-ready="1"]' });
    // a polygon link opens the workspace on it
    const href = await page.getAttribute(`.case-polys a[data-id="${polygonIds[0]}"]`, 'href');
    expect(href).toBe(`#/?p=${polygonIds[0]}&status=all`);
  });

  it('records the stop order', async () => {
    await page.click('#act-step');
    await page.waitForSelector('dialog.step-form[open]');
    await page.selectOption('#st-step', 'stop_order');
    await page.fill('#st-note', '现场送达责令停止违法建设通知书');
    await page.screenshot({ path: path.join(SHOTS, 'cases-3-step-form-1440.png') });
    await page.click('dialog.step-form button[type=submit]');
    await page.waitForSelector('#case-steps tr[data-step=stop_order].st-done');
    expect(await stepRow('stop_order').textContent()).toContain('officer');
  });

  it('prints the notices: each carries the number, party, address, codes, area and a seal block', async () => {
    const c = (await reviewerApi.get(`/api/cases/${caseId}`)).body as { number: string; polygons: { code: string }[] };
    await page.click('#docs summary');
    const docs = await page.$$eval('#docs a[data-doc]', (as) => as.map((a) => a.getAttribute('href')!));
    expect(docs.map((d) => d.split('/').pop())).toEqual(['stop_order', 'utility_water', 'utility_power', 'utility_gas', 'self_removal']);
    for (const href of docs) {
      const p = await ctx.newPage();
      const r = await p.goto(`${app.url}${href}`);
      expect(r?.status()).toBe(200);
      const text = (await p.textContent('body'))!;
      expect(text).toContain(c.number);
      expect(text).toContain(PARTY);
      for (const poly of c.polygons) expect(text).toContain(poly.code);
      expect(text).toContain('平方米');
      expect(text).toContain('（盖章）');
      expect(text).toMatch(/\d{4}年\d{1,2}月\d{1,2}日/);
      const doc = href.split('/').pop()!;
      await p.screenshot({ path: path.join(SHOTS, `cases-4-print-${doc}-1440.png`), fullPage: true });
      if (doc === 'stop_order' || doc === 'utility_water') {
        await p.setViewportSize(PHONE);
        await p.screenshot({ path: path.join(SHOTS, `cases-4-print-${doc}-390.png`), fullPage: true });
        // A4: the notice fits one page
        const pdf = await p.pdf({ format: 'A4', preferCSSPageSize: true });
        expect(pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g)?.length).toBe(1);
      }
      await p.close();
    }
    await page.keyboard.press('Escape');
  });

  it('records the utility notice with the companies notified', async () => {
    await page.click('#act-step');
    await page.waitForSelector('dialog.step-form[open]');
    await page.selectOption('#st-step', 'utility_notice');
    // the form asks which companies
    await page.fill('#st-done', '');
    await page.click('dialog.step-form button[type=submit]');
    expect(await page.textContent('dialog.step-form .error')).toContain('单位');
    for (const co of ['water', 'power', 'gas']) await page.check(`#st-co-${co}`);
    await page.click('dialog.step-form button[type=submit]');
    await page.waitForSelector('#case-steps tr[data-step=utility_notice] .companies');
    expect(await stepRow('utility_notice').locator('.companies').textContent()).toBe('已通知：供水、供电、供气');
    expect(await stepRow('utility_notice').textContent()).toContain('3 个工作日');
    const s = ((await reviewerApi.get(`/api/cases/${caseId}`)).body.steps as { step: string; companies: string[]; deadline: string }[])
      .find((x) => x.step === 'utility_notice')!;
    expect(s.companies).toEqual(['water', 'power', 'gas']);
    expect(s.deadline).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('completes the report to the town only with a photo (the form and the server both refuse it bare)', async () => {
    // the server: done without a photo is refused
    const officerApi = await app.as('analyst');
    const bare = await officerApi.post(`/api/cases/${caseId}/steps`, { step: 'report_to_town', done_on: (await reviewerApi.get('/api/review/vocabulary')).body.calendar.today });
    expect(bare.status).toBe(422);
    expect(bare.body.error.code).toBe('photo_required');
    // the form
    await page.click('#act-step');
    await page.waitForSelector('dialog.step-form[open]');
    await page.selectOption('#st-step', 'report_to_town');
    await page.click('dialog.step-form button[type=submit]');
    expect(await page.textContent('dialog.step-form .error')).toContain('须附照片');
    // filtered scanlines: a filter byte (0) before each row of 64 RGB pixels, a gradient across
    const row = Buffer.from([0, ...Array.from({ length: 64 }, (_, x) => [200, x * 4, 60]).flat()]);
    const raw = Buffer.concat(Array.from({ length: 48 }, () => row));
    const file = path.join(tmp, 'site.png');
    writeFileSync(file, rgbPng(64, 48, raw));
    await page.setInputFiles('#st-file', file);
    await page.waitForSelector('dialog.step-form .pick-photo input:checked');
    await page.screenshot({ path: path.join(SHOTS, 'cases-5-report-photo-1440.png') });
    await page.click('dialog.step-form button[type=submit]');
    await page.waitForSelector('#case-steps tr[data-step=report_to_town].st-done');
    expect(await stepRow('report_to_town').textContent()).toContain('照片 1 张');
    await page.waitForSelector('#case-photos img.thumb');
  });

  it('closes as 已拆除 with 180 m²; the outcome goes into both polygons’ histories', async () => {
    await page.click('#act-close');
    await page.waitForSelector('dialog.close-form[open]');
    await page.check('#cl-demolished');
    await page.click('dialog.close-form button[type=submit]');
    expect(await page.textContent('dialog.close-form .error')).toContain('拆除面积');
    await page.fill('#cl-m2', '180');
    await page.screenshot({ path: path.join(SHOTS, 'cases-6-close-form-1440.png') });
    await page.click('dialog.close-form button[type=submit]');
    await page.waitForSelector('.case-detail[data-status=closed]');
    expect(await page.textContent('#case-outcome')).toContain('180');
    expect(await page.locator('#act-step').count()).toBe(0);
    expect(await page.locator('#case-history li[data-action=case_closed]').count()).toBe(1);
    await shoot('6-closed', { ready: '.case-detail[data-ready="1"]' });
    for (const id of polygonIds) {
      const events = (await reviewerApi.get(`/api/polygons/${id}/history`)).body.items as { action: string; case_id: number; payload: Record<string, unknown> }[];
      const closed = events.find((e) => e.action === 'case_closed')!;
      expect(closed.case_id).toBe(caseId);
      expect(closed.payload).toMatchObject({ outcome: 'demolished', outcome_m2: 180 });
    }
  });

  it('the dashboard’s demolished m² moves by 180', async () => {
    await poll(async () => (await stats()).demolished_m2).toBe(demolishedBefore + 180);
    await page.click('nav.screens a[href="#/dashboard"]');
    await page.waitForSelector('#p-cases .case-panel-body[aria-busy=false]');
    expect(await page.textContent('#kpi-demolished')).toContain(String(demolishedBefore + 180));
    expect(await page.textContent('#p-cases .kpi-sub')).toContain('5,000');
    expect(await page.locator('#closed-weeks .week-bar').count()).toBeGreaterThanOrEqual(1);
    await page.locator('#p-cases').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'cases-7-dashboard-1440.png'), fullPage: true });
    await shoot('7-dashboard', { ready: '#p-cases .case-panel-body[aria-busy=false]' });
  });

  it('a reviewer reads the case without action buttons, and cannot print its notices', async () => {
    const rc = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    await rc.route((url) => !url.href.startsWith(app.url), (route) => route.abort());
    const p = await rc.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await login(p, 'rev');
    await p.waitForSelector('.top');
    await p.goto(`${app.url}/#/cases/${caseId}`);
    await p.waitForSelector('.case-detail[data-ready="1"]');
    expect(await p.locator('#act-step, #act-close, #docs, .target-form').count()).toBe(0);
    expect(await p.locator('.read-only').count()).toBe(1);
    await shoot('8-reviewer', { ready: '.case-detail[data-ready="1"]', c: rc, p });
    expect((await p.goto(`${app.url}/reports/cases/${caseId}/stop_order`))?.status()).toBe(403);
    await rc.close();
  });

  it('met no page error and asked nothing of the internet', () => {
    expect(pageErrors).toEqual([]);
    expect(outside).toEqual([]);
  });
});
