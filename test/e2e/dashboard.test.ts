/**
 * The reviewer's dashboard and quality check in a real browser (issue 6): Debian's chromium driven by
 * playwright-core against the real server in-process, on an embedded PGlite holding the tiny synthetic
 * sample town with decisions made through the API. No network.
 *
 * What a reviewer does: lands on the dashboard, reads the figures (checked against GET /api/coverage),
 * clicks a figure through to its polygons in the queue (the list total is the figure), filters by village,
 * downloads the ledger, draws a quality-check sample, approves one decision and returns another.
 * Screenshots (1440×900 and a 390×844 phone) go to test-artifacts/ (gitignored): look at them.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freshDb, type TestDb } from '../helpers/db';
import { importTinySample } from '../helpers/sample';
import { startApp, type TestApp, type UserClient } from '../helpers/api';
import { buildWeb, isWebBuildFresh, WEB_OUT } from '../../scripts/build-web-if-needed';
import { createUser } from '../../server/auth/users';
import type { Coverage } from '../../server/dashboard/coverage';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync'];
const SHOTS = path.resolve('test-artifacts');
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
const PASSWORD = 'e2e-Password-2021';

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });
const digits = (s: string | null) => Number((s ?? '').replace(/[^\d]/g, ''));
const pct = (share: number | null) => (share === null ? '—' : `${Math.round(share * 100)}%`);

describe.runIf(existsSync(CHROMIUM))('reviewer dashboard and quality check in the browser', () => {
  let tmp: string;
  let db: TestDb;
  let app: TestApp;
  let analyst: UserClient;
  let reviewerApi: UserClient;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const outside: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tuban-e2e-dash-'));
    mkdirSync(SHOTS, { recursive: true });
    let webDir = WEB_OUT;
    if (!isWebBuildFresh(WEB_OUT)) {
      webDir = path.join(tmp, 'web');
      await buildWeb(webDir, { quiet: true });
    }
    db = await freshDb('pglite');
    app = await startApp(db, { env: { TUBAN_WEB_DIR: webDir } });
    await importTinySample(db, app.config, path.join(tmp, 'sample'));
    await createUser(db, { username: 'rev', displayName: '审核甲', role: 'reviewer', password: PASSWORD, mustChangePassword: false });
    reviewerApi = await app.as('reviewer');
    // an afternoon's work: verified, dismissed for two reasons, one field check, in several villages
    analyst = await app.as('analyst', { username: 'ana' });
    const list = (await analyst.get('/api/polygons', { query: { status: 'pending', sort: 'code', limit: 40 } })).body.items as
      { id: number; version: number }[];
    expect(list.length).toBeGreaterThanOrEqual(30);
    const bulk = async (action: string, items: { id: number; version: number }[], extra: Record<string, string> = {}) => {
      const r = await analyst.post('/api/decisions/bulk', { action, request_id: randomUUID(), items: items.map(({ id, version }) => ({ id, version })), ...extra });
      expect(r.status, r.text).toBe(200);
    };
    await bulk('verify', list.slice(0, 14));
    await bulk('dismiss', list.slice(14, 20), { reason: 'false_change' });
    await bulk('dismiss', list.slice(20, 24), { reason: 'temporary_use' }); // 农业设施 would need a field photo of each (proof per outcome)
    await bulk('request_field_check', list.slice(24, 27));

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    ctx = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', acceptDownloads: true });
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await ctx.route((url) => !url.href.startsWith(app.url), (route) => {
      outside.push(route.request().url());
      return route.abort();
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const coverage = async (query: Record<string, string> = {}) => {
    const r = await reviewerApi.get<Coverage>('/api/coverage', { query });
    expect(r.status, r.text).toBe(200);
    return r.body;
  };
  const ready = (p: Page) => p.waitForSelector('.dash-body[data-ready="1"][aria-busy="false"]');

  it('lands a reviewer on the dashboard with the figures of GET /api/coverage, the choropleth included', async () => {
    await page.goto(`${app.url}/`);
    await page.fill('#login-user', 'rev');
    await page.fill('#login-pass', PASSWORD);
    await page.click('form.login button[type=submit]');
    await ready(page);
    expect(page.url()).toContain('#/dashboard');
    const c = await coverage();
    expect(c.overall.decided).toBe(24);
    expect(await page.textContent('#kpi-share')).toBe(pct(c.overall.share));
    // one row per village, with the API's totals
    const rows = await page.$$eval('#village-table tbody tr', (trs) => trs.map((tr) => ({
      key: tr.getAttribute('data-key'), total: tr.querySelectorAll('td')[0].textContent, decided: tr.querySelectorAll('td')[1].textContent,
    })));
    expect(rows.map((r) => r.key)).toEqual(c.by_village.map((v) => v.village));
    for (const v of c.by_village) {
      const row = rows.find((r) => r.key === v.village)!;
      expect([digits(row.total), digits(row.decided)]).toEqual([v.total, v.decided]);
    }
    // the choropleth: a label (name + share) per village outline, and the canvas drawn
    const villages = c.by_village.filter((v) => v.village !== '-').length;
    await poll(() => page.locator('.village-label').count()).toBe(villages);
    const shareOf = (name: string) => pct(c.by_village.find((v) => v.village === name)?.share ?? null);
    const labels = await page.$$eval('.village-label', (els) => els.map((e) => [e.querySelector('span')!.textContent!, e.querySelector('b')!.textContent!]));
    for (const [name, share] of labels) if (share !== '—') expect(share, name).toBe(shareOf(name));
    // the weekly curve has this year's phases and a link per week
    expect(await page.locator('#p-weekly svg a.week').count()).toBe(c.weekly.weeks.length);
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-1-overview.png') });
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-1-full.png'), fullPage: true });
  });

  it('clicks a figure through to exactly its polygons in the queue, then back', async () => {
    const c = await coverage();
    const reason = c.by_reason.find((r) => r.reason === 'false_change')!;
    expect(reason.count).toBe(6);
    await page.click(`#p-outcomes .bars a[href*="reason=false_change"]`);
    // the workspace, with the dashboard filter shown and every status
    await page.waitForSelector('.extra-filter');
    expect(await page.textContent('.extra-filter')).toContain('误判变化');
    await poll(async () => digits((await page.textContent('.summary'))?.split('/')[1] ?? '')).toBe(reason.count);
    await poll(() => page.locator('.list li.row').count()).toBe(reason.count);
    // the live counts agree with the list: every one of them dismissed
    await poll(async () => digits(await page.textContent('[data-count=dismissed]'))).toBe(reason.count);
    expect(digits(await page.textContent('[data-count=verified]'))).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-2-clicked-through.png') });
    // clearing the dashboard filter shows all dismissed polygons
    await page.click('#clear-extra');
    await poll(async () => digits((await page.textContent('.summary'))?.split('/')[1] ?? '')).toBe(c.overall.dismissed);
    // a filter change is a history entry (issue 13 item 14): Back first restores the dashboard's filter,
    // then returns to the dashboard
    await page.goBack();
    await page.waitForSelector('.extra-filter');
    await poll(async () => digits((await page.textContent('.summary'))?.split('/')[1] ?? '')).toBe(reason.count);
    await page.goBack();
    await ready(page);
    expect(page.url()).toContain('#/dashboard');
  });

  it('filters the figures by village and keeps the filter in the link', async () => {
    const c = await coverage();
    const v = c.by_village.filter((x) => x.village !== '-').sort((a, b) => b.decided - a.decided)[0];
    await page.selectOption('#d-village', v.village);
    await poll(() => page.textContent('#kpi-share')).toBe(pct(v.share));
    expect(decodeURIComponent(page.url())).toContain(`village=${v.village}`);
    const rows = await page.locator('#village-table tbody tr').count();
    expect(rows).toBe(1);
    // the village's waiting polygons, through the village row
    await page.click(`#village-table tbody tr td:nth-child(5) a`);
    await poll(async () => digits((await page.textContent('.summary'))?.split('/')[1] ?? '')).toBe(v.pending + v.field_check);
    await page.goBack();
    await ready(page);
    await page.selectOption('#d-village', '');
    await poll(() => page.textContent('#kpi-share')).toBe(pct(c.overall.share));
  });

  it('filters the whole dashboard in place (village row, flag, batch, week) with removable chips, Back and clear all', async () => {
    const all = await coverage();
    const v = all.by_village.filter((x) => x.village !== '-').sort((a, b) => b.decided - a.decided)[0];
    const chips = () => page.$$eval('.dash-chip', (els) => els.map((e) => e.getAttribute('data-filter')));
    // "已处理 d / 共 n 个图斑": n
    const totalShown = async () => Number(/(\d+)\D*$/.exec((await page.textContent('#kpis .kpi.big .kpi-sub')) ?? '')?.[1]);
    expect(await chips()).toEqual([]);
    // a village row's name filters every figure to it (not a trip to the queue)
    await page.click(`#village-table tbody tr[data-key="${v.village}"] .row-filter`);
    await poll(chips).toEqual(['village']);
    await ready(page);
    expect(page.url()).toContain('#/dashboard');
    expect(decodeURIComponent(page.url())).toContain(`village=${v.village}`);
    expect(await page.textContent('#kpi-share')).toBe(pct(v.share));
    expect(await page.locator('#village-table tbody tr').count()).toBe(1);
    // a flag of that village, when it has one
    const inV = await coverage({ village: v.village });
    const flag = inV.by_flag.find((f) => f.total > 0 && f.flag !== 'no_village');
    if (flag) {
      await page.click(`#flag-table tbody tr[data-key="${flag.flag}"] .row-filter`);
      await poll(chips).toEqual(['village', 'flags']);
      await ready(page);
      await poll(totalShown).toBe(flag.total);
      await page.goBack(); // Back: the village alone again
      await poll(chips).toEqual(['village']);
      await poll(totalShown).toBe(v.total);
    }
    // a batch
    const batch = inV.by_batch[0];
    await page.click(`#batch-table tbody tr[data-key="${batch.batch_id}"] .row-filter`);
    await poll(chips).toEqual(['village', 'batch']);
    await poll(totalShown).toBe((await coverage({ village: v.village, batch: String(batch.batch_id) })).overall.total);
    await page.goBack();
    await poll(chips).toEqual(['village']);
    // a week of the curve: the polygons of the village first decided that week
    const week = inV.weekly.weeks.find((w) => w.decided > 0)!;
    await page.locator(`#p-weekly a.week[data-week="${week.week}"] .week-hit`).click();
    await poll(chips).toEqual(['village', 'week']);
    await ready(page);
    const inWeek = await coverage({ village: v.village, week: week.week });
    expect(inWeek.overall.total).toBe(week.decided);
    await poll(totalShown).toBe(week.decided);
    expect(await page.textContent('.dash-chip[data-filter=week]')).toContain(week.week);
    expect(await page.getAttribute('#p-weekly a.week.selected', 'data-week')).toBe(week.week);
    await page.evaluate(() => scrollTo(0, 0));
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-5-filtered.png') });
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-5-filtered-full.png'), fullPage: true });
    // the exports carry the same filter (the week as its first-outcome bounds)
    const ledger = new URL((await page.getAttribute('.exports a[href^="/api/exports/ledger.xlsx"]', 'href'))!, app.url);
    expect(Object.fromEntries(ledger.searchParams)).toEqual(inWeek.filter);
    // each figure still opens its polygons in the queue, with the same filters
    await page.click('#week-open a.fig');
    await page.waitForSelector('.extra-filter');
    await poll(async () => digits((await page.textContent('.summary'))?.split('/')[1] ?? '')).toBe(week.decided);
    await page.goBack();
    await ready(page);
    await poll(chips).toEqual(['village', 'week']);
    // a chip's × removes that filter only; Back brings it back
    await page.click('.dash-chip[data-filter=village] .chip-x');
    await poll(chips).toEqual(['week']);
    await poll(totalShown).toBe((await coverage({ week: week.week })).overall.total);
    await page.goBack();
    await poll(chips).toEqual(['village', 'week']);
    // clear all: the whole town
    await page.click('#dash-clear');
    await poll(chips).toEqual([]);
    await poll(() => page.textContent('#kpi-share')).toBe(pct(all.overall.share));
    expect(page.url()).toMatch(/#\/dashboard$/);
    // a village's outline on the map filters too (its label lets the click through to the outline), and
    // its popup keeps the links to the village's polygons in the queue
    await ready(page);
    const labelBox = await page.locator('.village-label', { hasText: v.village }).boundingBox();
    await page.mouse.click(labelBox!.x + labelBox!.width / 2, labelBox!.y + labelBox!.height / 2);
    await poll(chips).toEqual(['village']);
    await poll(() => page.textContent('#kpi-share')).toBe(pct(v.share));
    expect(await page.getAttribute('.village-pop a', 'href')).toContain(`village=${encodeURIComponent(v.village)}`);
    await page.click('#dash-clear');
    await poll(chips).toEqual([]);
  });

  it('downloads the ledger as XLSX with one row per polygon in view', async () => {
    const c = await coverage();
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('.exports a[href^="/api/exports/ledger.xlsx"]')]);
    expect(download.suggestedFilename()).toMatch(/\.xlsx$/);
    const file = path.join(tmp, 'ledger.xlsx');
    await download.saveAs(file);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    const sheet = wb.worksheets[0];
    // header row + one row per polygon
    expect(sheet.actualRowCount - 1).toBe(c.overall.total);
  });

  it('draws a quality-check sample, approves one decision and returns another with a comment', async () => {
    await page.click('nav.screens a[href="#/qc"]');
    await page.waitForSelector('#qc-n');
    await page.fill('#qc-n', '2');
    await page.fill('#qc-seed', 'e2e');
    await page.click('.qc-form button[type=submit]');
    await page.waitForSelector('#qc-items tbody tr');
    const id = Number(/sample=(\d+)/.exec(page.url())![1]);
    const api = (await reviewerApi.get(`/api/qc/samples/${id}`)).body as { items: { id: number; polygon_id: number; code: string }[] };
    expect(await page.locator('#qc-items tbody tr').count()).toBe(api.items.length);
    expect(await page.textContent('#qc-reviewed')).toBe('0%');

    const [first, second] = api.items;
    await page.click(`#qc-items tr[data-item="${first.id}"] .qc-approve`);
    await page.waitForSelector(`#qc-items tr[data-item="${first.id}"].done.approve`);
    await page.click(`#qc-items tr[data-item="${second.id}"] .qc-return`);
    await page.waitForSelector('#qc-comment');
    // a return needs a comment
    await page.click('#qc-return-ok');
    expect(await page.textContent('dialog .error')).toContain('须填写意见');
    await page.fill('#qc-comment', '照片显示为已批准的农房，请重新核实');
    await page.click('#qc-return-ok');
    await page.waitForSelector(`#qc-items tr[data-item="${second.id}"].done.return`);
    await poll(() => page.textContent('#qc-reviewed')).toBe(pct(2 / api.items.length));
    expect(await page.textContent('#qc-agreement')).toBe('50%');
    // the returned polygon is back in the queue, with the comment in its history
    const back = (await reviewerApi.get(`/api/polygons/${second.polygon_id}`)).body;
    expect(back.status).toBe('pending');
    const hist = (await reviewerApi.get(`/api/polygons/${second.polygon_id}/history`)).body.items as { action: string; note: string | null }[];
    expect(hist.at(-1)).toMatchObject({ action: 'return', note: '照片显示为已批准的农房，请重新核实' });
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-3-qc.png') });
  });

  it('fits a phone: no sideways scrolling, figures still readable', async () => {
    const phone = await browser.newContext({ viewport: PHONE, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', isMobile: true, hasTouch: true });
    await phone.route((url) => !url.href.startsWith(app.url), (route) => route.abort());
    const p = await phone.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(`${app.url}/#/dashboard`);
    await p.fill('#login-user', 'rev');
    await p.fill('#login-pass', PASSWORD);
    await p.click('form.login button[type=submit]');
    await ready(p);
    expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await p.screenshot({ path: path.join(SHOTS, 'dashboard-4-phone.png') });
    // filtered in place on the phone: the chip and the way back fit too
    await p.locator('#village-table tbody .row-filter').first().click();
    await p.waitForSelector('.dash-chip[data-filter=village]');
    await ready(p);
    expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    expect(await p.isVisible('#dash-clear')).toBe(true);
    await p.evaluate(() => scrollTo(0, 0));
    await p.screenshot({ path: path.join(SHOTS, 'dashboard-6-phone-filtered.png') });
    await phone.close();
  });

  it('keeps the village register (#/villages): an admin registers, edits and imports a CSV with the refused lines listed; a reviewer reads', async () => {
    await createUser(db, { username: 'boss', displayName: '管理员', role: 'admin', password: PASSWORD, mustChangePassword: false });
    const adminCtx = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    await adminCtx.route((url) => !url.href.startsWith(app.url), (route) => route.abort());
    const a = await adminCtx.newPage();
    a.on('pageerror', (e) => pageErrors.push(e.message));
    await a.goto(`${app.url}/#/villages`);
    await a.fill('#login-user', 'boss');
    await a.fill('#login-pass', PASSWORD);
    await a.click('form.login button[type=submit]');
    await a.waitForSelector('#vr-table tbody tr');
    // the village layer's villages, none registered yet
    const villages = (await reviewerApi.get('/api/coverage/villages.geojson', { query: { figures: '0' } })).body;
    const names = (JSON.parse(typeof villages === 'string' ? villages : JSON.stringify(villages)).features as { properties: { name: string } }[]).map((f) => f.properties.name);
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect(await a.locator('#vr-table tbody tr.unregistered').count()).toBe(names.length);
    // register one through the form
    await a.fill('#vr-new-village', names[0]);
    await a.fill('#vr-new-resp', '王建国');
    await a.fill('#vr-new-phone', '13800001234');
    await a.click('#vr-add button[type=submit]');
    await a.waitForSelector(`#vr-table tr[data-village="${names[0]}"] .vr-resp`);
    expect(await a.textContent(`#vr-table tr[data-village="${names[0]}"] .vr-resp`)).toBe('王建国');
    expect((await reviewerApi.get('/api/villages/register')).body.items).toEqual([expect.objectContaining({ village: names[0], responsible: '王建国', title: '村（居）书记', phone: '13800001234' })]);
    // a bad phone in the row editor: refused, said beside the fields, nothing stored
    await a.click(`#vr-table tr[data-village="${names[0]}"] .vr-edit`);
    await a.fill('tr.editing .vr-in-phone', 'call me');
    await a.click('tr.editing .vr-save');
    await poll(() => a.textContent('tr.editing .error')).not.toBe('');
    await a.keyboard.press('Escape');
    await poll(() => a.locator('tr.editing').count()).toBe(0);
    expect((await reviewerApi.get('/api/villages/register')).body.items[0].phone).toBe('13800001234');
    // the office's CSV, as Excel zh-CN saves it (GBK): two good lines, two refused
    const csv = `村（社区）,责任人,职务,联系电话\r\n${names[1]},李红梅,村委会主任,0796-8123456\r\n${names[1]},重复,,\r\n${names[0]},,,\r\n新建村,赵六,,13900002222\r\n`;
    const file = { name: '名册.csv', mimeType: 'text/csv', buffer: iconv.encode(csv, 'gbk') };
    await a.setInputFiles('#vr-file', file);
    await a.click('#vr-import-go');
    await a.waitForSelector('#vr-refused');
    expect(await a.textContent('#vr-counts')).toBe('新增 2 个，更新 0 个，拒绝 2 行');
    const refused = await a.$$eval('#vr-refused tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-line'), tr.querySelectorAll('td')[1].textContent]));
    expect(refused).toEqual([['3', `${names[1]} 已在第 2 行出现`], ['4', `${names[0]}：缺少责任人（或超过 100 字）`]]);
    expect(await a.textContent('#vr-unknown')).toContain('新建村');
    expect(await a.textContent(`#vr-table tr[data-village="${names[1]}"] .vr-resp`)).toBe('李红梅');
    await a.screenshot({ path: path.join(SHOTS, 'villages-1-admin.png'), fullPage: true });
    await a.setViewportSize(PHONE);
    expect(await a.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width + 1);
    await a.screenshot({ path: path.join(SHOTS, 'villages-2-phone.png'), fullPage: true });
    await a.setViewportSize(DESKTOP);
    // in English the refusals are in English
    await a.evaluate(() => localStorage.setItem('tuban.lang', 'en'));
    await a.reload();
    await a.waitForSelector('#vr-file');
    await a.setInputFiles('#vr-file', file);
    await a.click('#vr-import-go');
    await a.waitForSelector('#vr-refused');
    expect(await a.textContent('#vr-counts')).toBe('0 added, 2 updated, 2 lines refused');
    expect(await a.textContent('#vr-refused tbody tr[data-line="3"] td:nth-child(2)')).toBe(`${names[1]} already on line 2`);
    // a file without the needed header: the whole import refused, said why
    await a.setInputFiles('#vr-file', { name: 'x.csv', mimeType: 'text/csv', buffer: Buffer.from('a,b\n1,2\n') });
    await a.click('#vr-import-go');
    await poll(() => a.textContent('#vr-import-error')).toContain('header row needs a village column');
    await adminCtx.close();
    // a reviewer reads the register and cannot change it
    await page.goto(`${app.url}/#/villages`);
    await page.waitForSelector('#vr-table tbody tr');
    expect(await page.isVisible('#vr-readonly')).toBe(true);
    expect(await page.locator('#vr-import, #vr-add, .vr-edit, .vr-delete').count()).toBe(0);
    expect(await page.textContent(`#vr-table tr[data-village="${names[0]}"] .vr-resp`)).toBe('王建国');
    await page.screenshot({ path: path.join(SHOTS, 'villages-3-reviewer.png') });
  });

  it('reached nothing outside the server and threw no page error', () => {
    expect(outside).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
