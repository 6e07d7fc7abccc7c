/**
 * The public report page on a phone (issue 16 items 2, 5, 6): Debian's chromium driven by playwright-core at
 * 390×844 with touch and a GPS position, against the real server in-process (PGlite, the leads test town).
 * No account: choose the place by GPS, see the open item within 50 m offered, pick a category, write a
 * description, attach a photo, submit, get the receipt; an analyst decides on the lead through the API; the
 * status page shows the change. Screenshots go to test-artifacts/report-*.png: look at them.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { leadTown, toLonLat, type LeadTown } from '../integration/leads-fixture';
import { decide } from '../integration/dashboard-fixture';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync'];
const SHOTS = path.resolve('test-artifacts');
const PHOTO = path.resolve('test/fixtures/photos/gps.jpg');

describe.runIf(existsSync(CHROMIUM))('public report page on a phone', () => {
  let t: LeadTown;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const shot = (p: Page, name: string) => p.screenshot({ path: path.join(SHOTS, `report-${name}.png`), fullPage: name !== 'form' });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    t = await leadTown('pglite');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    // 20 m north of TB2 (an open survey polygon): the page offers it as an item already being handled
    const [lon, lat] = toLonLat(325, 170);
    ctx = await browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN',
      geolocation: { longitude: lon, latitude: lat, accuracy: 8 }, permissions: ['geolocation'],
    });
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('submit a report with a photo, get the receipt, see the status change after an analyst decides', async () => {
    await page.goto(`${t.app.url}/report`);
    await page.waitForSelector('#map path.village');
    expect(await page.locator('#map path.village').count()).toBe(2);
    await shot(page, 'form');

    // a tap on the map places the pin; then the phone's GPS replaces it
    const box = (await page.locator('#map').boundingBox())!;
    await page.locator('#map').tap({ position: { x: box.width * 0.3, y: box.height * 0.5 } });
    await expect.poll(() => page.locator('#place').textContent()).toContain('地图点选');
    await page.locator('#gps').tap();
    await expect.poll(() => page.locator('#place').textContent()).toContain('GPS');
    await page.waitForSelector('#nearby:not([hidden]) input[name=add_to_choice]');
    expect(await page.locator('#nearby').textContent()).toContain('已在处理');
    // it is a new case, not the polygon nearby: keep the default choice
    expect(await page.locator('#nearby input[value=""]').isChecked()).toBe(true);

    await page.locator('input[name=category][value=compound]').check();
    await page.locator('textarea[name=description]').fill('小区东侧绿地上正在搭建板房，已有一周');
    await page.locator('#photos').setInputFiles(PHOTO);
    await page.locator('input[name=phone]').fill('13855556666');
    await shot(page, 'filled');
    await page.locator('#submit').tap();
    await page.waitForSelector('#receipt:not([hidden])');
    const code = (await page.locator('#receipt-code').textContent())!.trim();
    const href = (await page.locator('#receipt-link').getAttribute('href'))!;
    expect(code).toMatch(/^[A-Z2-9]{10}$/);
    expect(href).toMatch(new RegExp(`^/report/${code}#.+`));
    expect(await page.locator('#receipt-state').textContent()).toContain('已受理');
    await shot(page, 'receipt');

    // the lead is in the analysts' queue with the photo; the phone is not in what the analyst sees
    const q = await t.analyst.get('/api/polygons', { query: { source: 'report' } });
    expect(q.body.total).toBe(1);
    const lead = q.body.items[0];
    expect(lead).toMatchObject({ code: `JB-${code}`, village: '东村', duplicate_of: t.ids.TB2 });
    const detail = await t.analyst.get(`/api/polygons/${lead.id}`);
    expect(detail.text).not.toContain('13855556666');
    expect((await t.analyst.get(`/api/polygons/${lead.id}/evidence`)).body.evidence).toHaveLength(1);

    await page.goto(`${t.app.url}${href}`);
    await expect.poll(() => page.locator('#state').textContent()).toBe('已受理');
    await shot(page, 'status-received');

    await decide(t.analyst, lead.id, 'verify');
    await page.reload();
    await expect.poll(() => page.locator('#state').textContent()).toBe('已处理');
    const text = (await page.locator('#status').textContent())!;
    expect(text).toContain('状态日期');
    await shot(page, 'status-done');

    // without the secret the page says so and shows nothing of the report
    await page.goto(`${t.app.url}/report/${code}`);
    await expect.poll(() => page.locator('#status').textContent()).toContain('链接不完整');
    expect(pageErrors).toEqual([]);
  });
});
