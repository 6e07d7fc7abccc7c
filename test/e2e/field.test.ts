/**
 * The field page on a phone (issue 5): Debian's chromium driven by playwright-core, 390×844 touch viewport,
 * geolocation overridden, against the real server in-process with an embedded PGlite holding the tiny
 * synthetic sample town. Opens a signed link, finds the polygon (distance, bearing), records a finding with
 * photos, records one offline and sees it arrive once, and sees an expired and a revoked link refused.
 *
 * Runs only where the browser exists (CHROMIUM_PATH, default /usr/bin/chromium). The page is the current
 * dist/field when it is up to date, else it is built into a temporary directory. Screenshots go to
 * test-artifacts/field-*.png: look at them.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freshDb, type TestDb } from '../helpers/db';
import { importTinySample } from '../helpers/sample';
import { startApp, type TestApp, type UserClient } from '../helpers/api';
import { buildField, FIELD_OUT, isFieldBuildFresh } from '../../scripts/build-field-if-needed';
import { createUser } from '../../server/auth/users';
import { relate, toGcj02, type LonLat } from '../../web-field/src/geo';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync'];
const SHOTS = path.resolve('test-artifacts');
const PHONE = { width: 390, height: 844 };
const PHOTO = path.resolve('test/fixtures/photos/gps.jpg');
const PASSWORD = 'field-Password-2021';

interface Target {
  id: number;
  code: string;
  village: string;
  geometry: { type: 'MultiPolygon'; coordinates: number[][][][] };
  target: LonLat;
}

describe.runIf(existsSync(CHROMIUM))('field page on a phone', () => {
  let tmp: string;
  let db: TestDb;
  let app: TestApp;
  let analyst: UserClient;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let token: string;
  let polys: Target[];
  /** where the phone is: ~120 m south-west of the first polygon */
  let here: LonLat;
  const pageErrors: string[] = [];

  const shot = (p: Page, name: string) => p.screenshot({ path: path.join(SHOTS, `field-${name}.png`) });
  const findingsOf = async (id: number) =>
    (await db.query<{ client_id: string; finding: string; photo_ids: string[] }>('SELECT client_id, finding, photo_ids FROM field_finding WHERE polygon_id = $1 ORDER BY id', [id])).rows;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tuban-e2e-field-'));
    mkdirSync(SHOTS, { recursive: true });
    // the field page is served from <webDir>/../field
    let webDir = path.join(path.dirname(FIELD_OUT), 'web');
    if (!isFieldBuildFresh(FIELD_OUT)) {
      webDir = path.join(tmp, 'web');
      await buildField(path.join(tmp, 'field'), { quiet: true });
    }
    db = await freshDb('pglite');
    app = await startApp(db, { env: { TUBAN_WEB_DIR: webDir, TUBAN_DATA_DIR: path.join(tmp, 'data') } });
    await importTinySample(db, app.config, path.join(tmp, 'sample'));
    analyst = await app.as('analyst');
    const list = await analyst.get('/api/polygons', { query: { status: 'pending', limit: 50 } });
    const withVillage = list.body.items.filter((x: { village: string | null }) => x.village);
    polys = [];
    for (const it of withVillage.slice(0, 2)) {
      const d = await analyst.get(`/api/field/polygons/${it.id}`);
      polys.push({ id: it.id, code: it.code, village: it.village, geometry: d.body.polygon.geometry, target: d.body.polygon.target.coordinates });
    }
    here = [polys[0].target[0] - 0.0009, polys[0].target[1] - 0.0008];
    const link = await analyst.post('/api/field-links', { polygon_ids: polys.map((p) => p.id), label: '李四（村干部）' });
    expect(link.status, link.text).toBe(201);
    token = link.body.token;
    await createUser(db, { username: 'cadre', displayName: '王村干', role: 'field', villages: [polys[0].village], password: PASSWORD, mustChangePassword: false });

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    ctx = await browser.newContext({
      viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 1, locale: 'zh-CN', timezoneId: 'Asia/Shanghai',
      geolocation: { latitude: here[1], longitude: here[0], accuracy: 8 }, permissions: ['geolocation'],
    });
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('opens a signed link: the list, then the polygon with distance, bearing and navigation links', async () => {
    await page.goto(`${app.url}/f/${token}`);
    await page.waitForSelector('body[data-ready=list]');
    await expect.poll(() => page.locator('.worklist .row').count()).toBe(2);
    await expect.poll(() => page.textContent('.worklist .row-dist')).toMatch(/米/);
    await shot(page, '1-link-list');

    await page.click(`.worklist .row[data-code="${polys[0].code}"]`);
    await page.waitForSelector('body[data-ready=polygon]');
    await page.waitForSelector('[data-direction][data-distance]');
    const expected = relate(here, polys[0].geometry as never);
    const shown = Number(await page.getAttribute('[data-direction]', 'data-distance'));
    expect(Math.abs(shown - expected.distance)).toBeLessThan(1);
    expect(expected.distance).toBeGreaterThan(50);
    // south-west of it: walk north-east
    expect(await page.textContent('.direction .toward')).toContain('向东北走');
    expect(await page.textContent('.direction .big')).toMatch(/距图斑 \d+ 米/);
    expect(await page.textContent('h1.code')).toBe(polys[0].code);
    expect(await page.textContent('.facts')).toContain('亩');
    expect(await page.textContent('.linkinfo')).toContain('李四（村干部）');
    // the map draws the cadastral parcel lines around the polygon (issue 16 item 12), not a bare grid
    await expect.poll(() => page.locator('svg.overlay path.poly.parcel').count(), { timeout: 20_000 }).toBeGreaterThan(3);
    const amap = await page.getAttribute('a[data-nav=amap]', 'href');
    const [glon, glat] = toGcj02(polys[0].target);
    expect(amap).toContain(`position=${glon.toFixed(6)},${glat.toFixed(6)}`);
    expect(await page.getAttribute('a[data-nav=geo]', 'href')).toMatch(/^geo:\d+\.\d+,\d+\.\d+/);
    expect(await page.getAttribute('a[data-nav=baidu]', 'href')).toContain('coord_type=bd09ll');
    await expect.poll(() => page.locator('svg.overlay circle.me').count()).toBe(1);
    await shot(page, '2-polygon');
  });

  it('records a finding with two photos: EXIF kept, the big one resized on the phone, a far-away warning', async () => {
    // a 12 MP photo with EXIF, to go through the phone's resize
    const big = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#6b8e23' } })
      .composite([{ input: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4000" height="3000"><rect x="1200" y="900" width="1600" height="1200" fill="#b0a090"/></svg>') }])
      .jpeg({ quality: 90 })
      .withExif({ IFD0: { Make: 'Xiaomi', Model: 'Redmi' }, IFD2: { DateTimeOriginal: '2021:07:23 08:05:00' } })
      .toBuffer();
    await page.check('input[name=finding][value=under_construction]');
    await page.fill('textarea[name=note]', '正在浇筑二层楼板，现场无施工许可公示');
    await page.setInputFiles('input[data-photo-input]', [
      { name: 'gps.jpg', mimeType: 'image/jpeg', buffer: readFileSync(PHOTO) },
      { name: 'big.jpg', mimeType: 'image/jpeg', buffer: big },
    ]);
    await expect.poll(() => page.locator('.field-form figure.photo').count(), { timeout: 30_000 }).toBe(2);
    // taken ~120 m away: flagged on the page
    await expect.poll(() => page.locator('.field-form figure.photo.far').count()).toBe(2);
    expect(await page.textContent('.field-form .far-warning')).toMatch(/请到现场拍摄/);
    expect(await page.textContent('.field-form figure.photo .caption')).toContain(polys[0].code);
    await page.locator('.field-form').scrollIntoViewIfNeeded();
    await shot(page, '3-form-photos');

    await page.click('[data-submit]');
    await page.waitForSelector('.outbox li[data-state=sent]', { timeout: 30_000 });
    const rows = await findingsOf(polys[0].id);
    expect(rows).toHaveLength(1);
    expect(rows[0].finding).toBe('under_construction');
    expect(rows[0].photo_ids).toHaveLength(2);
    const ev = (await db.query<{ width: number; height: number; taken_at: Date; distance_m: number; distance_from: string; client_exif: Record<string, unknown>; exif: Record<string, unknown> }>(
      'SELECT width, height, taken_at, distance_m, distance_from, client_exif, exif FROM evidence WHERE polygon_id = $1 ORDER BY id', [polys[0].id],
    )).rows;
    expect(ev).toHaveLength(2);
    // the outbox sends photos in no particular order
    ev.sort((a, b) => a.width - b.width);
    // the fixture went as it was (small JPEG): the server read its EXIF itself
    expect([ev[0].width, ev[0].height]).toEqual([640, 480]);
    expect(ev[0].exif.GPSLatitude).toEqual([29, 24, 12.34]);
    expect(new Date(ev[0].taken_at).toISOString()).toBe('2021-07-21T02:30:00.000Z');
    // the 12 MP one was resized to ~2 MP, its EXIF read on the phone before
    expect(ev[1].width * ev[1].height).toBeLessThan(2_100_000);
    expect(ev[1].width * ev[1].height).toBeGreaterThan(1_800_000);
    expect(ev[1].client_exif.Model, JSON.stringify(ev)).toBe('Redmi');
    expect(Object.keys(ev[1].exif)).toHaveLength(0);
    expect(new Date(ev[1].taken_at).toISOString()).toBe('2021-07-23T00:05:00.000Z');
    for (const e of ev) {
      expect(e.distance_from).toBe('device');
      expect(Math.abs(e.distance_m - relate(here, polys[0].geometry as never).distance)).toBeLessThan(2);
    }
    // the history shows it with its photos
    await page.waitForSelector('.history li[data-action=field_finding] figure.photo img[src^="blob:"]', { timeout: 20_000 });
    expect(await page.textContent('.history li[data-action=field_finding]')).toContain('在建');
    await page.locator('.history').scrollIntoViewIfNeeded();
    await shot(page, '4-sent-history');
  });

  it('records a finding offline, shows it waiting, and sends it once when the network returns', async () => {
    // the service worker controls the page (it took over on its first load)
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await page.reload();
    await page.waitForSelector('body[data-ready=polygon]');
    expect(await page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);

    await ctx.setOffline(true);
    // offline, the page and the polygon still load (from the service worker's caches)
    await page.reload();
    await page.waitForSelector('body[data-ready=polygon]');
    expect(await page.textContent('h1.code')).toBe(polys[0].code);
    expect(await page.textContent('.banner.offline')).toContain('离线数据');
    await page.waitForSelector('body[data-detail=full]');
    await page.waitForSelector('.history li[data-action=field_finding] figure.photo img[src^="blob:"]');
    await shot(page, '5a-offline-reload');
    await page.check('input[name=finding][value=completed]');
    await page.setInputFiles('input[data-photo-input]', PHOTO);
    await expect.poll(() => page.locator('.field-form figure.photo').count(), { timeout: 30_000 }).toBe(1);
    await page.click('[data-submit]');
    await page.waitForSelector('.outbox li[data-state=waiting]', { timeout: 20_000 });
    await expect.poll(() => page.getAttribute('[data-net]', 'data-pending')).toBe('1');
    expect(await page.textContent('[data-net]')).toContain('离线');
    const clientId = await page.getAttribute('.outbox li[data-state=waiting]', 'data-client-id');
    await page.locator('.outbox').scrollIntoViewIfNeeded();
    await shot(page, '5-offline-waiting');
    expect((await findingsOf(polys[0].id)).map((r) => r.client_id)).not.toContain(clientId);

    await ctx.setOffline(false);
    await page.waitForSelector(`.outbox li[data-client-id="${clientId}"][data-state=sent]`, { timeout: 60_000 });
    await expect.poll(() => page.getAttribute('[data-net]', 'data-pending')).toBe('0');
    const after = await findingsOf(polys[0].id);
    expect(after.filter((r) => r.client_id === clientId)).toHaveLength(1);
    expect(after).toHaveLength(2);
    // nothing is sent twice afterwards
    await page.reload();
    await page.waitForSelector('body[data-ready=polygon]');
    await page.waitForTimeout(1500);
    expect(await findingsOf(polys[0].id)).toHaveLength(2);
    const n = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM polygon_event WHERE polygon_id = $1 AND action = 'field_finding'", [polys[0].id]);
    expect(n.rows[0].n).toBe(2);
    await page.locator('.outbox').scrollIntoViewIfNeeded();
    await shot(page, '6-back-online');
  });

  it('refuses an expired and a revoked link clearly, in Chinese and English', async () => {
    const expired = await analyst.post('/api/field-links', { polygon_ids: [polys[1].id] });
    await db.query(`UPDATE field_link SET created_at = now() - interval '9 days', expires_at = now() - interval '2 days' WHERE id = $1`, [expired.body.link.id]);
    const p = await ctx.newPage();
    await p.goto(`${app.url}/f/${expired.body.token}`);
    await p.waitForSelector('[data-refusal=field_link_expired]');
    expect(await p.textContent('h1')).toBe('链接已过期');
    expect(await p.textContent('body')).toContain('Link expired');
    await shot(p, '7-expired');

    const revoked = await analyst.post('/api/field-links', { polygon_ids: [polys[1].id] });
    await analyst.delete(`/api/field-links/${revoked.body.link.id}`);
    await p.goto(`${app.url}/f/${revoked.body.token}`);
    await p.waitForSelector('[data-refusal=field_link_revoked]');
    expect(await p.textContent('h1')).toBe('链接已撤销');
    expect(await p.textContent('body')).toContain('Link withdrawn');
    await shot(p, '8-revoked');

    // the link revoked while its page is open: the next request says so
    const live = await analyst.post('/api/field-links', { polygon_ids: [polys[1].id] });
    await p.goto(`${app.url}/f/${live.body.token}`);
    await p.waitForSelector('body[data-ready=polygon]');
    await analyst.delete(`/api/field-links/${live.body.link.id}`);
    await p.evaluate(() => window.dispatchEvent(new HashChangeEvent('hashchange')));
    await p.waitForSelector('[data-error=field_link_revoked]');
    expect(await p.textContent('.error-card')).toContain('撤销');
    await p.close();
  });

  it('a village cadre logs in once on /p/<code>, and prints the village sheet', async () => {
    const phone = await browser.newContext({
      viewport: PHONE, isMobile: true, hasTouch: true, locale: 'zh-CN', timezoneId: 'Asia/Shanghai',
      geolocation: { latitude: here[1], longitude: here[0], accuracy: 15 }, permissions: ['geolocation'],
    });
    const p = await phone.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(`${app.url}/p/${encodeURIComponent(polys[0].code)}`);
    await p.waitForSelector('#login-user');
    await shot(p, '9-login');
    await p.fill('#login-user', 'cadre');
    await p.fill('#login-pass', PASSWORD);
    await p.click('form.login button[type=submit]');
    await p.waitForSelector('body[data-ready=polygon]');
    await p.waitForSelector('[data-direction][data-distance]');
    // the history shows what the link holder reported
    await p.waitForSelector('.history li[data-action=field_finding]');
    expect(await p.locator('.history li[data-action=field_finding]').count()).toBe(2);
    // English on request
    await p.click('button.lang');
    await p.waitForSelector('body[data-ready=polygon]');
    await expect.poll(() => p.textContent('.direction .big')).toMatch(/from the polygon/);
    await shot(p, '10-english');

    await p.goto(`${app.url}/p/sheet/${encodeURIComponent(polys[0].village)}`);
    await p.waitForSelector('section.card');
    const cards = await p.locator('section.card').count();
    expect(cards).toBeGreaterThan(0);
    expect(await p.locator('section.card .qr svg').count()).toBe(cards);
    await shot(p, '11-sheet');
    await phone.close();
  });

  it('works offline after a single online visit (issue 16 item 11)', async () => {
    // a new phone: no service worker yet. One visit online, no reload, then the network goes away.
    const phone = await browser.newContext({
      viewport: PHONE, isMobile: true, hasTouch: true, locale: 'zh-CN', timezoneId: 'Asia/Shanghai',
      geolocation: { latitude: here[1], longitude: here[0], accuracy: 8 }, permissions: ['geolocation'],
    });
    const p = await phone.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(`${app.url}/f/${token}#${encodeURIComponent(polys[1].code)}`);
    await p.waitForSelector('body[data-ready=polygon]');
    await p.waitForSelector('body[data-detail=full]');
    // the page says when it is ready to work without a network
    await p.waitForSelector('body[data-offline=ready]', { timeout: 30_000 });
    expect(await p.textContent('[data-offline-note]')).toContain('可离线使用');

    await phone.setOffline(true);
    await p.reload();
    await p.waitForSelector('body[data-ready=polygon]');
    expect(await p.textContent('h1.code')).toBe(polys[1].code);
    expect(await p.textContent('.banner.offline')).toContain('离线数据');
    // the list of the link too, from the same first visit
    await p.evaluate(() => { location.hash = ''; });
    await p.waitForSelector('body[data-ready=list]');
    expect(await p.locator('.worklist .row').count()).toBe(2);
    await shot(p, '12-offline-first-visit');
    await phone.close();
  });

  it('raised no page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
