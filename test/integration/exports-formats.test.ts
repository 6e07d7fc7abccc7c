/**
 * Exports: the ledger (台账) as XLSX read back with exceljs and as CSV with a BOM, GeoJSON in EPSG:4326, the
 * zipped shapefile re-imported by the real importer with the same geometries and attributes, the case
 * ledger; download names (RFC 5987); filters; a village-limited reviewer seeing only their village.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { unzipSync, strFromU8 } from 'fflate';
import iconv from 'iconv-lite';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { startApp, type Client, type TestApp } from '../helpers/api';
import { X0, Y0 } from '../helpers/fixtures';
import { TEST_WORK_SRID } from '../helpers/snapshot';
import { importFile } from '../../server/ingest/import';
import { readSource } from '../../server/ingest/read';
import { LEDGER_HEADERS } from '../../server/exports/polygons';
import { CASE_HEADERS } from '../../server/exports/cases';
import { LIMITS } from '../helpers/ingest';
import { csvRows, decide, download, REGION, seedTown, sheetRows, type Town } from './dashboard-fixture';

/** filename* of a Content-Disposition, decoded */
const filenameStar = (h: string | null) => decodeURIComponent(/filename\*=UTF-8''([^;]+)/.exec(h ?? '')![1]);

describeEachDb('exports', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let town: Town;
  let reviewer: Client;
  let east: Client;
  let all: number;

  beforeAll(async () => {
    db = await freshDb(backend);
    app = await startApp(db, { env: { TUBAN_REGION_CODE: REGION, TUBAN_WORK_SRID: String(TEST_WORK_SRID) } });
    town = await seedTown(app, '2021');
    // shapes a shapefile writer must get right: a hole, two parts, a slanted outline, a 100-vertex ring
    const circle = Array.from({ length: 100 }, (_, i) => `${X0 + 450 + 20 * Math.cos((i / 100) * 2 * Math.PI)} ${Y0 + 300 + 20 * Math.sin((i / 100) * 2 * Math.PI)}`);
    const wkt: Record<string, string> = {
      C1: `MULTIPOLYGON(((${X0 + 100} ${Y0 + 300}, ${X0 + 160} ${Y0 + 300}, ${X0 + 160} ${Y0 + 360}, ${X0 + 100} ${Y0 + 360}, ${X0 + 100} ${Y0 + 300}),` +
          `(${X0 + 120} ${Y0 + 320}, ${X0 + 120} ${Y0 + 340}, ${X0 + 140} ${Y0 + 340}, ${X0 + 140} ${Y0 + 320}, ${X0 + 120} ${Y0 + 320})))`,
      C2: `MULTIPOLYGON(((${X0 + 200} ${Y0 + 300}, ${X0 + 220} ${Y0 + 300}, ${X0 + 220} ${Y0 + 320}, ${X0 + 200} ${Y0 + 300})),` +
          `((${X0 + 250} ${Y0 + 300}, ${X0 + 270.123} ${Y0 + 300.456}, ${X0 + 260.789} ${Y0 + 330.001}, ${X0 + 250} ${Y0 + 300})))`,
      C3: `MULTIPOLYGON(((${X0 + 300.25} ${Y0 + 400.75}, ${X0 + 340.5} ${Y0 + 410.125}, ${X0 + 330.3} ${Y0 + 450.6}, ${X0 + 295.1} ${Y0 + 440.2}, ${X0 + 300.25} ${Y0 + 400.75})))`,
      C4: `MULTIPOLYGON(((${[...circle, circle[0]].join(', ')})))`,
    };
    for (const [code, g] of Object.entries(wkt)) {
      await db.query(
        `INSERT INTO survey_polygon (region_code, survey, code, first_batch_id, batch_id, attrs, geom, area_m2, village_name, flags)
         VALUES ($1, '2021', $2, $3, $3, '{}', ST_GeomFromText($4, 4523), ST_Area(ST_GeomFromText($4, 4523)), '东村', '{}')`,
        [REGION, code, town.batches[0], g],
      );
    }
    reviewer = town.reviewer;
    east = await app.as('reviewer', { villages: ['东村'] });
    all = 15; // 11 of the town (R1 removed) + C1–C4
    // a case in another village, for the case ledger's scope
    const c = await town.analystA.post('/api/cases', { party: '王某', address: '西村 8 组', kind: 'under_construction', village: '西村', discovered_on: '2021-09-01' });
    expect(c.status, c.text).toBe(201);
    await town.analystA.post(`/api/cases/${c.body.id}/steps`, { step: 'utility_notice', started_on: '2021-09-03' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  it('writes the ledger as XLSX: the sheet, the Chinese headers, one row per polygon', async () => {
    const d = await download(app, reviewer, '/api/exports/ledger.xlsx', { survey: '2021' });
    expect(d.status).toBe(200);
    expect(d.headers.get('content-type')).toContain('spreadsheetml');
    expect(filenameStar(d.headers.get('content-disposition'))).toMatch(/^图斑台账-500118-2021-\d{8}\.xlsx$/);
    expect(d.headers.get('content-disposition')).toMatch(/^attachment; filename="tuban-ledger-500118-2021-\d{8}\.xlsx"; filename\*=UTF-8''/);
    const sheet = await sheetRows(d.bytes, '图斑台账');
    expect(sheet).toHaveLength(1 + all);
    const header = sheet[0];
    expect(header).toEqual(LEDGER_HEADERS);
    expect(header).toEqual(expect.arrayContaining(['序号', '图斑编号', '村（社区）', '面积（平方米）', '面积（亩）', '状态', '处理结果', '认定人', '认定时间', '案件编号', '当事人', '排除原因', '备注']));
    expect(header.slice(0, 3)).toEqual(['序号', '图斑编号', '村（社区）']);
    // text cells are strings (inline), not formula results: GDAL and Excel take the header row as text
    const xml = strFromU8(unzipSync(d.bytes)['xl/worksheets/sheet1.xml']);
    expect(xml).not.toMatch(/t="str"/);
    expect(xml).toMatch(/<c r="A1"[^>]* t="inlineStr"><is><r><t>序号<\/t>/);
    const rows = new Map<string, Record<string, unknown>>();
    for (const v of sheet.slice(1)) rows.set(String(v[1]), Object.fromEntries(LEDGER_HEADERS.map((h, i) => [h, v[i]])));
    expect(rows.get('A3')).toMatchObject({
      '村（社区）': '东村', '面积（平方米）': 1200, '面积（亩）': 1.8, 状态: '已立案', 处理结果: '立案查处（办理中）',
      认定人: town.analystB.user.username, 当事人: '陈某',
    });
    expect(String(rows.get('A3')!['案件编号'])).toMatch(/〔\d{4}〕第1号$/); // year of registration (issue 13 rule 7)
    // 认定时间: a real date, Beijing wall-clock time (Excel dates carry no zone), the same as the CSV's text
    const decidedAt = rows.get('A3')!['认定时间'];
    expect(decidedAt).toBeInstanceOf(Date);
    const csvA3 = csvRows((await download(app, reviewer, '/api/exports/ledger.csv', { survey: '2021' })).text()).find((r) => r[1] === 'A3')!;
    expect((decidedAt as Date).toISOString().replace('T', ' ').slice(0, 19)).toBe(csvA3[LEDGER_HEADERS.indexOf('认定时间')]);
    expect(typeof rows.get('A3')!['序号']).toBe('number');
    expect(rows.get('A2')).toMatchObject({ 状态: '已排除', 排除原因: '误判变化', 处理结果: '排除（误判变化）' });
    expect(rows.get('A6')).toMatchObject({ 状态: '待核查' });
    expect(rows.get('A6')!['认定人']).toBeNull(); // returned: no outcome, no decider
    expect(rows.get('A1')!['整治重点']).toBe('吉安大道沿线');
    expect(rows.has('R1')).toBe(false);
    expect([...rows.values()].map((r) => r['序号'])).toEqual(Array.from({ length: all }, (_, i) => i + 1));
  });

  it('writes the same ledger as CSV in UTF-8 with a BOM', async () => {
    const d = await download(app, reviewer, '/api/exports/ledger.csv', { survey: '2021' });
    expect(d.status).toBe(200);
    expect(d.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    expect([...d.bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = csvRows(d.text());
    expect(rows[0]).toEqual(LEDGER_HEADERS);
    expect(rows).toHaveLength(1 + all);
    const a2 = rows.find((r) => r[1] === 'A2')!;
    expect(a2[LEDGER_HEADERS.indexOf('排除原因')]).toBe('误判变化');
    expect(a2[LEDGER_HEADERS.indexOf('面积（平方米）')]).toBe('1200');
    expect(rows.slice(1).map((r) => Number(r[0]))).toEqual(Array.from({ length: all }, (_, i) => i + 1));
    expect(filenameStar(d.headers.get('content-disposition'))).toMatch(/^图斑台账-500118-2021-\d{8}\.csv$/);
  });

  it('filters the exports like GET /api/polygons (and by the dashboard\'s review filters)', async () => {
    const verified = csvRows((await download(app, reviewer, '/api/exports/ledger.csv', { survey: '2021', status: 'verified' })).text());
    expect(verified.slice(1).map((r) => r[1]).sort()).toEqual(['A1', 'B2', 'N1']);
    const reason = csvRows((await download(app, reviewer, '/api/exports/ledger.csv', { reason: 'legal_permitted' })).text());
    expect(reason.slice(1).map((r) => r[1])).toEqual(['B1']);
    const by = csvRows((await download(app, reviewer, '/api/exports/ledger.csv', { decided_by: town.analystB.user.username })).text());
    expect(by.slice(1).map((r) => r[1]).sort()).toEqual(['A3', 'B1', 'B2']);
    const removed = csvRows((await download(app, reviewer, '/api/exports/ledger.csv', { include_removed: '1', flags: 'frontage' })).text());
    expect(removed.slice(1).map((r) => r[1]).sort()).toEqual(['A1', 'A2', 'R1']);
    expect((await download(app, reviewer, '/api/exports/ledger.csv', { status: 'nonsense' })).status).toBe(400);
    const empty = await download(app, reviewer, '/api/exports/ledger.xlsx', { village: '南村' });
    expect(await sheetRows(empty.bytes, '图斑台账')).toHaveLength(1);
  });

  it('streams GeoJSON in EPSG:4326', async () => {
    const d = await download(app, reviewer, '/api/exports/polygons.geojson', { survey: '2021' });
    expect(d.headers.get('content-type')).toMatch(/application\/geo\+json/);
    const fc = JSON.parse(d.text());
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.features).toHaveLength(all);
    for (const f of fc.features) {
      expect(f.type).toBe('Feature');
      const [lon, lat] = f.geometry.coordinates[0][0][0];
      expect(lon).toBeGreaterThan(105.5);
      expect(lon).toBeLessThan(106.5);
      expect(lat).toBeGreaterThan(29);
      expect(lat).toBeLessThan(30);
    }
    const a3 = fc.features.find((f: any) => f.properties.code === 'A3');
    expect(a3.properties).toMatchObject({ village: '东村', status: 'linked', area_m2: 1200, decided_by: town.analystB.user.username, party: '陈某' });
    expect(new Set(fc.features.map((f: any) => f.id)).size).toBe(all);
  });

  it('writes a zipped shapefile that the importer reads back with the same geometries and attributes', async () => {
    const d = await download(app, reviewer, '/api/exports/polygons.zip', { survey: '2021' });
    expect(d.status).toBe(200);
    expect(d.headers.get('content-type')).toBe('application/zip');
    const files = unzipSync(d.bytes);
    const names = Object.keys(files).map((n) => n.replace(/^.*\./, '')).sort();
    expect(names).toEqual(['cpg', 'dbf', 'prj', 'shp', 'shx']);
    const get = (ext: string) => Object.entries(files).find(([n]) => n.endsWith(`.${ext}`))![1];
    expect(strFromU8(get('cpg'))).toBe('GBK');
    expect(strFromU8(get('prj'))).toContain('CGCS2000_3_Degree_GK_Zone_35');
    expect(get('dbf')[29]).toBe(0x4d); // language driver: GBK
    expect(iconv.decode(Buffer.from(get('dbf')), 'gbk')).toContain('东村');

    const report = await importFile(db, {
      regionCode: REGION, workSrid: TEST_WORK_SRID, schoolDistanceM: 200, limits: LIMITS,
    }, { bytes: d.bytes, fileName: 'tuban-export.zip', layer: 'survey', survey: 'roundtrip' });
    expect(report.stored).toBe(all);
    expect(report.repaired).toBe(0);
    expect(report.crs.source).toBe('EPSG:4523');
    const cmp = (await db.query<{ code: string; d_area: number; sym: number; hd: number; attrs: Record<string, unknown>; id: number;
      village_name: string; status: string; area_m2: number }>(
      `SELECT a.code, abs(ST_Area(a.geom) - ST_Area(b.geom)) AS d_area, ST_Area(ST_SymDifference(a.geom, b.geom)) AS sym,
              ST_HausdorffDistance(a.geom, b.geom) AS hd, b.attrs, a.id, a.village_name, a.status, a.area_m2
       FROM survey_polygon a JOIN survey_polygon b ON b.code = a.code AND b.survey = 'roundtrip'
       WHERE a.survey = '2021' AND a.removed_batch_id IS NULL ORDER BY a.code`)).rows;
    expect(cmp).toHaveLength(all);
    for (const r of cmp) {
      expect(r.d_area, r.code).toBeLessThan(0.01);
      expect(r.sym, r.code).toBeLessThan(0.01);
      expect(r.hd, r.code).toBeLessThan(0.001);
      expect(r.attrs['图斑编号']).toBe(r.code);
      expect(r.attrs['TBID']).toBe(r.id);
      expect(r.attrs['STATUS']).toBe(r.status);
      expect(r.attrs['村名'] ?? null).toBe(r.village_name);
      expect(r.attrs['面积'] as number).toBeCloseTo(r.area_m2, 2);
    }
    const a3 = cmp.find((r) => r.code === 'A3')!.attrs;
    expect(a3).toMatchObject({ 状态: '已立案', 当事人: '陈某', 认定人: town.analystB.user.username });
    const c1 = (await db.query<{ holes: number; parts: number }>(
      `SELECT ST_NumInteriorRings(ST_GeometryN(geom, 1)) AS holes, ST_NumGeometries(geom) AS parts FROM survey_polygon WHERE survey = 'roundtrip' AND code IN ('C1', 'C2') ORDER BY code`)).rows;
    expect(c1).toEqual([{ holes: 1, parts: 1 }, { holes: 0, parts: 2 }]);
  });

  it('writes the case ledger with steps and deadlines', async () => {
    const x = await download(app, reviewer, '/api/exports/cases.xlsx');
    expect(x.status).toBe(200);
    expect(filenameStar(x.headers.get('content-disposition'))).toMatch(/^案件台账-500118-\d{8}\.xlsx$/);
    const cx = await sheetRows(x.bytes, '案件台账');
    expect(cx[0]).toEqual(CASE_HEADERS);
    expect(cx).toHaveLength(3);
    // dates are dates, the row number a number
    const westX = cx.find((r) => r[CASE_HEADERS.indexOf('村（社区）')] === '西村')!;
    expect(westX[CASE_HEADERS.indexOf('发现日期')]).toEqual(new Date('2021-09-01T00:00:00Z'));
    expect(typeof westX[0]).toBe('number');
    const c = csvRows((await download(app, reviewer, '/api/exports/cases.csv')).text());
    expect(c[0]).toEqual(CASE_HEADERS);
    expect(c).toHaveLength(3);
    expect(c.slice(1).map((r) => r[0])).toEqual(['1', '2']);
    const col = (h: string) => CASE_HEADERS.indexOf(h);
    const west = c.find((r) => r[col('村（社区）')] === '西村')!;
    expect(west[col('类型')]).toBe('在建');
    // 2021-09-03 (Friday) + 3 working days = 2021-09-08; report to the town: 2021-09-01 + 1 working day
    expect(west[col('书面通知停止供水、供电、供气、物业服务：通知日期')]).toBe('2021-09-03');
    expect(west[col('书面通知停止供水、供电、供气、物业服务：期限')]).toBe('2021-09-08');
    expect(west[col('报镇违法建设整治工作小组（附照片）：期限')]).toBe('2021-09-02');
    expect(west[col('是否逾期')]).toBe('是');
    const eastCase = c.find((r) => r[col('村（社区）')] === '东村')!;
    expect(eastCase[col('图斑编号')]).toBe('A3');
    expect(eastCase[col('图斑数')]).toBe('1');
    const open = csvRows((await download(app, reviewer, '/api/exports/cases.csv', { village: '东村' })).text());
    expect(open).toHaveLength(2);
  });

  it('gives a village-limited reviewer their village only, in every export', async () => {
    const csv = csvRows((await download(app, east, '/api/exports/ledger.csv', { survey: '2021' })).text());
    expect(csv.length).toBe(1 + 10); // A1–A6, C1–C4
    expect(new Set(csv.slice(1).map((r) => r[2]))).toEqual(new Set(['东村']));
    const x = await download(app, east, '/api/exports/ledger.xlsx', { village: '西村' });
    expect(await sheetRows(x.bytes, '图斑台账')).toHaveLength(1);
    const fc = JSON.parse((await download(app, east, '/api/exports/polygons.geojson')).text());
    expect(new Set(fc.features.map((f: any) => f.properties.village))).toEqual(new Set(['东村']));
    const zip = await download(app, east, '/api/exports/polygons.zip');
    const src = await readSource(zip.bytes, { fileName: 'x.zip', workSrid: TEST_WORK_SRID, limits: LIMITS });
    const villages = new Set([...src.features()].map((f) => f.properties['村名']));
    expect(villages).toEqual(new Set(['东村']));
    const cases = csvRows((await download(app, east, '/api/exports/cases.csv')).text());
    expect(cases.slice(1).map((r) => r[CASE_HEADERS.indexOf('村（社区）')])).toEqual(['东村']);
    for (const p of ['ledger.xlsx', 'ledger.csv', 'polygons.geojson', 'polygons.zip', 'cases.xlsx', 'cases.csv']) {
      expect(new TextDecoder().decode((await download(app, east, `/api/exports/${p}`)).bytes)).not.toContain('西村');
    }
  });

  it('admits reviewers, analysts and admins only', async () => {
    const field = await app.as('field', { villages: ['东村'] });
    expect((await download(app, field, '/api/exports/ledger.csv')).status).toBe(403);
    expect((await download(app, { request: undefined } as unknown as Client, '/api/exports/ledger.csv')).status).toBe(401);
    expect((await download(app, town.analystA, '/api/exports/polygons.geojson')).status).toBe(200);
    // a decision made after the export is in the next one
    await decide(town.analystA, town.ids.A5, 'verify');
    const after = csvRows((await download(app, reviewer, '/api/exports/ledger.csv', { status: 'verified', village: '东村' })).text());
    expect(after.slice(1).map((r) => r[1]).sort()).toEqual(['A1', 'A5']);
  });
});
