/**
 * The analyst's desk in a real browser (issue 13 items 13–18, issue 16 item 13): search opens its match, the URL
 * names the polygon by code and Back undoes a filter, campaign totals stay in the header, field results are
 * marked and filtered, S issues a field link with a QR code on TUBAN_PUBLIC_URL, T without imagery says so,
 * the dismiss dialog asks for the proof, a bulk action moves on to a pending polygon, the QC screen and the
 * dashboard count outcomes lacking proof. Screenshots at 1440×900 and 390×844 in /tmp/shots/desk (look at them).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freshDb, type TestDb } from '../helpers/db';
import { importTinySample } from '../helpers/sample';
import { startApp, type TestApp, type UserClient } from '../helpers/api';
import { webDirFor } from '../helpers/web-build';
import { createUser } from '../../server/auth/users';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const SHOTS = process.env.TUBAN_SHOTS ?? '/tmp/shots/desk';
const PASSWORD = 'e2e-Password-2021';
const PUBLIC = 'https://tuban.example.gov.cn/jian';
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

describe.runIf(existsSync(CHROMIUM))('the analyst desk in the browser', () => {
  let tmp: string;
  let db: TestDb;
  let app: TestApp;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let reviewer: UserClient;
  const errors: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tuban-desk-'));
    mkdirSync(SHOTS, { recursive: true });
    const webDir = await webDirFor(tmp);
    db = await freshDb('pglite');
    app = await startApp(db, { env: { TUBAN_WEB_DIR: webDir, TUBAN_PUBLIC_URL: PUBLIC, TUBAN_DATA_DIR: path.join(tmp, 'data') } });
    await importTinySample(db, app.config, path.join(tmp, 'sample'));
    await createUser(db, { username: 'ana', displayName: '安分析', role: 'analyst', password: PASSWORD, mustChangePassword: false });
    reviewer = await app.as('reviewer');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await ctx.route((url) => !url.href.startsWith(app.url), (r) => r.abort());
    await page.goto(`${app.url}/`);
    await page.fill('#login-user', 'ana');
    await page.fill('#login-pass', PASSWORD);
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('.list li.row[aria-selected=true]');
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const selectedId = async (p: Page) => Number(await p.getAttribute('.list li.row[aria-selected=true]', 'data-id'));
  const polygon = async (id: number) => (await reviewer.get(`/api/polygons/${id}`)).body as { code: string; status: string; version: number };
  const hash = (p: Page) => decodeURIComponent(new URL(p.url()).hash);
  const shot = (p: Page, name: string) => p.screenshot({ path: path.join(SHOTS, name) });

  it('search: / code Enter selects and opens the match, and V acts on it; the URL names it by code', async () => {
    const rows = await page.locator('.list li.row').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.id)));
    const target = rows[7];
    const { code } = await polygon(target);
    await page.keyboard.press('/');
    await page.keyboard.type(code);
    await page.keyboard.press('Enter');
    await poll(() => selectedId(page)).toBe(target);
    await poll(() => page.textContent('.detail-head h2')).toContain(code);
    await page.waitForSelector('.detail-body:not(.loading) h3');
    expect(hash(page)).toContain(`code=${code}`);
    expect(hash(page)).not.toMatch(/[?&]p=/);
    await shot(page, 'desk-1-search-open.png');
    await page.keyboard.press('v');
    await poll(async () => (await polygon(target)).status).toBe('verified');
  });

  it('an old id link still opens its polygon and becomes a code link; Back undoes a filter; totals stay', async () => {
    await page.goto(`${app.url}/#/?status=all`);
    await page.waitForSelector('.list li.row');
    await poll(() => page.textContent('.top-counts')).toMatch(/共/);
    const totals = await page.textContent('.top-counts .campaign');
    const id = Number(await page.locator('.list li.row').nth(3).getAttribute('data-id'));
    const { code } = await polygon(id);
    await page.goto(`${app.url}/#/?status=all&p=${id}`);
    await page.reload();
    await page.waitForSelector('.detail-body:not(.loading) h3');
    expect(await selectedId(page)).toBe(id);
    await poll(() => hash(page)).toContain(`code=${code}`);
    // a filter: a new history entry; the header keeps the campaign's totals and shows the filtered count beside
    const village = await page.locator('#f-village option').nth(1).getAttribute('value');
    await page.selectOption('#f-village', village!);
    await poll(() => hash(page)).toContain(`village=${village}`);
    await page.waitForSelector('#top-filtered');
    expect(await page.textContent('.top-counts .campaign')).toBe(totals);
    await shot(page, 'desk-2-filtered.png');
    await page.goBack();
    await poll(() => hash(page)).not.toContain('village=');
    await poll(() => page.inputValue('#f-village')).toBe('');
  });

  it('marks and filters polygons whose field results came back, and shows the finding in the history', async () => {
    await page.goto(`${app.url}/#/`);
    await page.waitForSelector('.list li.row');
    const id = Number(await page.locator('.list li.row').nth(2).getAttribute('data-id'));
    const field = await app.as('field');
    const f = await field.post(`/api/polygons/${id}/findings`, { finding: 'under_construction', note: '二层在建', client_id: randomUUID() });
    expect(f.status, f.text).toBe(201);
    await page.click('#f-field-result');
    await poll(() => page.locator('.list li.row').count()).toBe(1);
    expect(await page.textContent(`#row-${id} .field-back`)).toContain('在建');
    expect(hash(page)).toContain('field_result=1');
    await page.click(`#row-${id} .code`);
    await page.waitForSelector('.history li[data-action=field_finding] .finding');
    expect(await page.textContent('.history li[data-action=field_finding]')).toContain('实地核查结果：在建');
    // the priority's formula is in the detail
    await page.click('details.formula summary');
    await shot(page, 'desk-3-field-result.png');
    await page.click('#f-field-result');
    await poll(() => page.locator('.list li.row').count()).toBeGreaterThan(1);
  });

  it('S issues a field link with its QR code on TUBAN_PUBLIC_URL; T without imagery says so; ? lists S', async () => {
    await page.waitForSelector('.detail-body:not(.loading) h3');
    await page.keyboard.press('s');
    await page.waitForSelector('dialog.field-link[open] img.link-qr');
    expect(await page.inputValue('input.link-url')).toMatch(new RegExp(`^${PUBLIC}/f/[A-Za-z0-9_-]{43}$`));
    expect(await page.getAttribute('img.link-qr', 'src')).toMatch(/^data:image\/svg\+xml;base64,/);
    await shot(page, 'desk-4-field-link-qr.png');
    await page.keyboard.press('Escape');
    await page.keyboard.press('t');
    await page.waitForSelector('#toasts .toast:has-text("尚无前后时相影像")');
    await page.keyboard.press('?');
    await page.waitForSelector('dialog.help[open]');
    expect(await page.textContent('dialog.help')).toContain('外业链接');
    await page.keyboard.press('Escape');
  });

  it('the dismiss dialog asks for the permit reference of 合法/已批准, and the history shows it', async () => {
    const id = await selectedId(page);
    await page.keyboard.press('d');
    await page.waitForSelector('dialog.dismiss[open]');
    await page.keyboard.press('1');
    await poll(() => page.evaluate(() => document.activeElement?.id)).toBe('proof-permit');
    await shot(page, 'desk-5-dismiss-proof.png');
    await page.keyboard.type('永规建字〔2020〕018号');
    await page.keyboard.press('Enter');
    await poll(async () => (await polygon(id)).status).toBe('dismissed');
    const h = (await reviewer.get(`/api/polygons/${id}/history`)).body.items.at(-1);
    expect(h.payload.proof).toEqual({ permit_ref: '永规建字〔2020〕018号' });
  });

  it('after a bulk action the view moves to a pending polygon; checked polygons outside the list still show', async () => {
    await page.goto(`${app.url}/#/`);
    await page.waitForSelector('.list li.row[aria-selected=true]');
    const ids = await page.locator('.list li.row').evaluateAll((els) => els.slice(0, 2).map((e) => Number((e as HTMLElement).dataset.id)));
    await page.click(`#row-${ids[0]} .code`);
    for (const id of ids) await page.click(`#row-${id} input.check`);
    await page.click('.bulkbar .act-dismiss');
    await page.waitForSelector('dialog.dismiss[open]');
    await page.keyboard.press('2');
    await poll(async () => (await polygon(ids[1])).status).toBe('dismissed');
    await poll(() => selectedId(page)).not.toBe(ids[0]);
    const now = await selectedId(page);
    expect(ids).not.toContain(now);
    expect(await page.getAttribute(`#row-${now}`, 'class')).toContain('st-pending');
    // check one, then search for another: the checked one stays in sight above the list
    const keep = Number(await page.locator('.list li.row.st-pending').first().getAttribute('data-id'));
    await page.click(`#row-${keep} input.check`);
    const other = await polygon(Number(await page.locator('.list li.row.st-pending').nth(3).getAttribute('data-id')));
    await page.fill('#q', other.code);
    await page.press('#q', 'Enter');
    await poll(() => page.locator('.queue > ul.list li.row').count()).toBe(1);
    await page.waitForSelector(`.off-list #off-${keep}`);
    await shot(page, 'desk-6-offlist.png');
    await page.keyboard.press('Escape');
  });

  it('on a phone: the queue with a field result, the dismiss dialog with its proof', async () => {
    const phone = await browser.newContext({ storageState: await ctx.storageState(), viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const p = await phone.newPage();
    p.on('pageerror', (e) => errors.push(e.message));
    await p.goto(`${app.url}/#/?field_result=1&status=all`);
    await p.waitForSelector('.list li.row .field-back', { state: 'attached' });
    // the top of the queue opens in the detail (the phone shows one pane at a time)
    await p.waitForSelector('.detail-body:not(.loading) .history');
    await p.screenshot({ path: path.join(SHOTS, 'desk-8-phone-detail.png'), fullPage: false });
    await p.click('.detail-head .back');
    await p.waitForSelector('.list li.row .field-back');
    await shot(p, 'desk-7-phone-queue.png');
    await p.keyboard.press('d');
    await p.waitForSelector('dialog.dismiss[open]');
    await p.keyboard.press('5');
    await p.waitForSelector('#proof-date');
    await shot(p, 'desk-7b-phone-dismiss-proof.png');
    await p.keyboard.press('Escape');
    await phone.close();
  });

  it('the QC screen and the dashboard count the outcomes lacking their proof', async () => {
    // an admin makes a field photo recommended for 合法/已批准: the dismissal above now lacks it
    const admin = await app.as('admin');
    const cur = (await admin.get('/api/proof-requirements')).body.items.map(({ subject, outcome, proof, enforced }: Record<string, unknown>) => ({ subject, outcome, proof, enforced }));
    expect((await admin.put('/api/admin/proof-requirements', { items: [...cur, { subject: 'dismiss', outcome: 'legal_permitted', proof: 'field_photo', enforced: false }] })).status).toBe(200);
    await page.goto(`${app.url}/#/qc`);
    await page.waitForSelector('#qc-proof-lacking');
    expect(await page.textContent('#qc-proof-lacking')).toBe('1');
    await shot(page, 'desk-9-qc-proof.png');
    await page.goto(`${app.url}/#/dashboard`);
    await poll(() => page.textContent('#kpi-proof')).toBe('1');
    await shot(page, 'desk-10-dashboard-proof.png');
    expect(errors).toEqual([]);
  });
});
