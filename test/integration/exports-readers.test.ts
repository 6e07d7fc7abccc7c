/**
 * Every export opened by readers no one here wrote, as a GIS analyst or a town office would (issue 14.2):
 * GDAL's ogrinfo / ogr2ogr (what QGIS uses) on the ledger XLSX and CSV, the GeoJSON, the zipped shapefile
 * and the case ledger; python3's csv module on the CSVs. From the tiny sample town (the real ingest) with
 * decisions and a case made through the API.
 *
 * Checked per file: the layer name, the field names, the feature count against the dashboard's figure
 * (GET /api/coverage) or the case list's total, the CRS (EPSG:4523 for the shapefile, CRS84 for the
 * GeoJSON), field types where they matter (numbers and dates in the XLSX), and Chinese values byte for byte
 * against the database.
 *
 * GDAL must be installed (CI installs gdal-bin): locally the suite is skipped with a message when
 * `ogrinfo` is missing; under CI (process.env.CI) a missing ogrinfo fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { startApp, type TestApp, type UserClient } from '../helpers/api';
import { importTinySample } from '../helpers/sample';
import { LEDGER_COLUMNS, LEDGER_HEADERS } from '../../server/exports/polygons';
import { CASE_HEADERS } from '../../server/exports/cases';
import { PATROL_HEADERS } from '../../server/exports/patrols';
import { decide, download } from './dashboard-fixture';

const run = promisify(execFile);

function has(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const GDAL = has('ogrinfo') && has('ogr2ogr');
const PYTHON = has('python3');
if (!GDAL && !process.env.CI) {
  console.warn('exports-readers: GDAL (ogrinfo/ogr2ogr) not found, the reader tests are skipped. Install gdal-bin to run them.');
}

describe('GDAL for the reader tests', () => {
  // in CI the reader tests must run, never skip
  it.runIf(!!process.env.CI)('is installed in CI (ogrinfo, ogr2ogr, python3)', () => {
    expect(GDAL, 'ogrinfo/ogr2ogr missing: .ci/run installs gdal-bin').toBe(true);
    expect(PYTHON, 'python3 missing').toBe(true);
  });
});

/** GDAL with no network, no config file surprises, messages in English. */
const GDAL_ENV = { ...process.env, GDAL_HTTP_TIMEOUT: '1', CPL_DEBUG: 'OFF', LC_ALL: 'C.UTF-8' };

/** ogrinfo -so -al: layer name, feature count, SRS WKT, field names and types. */
async function summary(file: string, extra: string[] = []) {
  const { stdout } = await run('ogrinfo', ['-ro', '-so', '-al', ...extra, file], { env: GDAL_ENV, maxBuffer: 1 << 26 });
  const layer = /^Layer name: (.*)$/m.exec(stdout)?.[1];
  const count = Number(/^Feature Count: (\d+)$/m.exec(stdout)?.[1]);
  const wkt = /Layer SRS WKT:\n([\s\S]*?)\n(?:Data axis|Geometry Column|FID Column|\S+: \w+ \()/.exec(stdout)?.[1] ?? '';
  // field lines come last: `名称: Type (w.p)`
  const fieldPart = stdout.slice(stdout.lastIndexOf('Layer SRS WKT:'));
  const fields = [...fieldPart.matchAll(/^(.+?): (String|Integer|Integer64|Real|Date|DateTime|Time|StringList|IntegerList|RealList)(?:\(\w+\))? \(/gm)].map((m) => ({ name: m[1], type: m[2] }));
  return { layer, count, wkt, fields, stdout };
}

interface GdalFeature { properties: Record<string, unknown>; geometry: { type: string; coordinates: any } | null }

/** The whole file through ogr2ogr as GeoJSON on stdout (GDAL's own reading of every value). */
async function features(file: string, extra: string[] = []): Promise<GdalFeature[]> {
  const { stdout } = await run('ogr2ogr', ['-f', 'GeoJSON', '/vsistdout/', file, ...extra], { env: GDAL_ENV, maxBuffer: 1 << 28 });
  return (JSON.parse(stdout) as { features: GdalFeature[] }).features;
}

/** python3's csv module: every row of the file, the BOM removed by the utf-8-sig codec. */
async function pythonCsv(file: string): Promise<string[][]> {
  const code = 'import csv, json, sys\nwith open(sys.argv[1], encoding="utf-8-sig", newline="") as f:\n    print(json.dumps(list(csv.reader(f)), ensure_ascii=True))';
  const { stdout } = await run('python3', ['-c', code, file], { maxBuffer: 1 << 26 });
  return JSON.parse(stdout) as string[][];
}

const filenameStar = (h: string | null) => decodeURIComponent(/filename\*=UTF-8''([^;]+)/.exec(h ?? '')![1]);
const utf8 = (s: unknown) => Buffer.from(String(s ?? ''), 'utf8').toString('hex');

describeEachDb('exports read back by GDAL and python', (backend) => {
  let tmp: string;
  let db: TestDb;
  let app: TestApp;
  let reviewer: UserClient;
  let total: number;
  /** the polygons as the database has them, by code */
  let truth: Map<string, { id: number; village: string | null; status: string; area_m2: number }>;
  /** saved downloads, by export path */
  const files: Record<string, string> = {};
  let patrolLead = '';
  let patrolVillage = '';

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tuban-readers-'));
    db = await freshDb(backend);
    app = await startApp(db);
    await importTinySample(db, app.config, path.join(tmp, 'sample'));
    reviewer = await app.as('reviewer');
    const analyst = await app.as('analyst', { username: `分析员${randomUUID().slice(0, 4)}` });
    const list = (await analyst.get('/api/polygons', { query: { status: 'pending', sort: 'code', limit: 12 } })).body.items as
      { id: number; version: number; village_name?: string }[];
    expect(list.length).toBe(12);
    const bulk = async (action: string, items: { id: number; version: number }[], extra: Record<string, string> = {}) => {
      const r = await analyst.post('/api/decisions/bulk', { action, request_id: randomUUID(), items: items.map(({ id, version }) => ({ id, version })), ...extra });
      expect(r.status, r.text).toBe(200);
    };
    await bulk('verify', list.slice(0, 5));
    await bulk('dismiss', list.slice(5, 8), { reason: 'false_change', note: '复核：原为农用大棚，"已拆"，备注含逗号,与换行\n第二行' });
    // a case with a Chinese party, linked to one polygon
    const villages = (await db.query<{ v: string }>(`SELECT DISTINCT village_name AS v FROM survey_polygon WHERE village_name IS NOT NULL ORDER BY 1`)).rows.map((r) => r.v);
    const c = await analyst.post('/api/cases', { party: '张三（某某建材厂）', address: `${villages[0]}1组`, kind: 'existing', village: villages[0], discovered_on: '2021-09-01' });
    expect(c.status, c.text).toBe(201);
    await decide(analyst, list[8].id, 'link', { case_id: c.body.id });
    // a patrol (巡查登记台账) with one finding, recorded as the phone records it (issue 16 item 10)
    const [lon, lat] = (await db.query<{ lon: number; lat: number }>(
      `SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_Transform(ST_PointOnSurface(f.geom), 4326) AS p FROM layer_feature f
       JOIN layer l ON l.id = f.layer_id WHERE l.name = 'village' AND f.name = $1 LIMIT 1) x`, [villages[0]])).rows.map((r) => [r.lon, r.lat])[0];
    const patroller = await app.as('field');
    const patrolId = randomUUID();
    const form = new FormData();
    for (const [k, v] of Object.entries({ lon: String(lon), lat: String(lat), found_at: '2021-09-02T02:30:00Z', category: 'compound', note: '占用绿地搭建彩钢棚，"紧急"', under_construction: 'false' })) form.set(k, v);
    const fr = await patroller.request('PUT', `/api/patrols/${patrolId}/findings/${randomUUID()}`, { form });
    expect(fr.status, fr.text).toBe(201);
    patrolLead = fr.body.finding.lead.code;
    const pr = await patroller.put(`/api/patrols/${patrolId}`, {
      village: villages[0], members: ['张三', '李四'], started_at: '2021-09-02T01:00:00Z', ended_at: '2021-09-02T03:15:00Z',
      track: [[lon, lat], [lon + 0.01, lat]],
    });
    expect(pr.status, pr.text).toBe(201);
    patrolVillage = villages[0];

    total = (await reviewer.get('/api/coverage')).body.overall.total;
    expect(total).toBeGreaterThan(20);
    truth = new Map((await db.query<{ code: string; id: number; village: string | null; status: string; area_m2: number }>(
      `SELECT code, id, village_name AS village, status, area_m2 FROM survey_polygon WHERE removed_batch_id IS NULL`)).rows.map((r) => [r.code, r]));
    expect(truth.size).toBe(total);

    for (const x of ['ledger.xlsx', 'ledger.csv', 'polygons.geojson', 'polygons.zip', 'cases.xlsx', 'cases.csv', 'patrols.xlsx', 'patrols.csv']) {
      const d = await download(app, reviewer, `/api/exports/${x}`);
      expect(d.status, x).toBe(200);
      // saved under the name the browser would save it under
      const name = filenameStar(d.headers.get('content-disposition'));
      files[x] = path.join(tmp, name);
      writeFileSync(files[x], d.bytes);
    }
  }, 240_000);
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe.runIf(GDAL)('GDAL', () => {
    it('reads the ledger XLSX with its header row, typed columns and every polygon', async () => {
      const s = await summary(files['ledger.xlsx']);
      expect(s.layer).toBe('图斑台账');
      expect(s.count).toBe(total);
      expect(s.fields.map((f) => f.name)).toEqual(LEDGER_HEADERS);
      const type = (h: string) => s.fields.find((f) => f.name === h)?.type;
      expect(type('序号')).toBe('Integer');
      expect(type('面积（平方米）')).toBe('Real');
      expect(type('面积（亩）')).toBe('Real');
      expect(type('认定时间')).toBe('DateTime');
      expect(type('图斑编号')).toBe('String');
      const fs = await features(files['ledger.xlsx']);
      expect(fs).toHaveLength(total);
      for (const f of fs) {
        const t = truth.get(String(f.properties['图斑编号']));
        expect(t, String(f.properties['图斑编号'])).toBeTruthy();
        expect(utf8(f.properties['村（社区）'])).toBe(utf8(t!.village));
        expect(f.properties['面积（平方米）']).toBeCloseTo(t!.area_m2, 2);
        expect(f.properties['系统ID']).toBe(t!.id);
      }
      // the same 认定时间 as the CSV's text (Beijing time)
      const csv = await features(files['ledger.csv']);
      const decided = csv.filter((r) => r.properties['认定时间']);
      expect(decided.length).toBe(9);
      for (const r of decided) {
        const f = fs.find((x) => x.properties['图斑编号'] === r.properties['图斑编号'])!;
        expect(String(f.properties['认定时间']).replace('T', ' ').replace(/\//g, '-')).toBe(r.properties['认定时间']);
      }
    });

    it('reads the ledger CSV (GDAL\'s CSV driver): the same headers, rows and Chinese text', async () => {
      const s = await summary(files['ledger.csv']);
      expect(s.count).toBe(total);
      expect(s.fields.map((f) => f.name)).toEqual(LEDGER_HEADERS);
      const fs = await features(files['ledger.csv']);
      const note = fs.find((f) => String(f.properties['备注'] ?? '').includes('农用大棚'));
      expect(note?.properties['备注']).toBe('复核：原为农用大棚，"已拆"，备注含逗号,与换行\n第二行');
      for (const f of fs) expect(utf8(f.properties['村（社区）'] || null)).toBe(utf8(truth.get(String(f.properties['图斑编号']))!.village));
    });

    it('reads the GeoJSON in CRS84 with every polygon and its Chinese values', async () => {
      const s = await summary(files['polygons.geojson']);
      expect(s.layer).toBe(path.basename(files['polygons.geojson'], '.geojson'));
      expect(s.count).toBe(total);
      // RFC 7946: WGS 84 longitude/latitude; GDAL reports it as OGC:CRS84 or as EPSG:4326 with lon/lat order
      // RFC 7946 GeoJSON is CRS84 (lon, lat): GDAL 3.6 reports OGC:CRS84, or EPSG:4326 with the data axes swapped
      expect(s.wkt).toMatch(/WGS 84/);
      const crs84 = /ID\["OGC","CRS84"\]/.test(s.wkt) || (/ID\["EPSG",4326\]/.test(s.wkt) && /Data axis to CRS axis mapping: 2,1/.test(s.stdout));
      expect(crs84, s.stdout.slice(0, 1500)).toBe(true);
      expect(s.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['id', 'code', 'village', 'status', 'area_m2']));
      const fs = await features(files['polygons.geojson']);
      for (const f of fs) {
        const t = truth.get(String(f.properties.code))!;
        expect(utf8(f.properties.village)).toBe(utf8(t.village));
        expect(f.properties.status).toBe(t.status);
        const [lon, lat] = f.geometry!.coordinates[0][0][0] as number[];
        expect(lon).toBeGreaterThan(73);
        expect(lon).toBeLessThan(136);
        expect(lat).toBeGreaterThan(3);
        expect(lat).toBeLessThan(54);
      }
    });

    it('reads the shapefile in EPSG:4523 with GBK attributes decoded to the same Chinese', async () => {
      const zip = files['polygons.zip'];
      const s = await summary(`/vsizip/${zip}`);
      expect(s.layer).toMatch(/^tuban_polygons_\d{6}_\d{8}$/);
      expect(s.count).toBe(total);
      expect(s.wkt).toMatch(/CGCS2000.*3.*Degree.*GK.*Zone.*35|CGCS2000 \/ 3-degree Gauss-Kruger zone 35/i);
      // GDAL identifies the ESRI .prj as the EPSG code
      const { stdout } = await run('gdalsrsinfo', ['-e', '-o', 'epsg', `/vsizip/${zip}/${s.layer}.prj`], { env: GDAL_ENV });
      expect(stdout).toMatch(/EPSG:4523/);
      expect(s.fields.map((f) => f.name)).toEqual(LEDGER_COLUMNS.map((c) => c.dbf.name));
      const fs = await features(`/vsizip/${zip}`);
      for (const f of fs) {
        const t = truth.get(String(f.properties['图斑编号']))!;
        expect(utf8(f.properties['村名'])).toBe(utf8(t.village));
        expect(f.properties['TBID']).toBe(t.id);
        expect(f.properties['STATUS']).toBe(t.status);
      }
      // coordinates as stored (work CRS, metres): each polygon's first vertex is a vertex of the stored one
      for (const f of fs.slice(0, 20)) {
        const g = f.geometry!;
        const [x, y] = (g.type === 'MultiPolygon' ? g.coordinates[0][0][0] : g.coordinates[0][0]) as number[];
        const d = (await db.query<{ d: number }>(
          `SELECT ST_Distance(ST_Points(geom), ST_SetSRID(ST_MakePoint($2, $3), ST_SRID(geom))) AS d FROM survey_polygon WHERE id = $1`,
          [f.properties['TBID'], x, y])).rows[0];
        expect(d.d).toBeLessThan(0.001);
      }
    });

    it('reads the case ledger XLSX and CSV', async () => {
      const cases = (await reviewer.get('/api/cases')).body as { total: number; items: { number: string; party: string }[] };
      expect(cases.total).toBe(1);
      const s = await summary(files['cases.xlsx']);
      expect(s.layer).toBe('案件台账');
      expect(s.count).toBe(cases.total);
      expect(s.fields.map((f) => f.name)).toEqual(CASE_HEADERS);
      expect(s.fields.find((f) => f.name === '发现日期')?.type).toBe('Date');
      const [x] = await features(files['cases.xlsx']);
      expect(utf8(x.properties['当事人'])).toBe(utf8('张三（某某建材厂）'));
      expect(x.properties['案件编号']).toBe(cases.items[0].number);
      expect(String(x.properties['发现日期']).replace(/\//g, '-')).toBe('2021-09-01');
      const c = await summary(files['cases.csv']);
      expect(c.count).toBe(cases.total);
      expect(c.fields.map((f) => f.name)).toEqual(CASE_HEADERS);
      const [y] = await features(files['cases.csv']);
      expect(y.properties['当事人']).toBe('张三（某某建材厂）');
      expect(y.properties['发现日期']).toBe('2021-09-01');
    });
  });

  describe.runIf(GDAL)('GDAL: the patrol ledger', () => {
    it('reads the 巡查登记台账 XLSX and CSV with their headers, typed columns and the patrol with its finding', async () => {
      for (const file of ['patrols.xlsx', 'patrols.csv']) {
        const s = await summary(files[file]);
        expect(s.count, file).toBe(1);
        expect(s.fields.map((f) => f.name), file).toEqual(PATROL_HEADERS);
        const [x] = await features(files[file]);
        expect(utf8(x.properties['村（社区）'])).toBe(utf8(patrolVillage));
        expect(x.properties['巡查人员']).toBe('张三、李四');
        expect(x.properties['线索编号']).toBe(patrolLead);
        expect(String(x.properties['发现情况'])).toContain('占用绿地搭建彩钢棚，"紧急"');
        expect(Number(x.properties['发现问题数'])).toBe(1);
        expect(Number(x.properties['时长（分钟）'])).toBe(135);
        expect(Number(x.properties['巡查里程（公里）'])).toBeGreaterThan(0.9);
        expect(String(x.properties['巡查日期']).replace(/\//g, '-')).toBe('2021-09-02');
        if (file.endsWith('.xlsx')) {
          expect(s.layer).toBe('巡查登记台账');
          const type = (h: string) => s.fields.find((f) => f.name === h)?.type;
          expect(type('巡查日期')).toBe('Date');
          expect(type('开始时间')).toBe('DateTime');
          expect(type('巡查里程（公里）')).toBe('Real');
          expect(String(x.properties['开始时间']).replace(/\//g, '-')).toMatch(/^2021-09-02[ T]09:00/);
        }
      }
      const rows = await pythonCsv(files['patrols.csv']);
      expect(rows[0]).toEqual(PATROL_HEADERS);
      expect(rows).toHaveLength(2);
    });
  });

  describe.runIf(PYTHON)('python csv', () => {
    it('reads the ledger CSV and the case ledger CSV', async () => {
      const rows = await pythonCsv(files['ledger.csv']);
      expect(rows[0]).toEqual(LEDGER_HEADERS);
      expect(rows).toHaveLength(1 + total);
      for (const r of rows.slice(1)) {
        const t = truth.get(r[1])!;
        expect(utf8(r[2] || null)).toBe(utf8(t.village));
        expect(Number(r[LEDGER_HEADERS.indexOf('系统ID')])).toBe(t.id);
      }
      const note = rows.find((r) => r[LEDGER_HEADERS.indexOf('备注')].includes('农用大棚'));
      expect(note![LEDGER_HEADERS.indexOf('备注')]).toBe('复核：原为农用大棚，"已拆"，备注含逗号,与换行\n第二行');
      const cases = await pythonCsv(files['cases.csv']);
      expect(cases[0]).toEqual(CASE_HEADERS);
      expect(cases).toHaveLength(2);
      expect(cases[1][CASE_HEADERS.indexOf('当事人')]).toBe('张三（某某建材厂）');
    });
  });
});
