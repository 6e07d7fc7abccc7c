/**
 * What a town office expects in the 图斑台账 (issue 14.3): the village register (migration 010: village →
 * responsible person and phone, admin API and CSV import in UTF-8 or GBK) shown in the ledger, the village
 * report and the case detail; the ledger's delivered attributes (变化类型, 前时相, 后时相, 下发面积), centre
 * point, field finding, case outcome and next deadline; the case ledger oldest first; the GeoJSON with the
 * ledger's Chinese names (?names=zh); the filters in the download names.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { startApp, type Client, type TestApp, type UserClient } from '../helpers/api';
import { TEST_WORK_SRID } from '../helpers/snapshot';
import { LEDGER_HEADERS } from '../../server/exports/polygons';
import { CASE_HEADERS } from '../../server/exports/cases';
import { csvRows, decide, download, REGION, seedTown, sheetRows, type Town } from './dashboard-fixture';

const filenameStar = (h: string | null) => decodeURIComponent(/filename\*=UTF-8''([^;]+)/.exec(h ?? '')![1]);

describeEachDb('village register and the town office ledger', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let town: Town;
  let admin: UserClient;
  let reviewer: Client;

  beforeAll(async () => {
    db = await freshDb(backend);
    app = await startApp(db, { env: { TUBAN_REGION_CODE: REGION, TUBAN_WORK_SRID: String(TEST_WORK_SRID) } });
    town = await seedTown(app, '2021');
    admin = await app.as('admin');
    reviewer = town.reviewer;
    // A1 as delivered: change type, the two image dates, the delivered area
    await db.query(`UPDATE survey_polygon SET attrs = $2::jsonb WHERE id = $1`,
      [town.ids.A1, JSON.stringify({ 变化类型: '新增建设用地', 前时相: '2020-10-01', 后时相: '2021-06-15', 面积: 1187.46 })]);
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  it('keeps the register: admins set, list and remove; others read; bad input refused', async () => {
    const put = await admin.put(`/api/villages/register/${encodeURIComponent('东村')}`, { responsible: '李书记', phone: '0796-8123456' });
    expect(put.status, put.text).toBe(201);
    expect(put.body).toEqual({ village: '东村', responsible: '李书记', title: '村（居）书记', phone: '0796-8123456' });
    const again = await admin.put(`/api/villages/register/${encodeURIComponent('东村')}`, { responsible: '李四', title: '村（居）书记', phone: '13800001111' });
    expect(again.status).toBe(200);
    const list = await reviewer.get('/api/villages/register');
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ village: '东村', responsible: '李四', phone: '13800001111', updated_by: admin.user.username })]);
    expect((await reviewer.put(`/api/villages/register/${encodeURIComponent('东村')}`, { responsible: 'x' })).status).toBe(403);
    const bad = await admin.put(`/api/villages/register/${encodeURIComponent('东村')}`, { responsible: '李四', phone: 'call me' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message_zh).toBeTruthy();
    expect((await admin.put(`/api/villages/register/${encodeURIComponent('东村')}`, { responsible: '' })).status).toBe(400);
    await admin.put(`/api/villages/register/${encodeURIComponent('北村')}`, { responsible: '赵五' });
    expect((await admin.delete(`/api/villages/register/${encodeURIComponent('北村')}`)).status).toBe(204);
    expect((await admin.delete(`/api/villages/register/${encodeURIComponent('北村')}`)).status).toBe(404);
    // a village-limited reader sees their village's row only
    const east = await app.as('reviewer', { villages: ['西村'] });
    expect((await east.get('/api/villages/register')).body.items).toEqual([]);
  });

  it('imports the register from CSV, GBK as Excel saves it or UTF-8, and says which rows it refused', async () => {
    const csv = '村（社区）,责任人,职务,联系电话\r\n西村,王五,村（居）书记,13900002222\r\n南村,"陈六","主任",\r\n,无名,,\r\n东村,,,\r\n西村,重复,,\r\n不存在村,钱七,,0796-1\r\n坏电话村,孙八,,abc\r\n';
    const gbk = iconv.encode(csv, 'gbk');
    const post = (bytes: Uint8Array, type = 'text/csv') => fetch(new URL('/api/villages/register/import', app.url), {
      method: 'POST', headers: { cookie: admin.cookie!, 'content-type': type, origin: new URL(app.url).origin }, body: Buffer.from(bytes),
    });
    const r = await post(new Uint8Array(gbk));
    const body = await r.json();
    expect(r.status, JSON.stringify(body)).toBe(200);
    expect(body.inserted).toBe(3); // 西村, 南村, 不存在村
    expect(body.updated).toBe(0);
    expect(body.unknown_villages).toEqual(['不存在村']);
    expect(body.refused.map((x: { line: number }) => x.line)).toEqual([4, 5, 6, 8]);
    expect(body.refused[2].reason_zh).toContain('已在第 2 行出现');
    expect(body.refused[3].reason_zh).toContain('电话“abc”');
    const rows = (await admin.get('/api/villages/register')).body.items as { village: string; responsible: string; title: string; phone: string | null }[];
    expect(rows.find((x) => x.village === '南村')).toMatchObject({ responsible: '陈六', title: '主任', phone: null });
    expect(rows.find((x) => x.village === '东村')).toMatchObject({ responsible: '李四' }); // the refused row left it alone
    // UTF-8 with a BOM: an update
    const u = await post(new Uint8Array(Buffer.from('\ufeff村名,书记,电话\n南村,陈六六,13700003333\n', 'utf8')));
    expect(await u.json()).toMatchObject({ inserted: 0, updated: 1, refused: [] });
    // a file without the needed headers: 422, nothing stored
    const h = await post(new Uint8Array(Buffer.from('a,b\n1,2\n')));
    expect(h.status).toBe(422);
    expect((await h.json()).error.code).toBe('csv_headers');
    const field = await app.as('field', { villages: ['东村'] });
    expect((await fetch(new URL('/api/villages/register/import', app.url), { method: 'POST', headers: { cookie: field.cookie!, 'content-type': 'text/csv', origin: new URL(app.url).origin }, body: csv })).status).toBe(403);
  });

  it('writes the office\'s columns in the ledger: delivered attributes, centre, finding, outcome, deadline, responsible person', async () => {
    // a field finding on A5, and A3's case with its next deadline
    const field = await app.as('field', { villages: ['东村'] });
    const f = await field.post(`/api/polygons/${town.ids.A5}/findings`, { finding: 'under_construction', note: '二层框架，正在浇筑', client_id: randomUUID() });
    expect(f.status, f.text).toBe(201);
    const rows = csvRows((await download(app, reviewer, '/api/exports/ledger.csv', { survey: '2021' })).text());
    expect(rows[0]).toEqual(LEDGER_HEADERS);
    for (const h of ['变化类型', '前时相', '后时相', '下发面积（平方米）', '中心点经度', '中心点纬度', '核查结果', '整改情况', '时限', '责任人', '责任人电话']) expect(LEDGER_HEADERS).toContain(h);
    const col = (h: string) => LEDGER_HEADERS.indexOf(h);
    const row = (code: string) => rows.find((r) => r[1] === code)!;
    expect(row('A1')[col('变化类型')]).toBe('新增建设用地');
    expect(row('A1')[col('前时相')]).toBe('2020-10-01');
    expect(row('A1')[col('后时相')]).toBe('2021-06-15');
    expect(row('A1')[col('下发面积（平方米）')]).toBe('1187.46');
    expect(row('A1')[col('面积（平方米）')]).toBe('1200');
    // the centre in CGCS2000 lon/lat: the polygon's point on surface, as PostGIS transforms it
    const c = (await db.query<{ lon: number; lat: number }>(
      `SELECT ST_X(ST_Transform(ST_PointOnSurface(geom), 4490)) AS lon, ST_Y(ST_Transform(ST_PointOnSurface(geom), 4490)) AS lat FROM survey_polygon WHERE id = $1`, [town.ids.A1])).rows[0];
    expect(Number(row('A1')[col('中心点经度')])).toBeCloseTo(c.lon, 6);
    expect(Number(row('A1')[col('中心点纬度')])).toBeCloseTo(c.lat, 6);
    expect(row('A5')[col('核查结果')]).toMatch(new RegExp(`^在建：二层框架，正在浇筑（${field.user.username} \\d{4}-\\d{2}-\\d{2}）$`));
    expect(row('A1')[col('核查结果')]).toBe('');
    expect(row('A1')[col('责任人')]).toBe('李四（村（居）书记）');
    expect(row('A1')[col('责任人电话')]).toBe('13800001111');
    expect(row('B2')[col('责任人')]).toBe('王五（村（居）书记）');
    expect(row('N1')[col('责任人')]).toBe('');
    // A3's case is open: 整改中, and the next deadline of its open steps
    const caseId = (await db.query<{ id: number }>(`SELECT case_id AS id FROM case_polygon WHERE polygon_id = $1`, [town.ids.A3])).rows[0].id;
    const detail = (await reviewer.get(`/api/cases/${caseId}`)).body as { steps: { deadline: string | null; done_on: string | null; deadline_estimated: boolean }[]; responsible: unknown };
    const next = detail.steps.filter((s) => !s.done_on && s.deadline).map((s) => s).sort((a, b) => a.deadline!.localeCompare(b.deadline!))[0];
    expect(row('A3')[col('整改情况')]).toBe('整改中');
    expect(row('A3')[col('时限')]).toBe(next.deadline_estimated ? `${next.deadline}（预计）` : next.deadline);
    expect(row('A1')[col('时限')]).toBe('');
    // the case detail names the responsible person of its village
    expect(detail.responsible).toEqual({ village: '东村', responsible: '李四', title: '村（居）书记', phone: '13800001111' });
    // closed by demolition: the outcome in 整改情况
    const close = await town.analystB.post(`/api/cases/${caseId}/close`, { outcome: 'demolished', outcome_at: '2021-10-08', outcome_m2: 650.5 });
    expect(close.status, close.text).toBe(200);
    const after = csvRows((await download(app, reviewer, '/api/exports/ledger.csv', { survey: '2021' })).text()).find((r) => r[1] === 'A3')!;
    expect(after[col('整改情况')]).toBe('已拆除 650.50 平方米（2021-10-08）');
    expect(after[col('时限')]).toBe('');
    // XLSX: the image dates are dates, the centre and delivered area numbers
    const x = await sheetRows((await download(app, reviewer, '/api/exports/ledger.xlsx', { survey: '2021' })).bytes, '图斑台账');
    const a1 = x.find((r) => r[1] === 'A1')!;
    expect(a1[col('前时相')]).toEqual(new Date('2020-10-01T00:00:00Z'));
    expect(a1[col('下发面积（平方米）')]).toBe(1187.46);
    expect(typeof a1[col('中心点经度')]).toBe('number');
  });

  it('shows the responsible person in the village report', async () => {
    const html = (await reviewer.get(`/reports/village/${encodeURIComponent('东村')}`)).text;
    expect(html).toContain('责任人：李四（村（居）书记） · 联系电话 13800001111');
    const south = (await admin.get(`/reports/village/${encodeURIComponent('南村')}`)).text;
    expect(south).toContain('责任人：陈六六（村（居）书记）'); // the second import had no 职务 column: the default title
  });

  it('lists the case ledger oldest first: 序号 1 is the first case', async () => {
    const second = await town.analystA.post('/api/cases', { party: '周某', address: '东村 2 组', kind: 'existing', village: '东村', discovered_on: '2021-09-20' });
    expect(second.status, second.text).toBe(201);
    const c = csvRows((await download(app, reviewer, '/api/exports/cases.csv')).text());
    const numbers = c.slice(1).map((r) => r[CASE_HEADERS.indexOf('案件编号')]);
    const seqs = numbers.map((n) => Number(/第(\d+)号/.exec(n)![1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(c.slice(1).map((r) => r[0])).toEqual(seqs.map((_, i) => String(i + 1)));
    expect(numbers.at(-1)).toBe(second.body.number);
  });

  it('offers the GeoJSON with the ledger\'s Chinese names and Beijing times (?names=zh)', async () => {
    const d = await download(app, reviewer, '/api/exports/polygons.geojson', { survey: '2021', names: 'zh' });
    expect(d.status).toBe(200);
    const fc = JSON.parse(d.text());
    const csv = csvRows((await download(app, reviewer, '/api/exports/ledger.csv', { survey: '2021' })).text());
    expect(fc.features).toHaveLength(csv.length - 1);
    for (const f of fc.features) {
      expect(Object.keys(f.properties)).toEqual(LEDGER_HEADERS);
      const r = csv.find((x) => x[1] === f.properties['图斑编号'])!;
      // the same values as the CSV (numbers as numbers, empty as null)
      LEDGER_HEADERS.forEach((h, i) => expect(f.properties[h] === null ? '' : String(f.properties[h]), h).toBe(r[i]));
      const [lon, lat] = f.geometry.coordinates[0][0][0];
      expect(lon).toBeGreaterThan(73);
      expect(lat).toBeGreaterThan(3);
    }
    expect((await download(app, reviewer, '/api/exports/polygons.geojson', { names: 'fr' })).status).toBe(400);
  });

  it('names the downloads after their filters', async () => {
    const l = await download(app, reviewer, '/api/exports/ledger.xlsx', { village: '东村', status: 'verified' });
    expect(filenameStar(l.headers.get('content-disposition'))).toMatch(/^图斑台账-500118-东村-已核实-\d{8}\.xlsx$/);
    expect(l.headers.get('content-disposition')).toMatch(/filename="tuban-ledger-500118-verified-\d{8}\.xlsx"/);
    const c = await download(app, reviewer, '/api/exports/cases.csv', { village: '东村,西村', as_of: '2021-10-01' });
    expect(filenameStar(c.headers.get('content-disposition'))).toMatch(/^案件台账-500118-东村、西村-截至20211001-\d{8}\.csv$/);
    const z = await download(app, reviewer, '/api/exports/polygons.zip', { village: 'a/b' });
    expect(filenameStar(z.headers.get('content-disposition'))).toMatch(/^图斑-500118-a_b-\d{8}\.zip$/);
  });
});
