/**
 * The village report as a town office prints it (issue 14 item 4): Debian's chromium prints
 * /reports/village/<村名> to an A4 PDF (playwright page.pdf, what "Save as PDF" does), poppler reads it back
 * — pdftotext for the title, the responsible person and every table row; pdftotext -bbox for the row
 * numbers on the map, each printed a second time (table and map) at a legible size; pdfinfo for A4 and a
 * sane page count — and pdftoppm renders the pages to PNG in test-artifacts/ to be looked at. An unknown
 * village is an HTML 404 page in a browser, not JSON.
 *
 * poppler-utils must be installed (.ci/run installs it): locally the suite is skipped with a message when
 * it is missing; under CI (process.env.CI) a missing pdftoppm fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { freshDb, type TestDb } from '../helpers/db';
import { importTinySample } from '../helpers/sample';
import { startApp, type TestApp, type UserClient } from '../helpers/api';
import { MAP_LABEL_PT } from '../../server/dashboard/report';

const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync'];
const SHOTS = path.resolve('test-artifacts');

function has(cmd: string): boolean {
  try {
    execFileSync(cmd, ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const POPPLER = has('pdftoppm') && has('pdftotext') && has('pdfinfo');
if (!POPPLER && !process.env.CI) {
  console.warn('report-print: poppler-utils (pdftoppm, pdftotext, pdfinfo) not found, the print test is skipped. Install poppler-utils to run it.');
}

describe('poppler for the print test', () => {
  // in CI the print test must run, never skip
  it.runIf(!!process.env.CI)('is installed in CI (pdftoppm, pdftotext, pdfinfo) with chromium', () => {
    expect(POPPLER, 'poppler-utils missing: .ci/run installs it').toBe(true);
    expect(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}`).toBe(true);
  });
});

interface Word { text: string; page: number; x: number; y: number; h: number }

/** Every word of the PDF with its page and box (pdftotext -bbox: PDF points, top-left origin). */
async function words(pdf: string): Promise<Word[]> {
  const { stdout } = await run('pdftotext', ['-bbox', pdf, '-'], { maxBuffer: 1 << 26 });
  const out: Word[] = [];
  let page = 0;
  for (const line of stdout.split('\n')) {
    if (line.includes('<page ')) page++;
    const m = /<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)<\/word>/.exec(line);
    if (m) out.push({ text: m[4], page, x: Number(m[1]), y: Number(m[2]), h: Number(m[3]) - Number(m[2]) });
  }
  return out;
}

describe.runIf(existsSync(CHROMIUM) && (POPPLER || !!process.env.CI))('the village report printed to PDF', () => {
  let tmp: string;
  let db: TestDb;
  let app: TestApp;
  let reviewer: UserClient;
  let browser: Browser;
  let ctx: BrowserContext;
  let village: string;
  let codes: string[];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tuban-e2e-print-'));
    mkdirSync(SHOTS, { recursive: true });
    db = await freshDb('pglite');
    app = await startApp(db);
    await importTinySample(db, app.config, path.join(tmp, 'sample'));
    reviewer = await app.as('reviewer');
    // the village with the most polygons, some decided, and its responsible person registered
    const villages = (await db.query<{ v: string; n: number }>(
      `SELECT village_name AS v, count(*)::int AS n FROM survey_polygon WHERE village_name IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`)).rows;
    village = villages[0].v;
    const analyst = await app.as('analyst');
    const list = (await analyst.get('/api/polygons', { query: { village, status: 'pending', sort: 'code', limit: 100 } })).body.items as
      { id: number; code: string; version: number }[];
    codes = list.map((p) => p.code).sort();
    const bulk = async (action: string, items: { id: number; version: number }[], extra: Record<string, string> = {}) => {
      const r = await analyst.post('/api/decisions/bulk', { action, request_id: randomUUID(), items: items.map(({ id, version }) => ({ id, version })), ...extra });
      expect(r.status, r.text).toBe(200);
    };
    await bulk('verify', list.slice(0, 6));
    await bulk('dismiss', list.slice(6, 10), { reason: 'false_change' });
    const admin = await app.as('admin');
    expect((await admin.put(`/api/villages/register/${encodeURIComponent(village)}`, { responsible: '刘志强', phone: '0796-8123456' })).status).toBe(201);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    ctx = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const [name, value] = reviewer.cookie!.split(';')[0].split('=');
    await ctx.addCookies([{ name, value, url: app.url }]);
    await ctx.route((url) => !url.href.startsWith(app.url), (route) => route.abort());
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('prints to A4 with the title, the responsible person, every row, and the row numbers on the map', async () => {
    const page = await ctx.newPage();
    const res = await page.goto(`${app.url}/reports/village/${encodeURIComponent(village)}`);
    expect(res!.status()).toBe(200);
    const pdf = path.join(tmp, 'report.pdf');
    await page.pdf({ path: pdf, format: 'A4', preferCSSPageSize: true, printBackground: true });
    await page.close();

    const info = (await run('pdfinfo', [pdf])).stdout;
    const pages = Number(/^Pages:\s+(\d+)/m.exec(info)![1]);
    // A4 is 595 × 842 pt
    const [pw, ph] = /^Page size:\s+([\d.]+) x ([\d.]+) pts/m.exec(info)!.slice(1).map(Number);
    expect([Math.round(pw), Math.round(ph)]).toEqual([595, 842]);
    // figures + map on one or two pages, then the table at ~30 rows a page, photos and signatures
    expect(pages).toBeGreaterThanOrEqual(2);
    expect(pages).toBeLessThanOrEqual(3 + Math.ceil(codes.length / 25));

    const text = (await run('pdftotext', ['-layout', pdf, '-'], { maxBuffer: 1 << 26 })).stdout;
    expect(text).toContain(`${village}违法建设图斑核查情况报告`);
    expect(text).toContain('责任人：刘志强（村（居）书记） · 联系电话 0796-8123456');
    expect(text).toContain('图上数字为下表序号');
    for (const code of codes) expect(text, code).toContain(code);

    // every row number is printed twice: in the table and on the map, the map's at MAP_LABEL_PT
    const w = await words(pdf);
    const mapPage = w.find((x) => x.text.includes('图斑分布图'))!.page;
    for (let n = 1; n <= codes.length; n++) {
      const hits = w.filter((x) => x.text === String(n));
      expect(hits.length, `row ${n}`).toBeGreaterThanOrEqual(2);
      const onMap = hits.filter((x) => x.page === mapPage || x.page === mapPage + 1).map((x) => x.h);
      // legible at print size: not below 6 pt (the label is MAP_LABEL_PT; a glyph box is about its size)
      expect(Math.max(...onMap), `row ${n} on the map`).toBeGreaterThanOrEqual(6);
    }
    expect(MAP_LABEL_PT).toBeGreaterThanOrEqual(7);
    // the signature line is printed with the photos it signs for, never alone on a last page
    const photosPage = w.find((x) => x.text.includes('现场照片') && !x.text.includes('（'))?.page ?? w.find((x) => x.text.includes('现场照片'))!.page;
    const signPage = w.find((x) => x.text.includes('核查人'))!.page;
    expect(signPage).toBe(photosPage);
    expect(w.filter((x) => x.page === pages).length, 'the last page holds more than the signatures').toBeGreaterThan(12);

    // the pages as a person sees them: test-artifacts/report-print-<n>.png (150 dpi)
    for (const f of readdirSync(SHOTS).filter((f) => f.startsWith('report-print-'))) rmSync(path.join(SHOTS, f));
    await run('pdftoppm', ['-png', '-r', '110', pdf, path.join(SHOTS, 'report-print')]);
    const pngs = readdirSync(SHOTS).filter((f) => /^report-print-\d+\.png$/.test(f));
    expect(pngs).toHaveLength(pages);
  });

  it('answers an unknown village with an HTML 404 page in both languages, not JSON', async () => {
    const page = await ctx.newPage();
    const res = await page.goto(`${app.url}/reports/village/${encodeURIComponent('不存在村')}`);
    expect(res!.status()).toBe(404);
    expect(res!.headers()['content-type']).toMatch(/^text\/html/);
    expect(await page.textContent('h1')).toBe('未找到报告 / Report not found');
    expect(await page.textContent('body')).toContain('不存在村');
    expect(await page.locator('a[href="/"]').count()).toBeGreaterThan(0);
    await page.close();
  });
});
