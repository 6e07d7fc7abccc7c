import { afterAll, beforeAll, expect, it } from 'vitest';
import { featureCollection, intersect, polygon as turfPolygon } from '@turf/turf';
import type { Polygon } from 'geojson';
import pino from 'pino';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { X0, Y0, area, bytesOf, fc, rect } from '../helpers/fixtures';
import { IMPORT_SETTINGS } from '../helpers/ingest';
import { TEST_REGION, TEST_WORK_SRID } from '../helpers/snapshot';
import { importFile, type ImportRequest } from '../../server/ingest/import';
import { createApp, listen } from '../../server/app';
import { loadConfig } from '../../server/config';

const settings = IMPORT_SETTINGS;

// Layout (metres from X0,Y0): two villages side by side, four parcels, a frontage centreline at y=400
// with a 20 m band, one school point, a compound, a green space.
const villages = fc([
  { geometry: rect(0, 0, 500, 500), properties: { 村名: '东村', 行政区代码: '500118109001' } },
  { geometry: rect(500, 0, 500, 500), properties: { 村名: '西村', 行政区代码: '500118109002' } },
]);
const parcels = fc([
  { geometry: rect(0, 0, 300, 300), properties: { 宗地代码: 'P1', 权利人: '张三', 土地用途: '宅基地' } },
  { geometry: rect(300, 0, 300, 300), properties: { 宗地代码: 'P2', 权利人: '李四', 土地用途: '耕地' } },
  { geometry: rect(0, 300, 300, 300), properties: { 宗地代码: 'P3', 权利人: '王五', 土地用途: '林地' } },
  { geometry: rect(300, 300, 300, 300), properties: { 宗地代码: 'P4', 权利人: '赵六', 土地用途: '商服用地' } },
]);
const frontage = fc([
  { geometry: { type: 'LineString', coordinates: [[X0, Y0 + 400], [X0 + 1200, Y0 + 400]] }, properties: { 道路名称: '吉安大道', 宽度: 20 } },
]);
const schools = fc([{ geometry: { type: 'Point', coordinates: [X0 + 800, Y0 + 100] }, properties: { 学校名称: '吉安小学' } }]);
const compounds = fc([{ geometry: rect(700, 300, 200, 150), properties: { 小区名称: '吉安花园' } }]);
const green = fc([{ geometry: rect(50, 50, 100, 100), properties: { 名称: '滨河绿地' } }]);
const bowtie: Polygon = {
  type: 'Polygon',
  coordinates: [[[X0 + 60, Y0 + 60], [X0 + 140, Y0 + 140], [X0 + 140, Y0 + 60], [X0 + 60, Y0 + 140], [X0 + 60, Y0 + 60]]],
};
const L_SHAPE: Polygon = {
  type: 'Polygon',
  coordinates: [[[X0 + 200, Y0 + 200], [X0 + 400, Y0 + 200], [X0 + 400, Y0 + 250], [X0 + 250, Y0 + 250], [X0 + 250, Y0 + 350], [X0 + 200, Y0 + 350], [X0 + 200, Y0 + 200]]],
};
const survey2020 = fc([
  { geometry: rect(250, 100, 100, 50), properties: { 图斑编号: 'TB1', 变化类型: '疑似违法建筑' } },
  { geometry: rect(450, 200, 150, 60), properties: { 图斑编号: 'TB2', 变化类型: '新增建设用地' } },
  { geometry: rect(700, 380, 80, 40), properties: { 图斑编号: 'TB3', 变化类型: '疑似违法建筑' } },
  { geometry: rect(1100, 100, 50, 50), properties: { 图斑编号: 'TB4', 变化类型: '推填土' } },
  { geometry: bowtie, properties: { 图斑编号: 'TB5', 变化类型: '硬化地面' } },
  { geometry: null, properties: { 图斑编号: 'TB6' } },
  { geometry: rect(0, 0, 10, 10), properties: { 图斑编号: 'TB1', 备注: 'duplicate code' } },
  { geometry: rect(790, 150, 40, 40), properties: { 图斑编号: 'TB7', 变化类型: '疑似违法建筑' } },
  { geometry: L_SHAPE, properties: { 图斑编号: 'TB8', 变化类型: '疑似违法建筑' } },
]);

/** Overlap of a survey polygon with each parcel, worked out with turf's planar clipping. */
function expectedParcelOverlaps(g: Polygon) {
  const out: Record<string, number> = {};
  for (const p of parcels.features) {
    const clip = intersect(featureCollection([turfPolygon(g.coordinates), turfPolygon((p.geometry as Polygon).coordinates)]));
    const a = clip ? area(clip.geometry) : 0;
    if (a >= 0.01) out[p.properties!['宗地代码'] as string] = a;
  }
  return out;
}

describeEachDb('import → reconcile → query', (backend) => {
  let db: TestDb;
  const run = (req: Omit<ImportRequest, 'bytes' | 'fileName'> & { data: unknown; fileName?: string }) =>
    importFile(db, settings, { ...req, bytes: bytesOf(req.data), fileName: req.fileName ?? `${req.layer}.geojson` });

  beforeAll(async () => {
    db = await freshDb(backend);
    await run({ layer: 'village', data: villages });
    await run({ layer: 'cadastral', data: parcels });
    // 宽度 here is the band's width: named explicitly (a road layer's width field is never guessed, issue 11)
    await run({ layer: 'frontage', data: frontage, widthField: '宽度' });
    await run({ layer: 'school', data: schools });
    await run({ layer: 'compound', data: compounds });
    await run({ layer: 'green', data: green });
  });
  afterAll(async () => { await db?.dispose(); });

  const poly = async (code: string, survey = '2020') =>
    (await db.query<Record<string, any>>(
      `SELECT * FROM survey_polygon WHERE code = $1 AND survey = $2`, [code, survey])).rows[0];

  it('stores the survey with a report: repaired, skipped with reasons, CRS and encoding', async () => {
    // TB1 twice (different polygons): refused by default (import-codes.test.ts), the first kept on request
    const r = await run({ layer: 'survey', data: survey2020, fileName: '2020年遥感图斑.geojson', duplicates: 'keep-first' });
    expect(r.survey).toBe('2020');
    expect(r.read).toBe(9);
    expect(r.stored).toBe(6);
    expect(r.repaired).toBe(1);
    expect(r.skipped.reasons).toEqual({ null_geometry: 1, duplicate_code: 1 });
    expect(r.crs).toMatchObject({ source: 'EPSG:4523', how: 'geojson-crs', target: 'EPSG:4523' });
    expect(r.encoding.used).toMatch(/utf-?8/i);
    expect(r.survey_changes).toEqual({ new: 7, updated: 0, geometry_changed: 0, removed: 0, matched_by_overlap: 0 });
    expect(r.reconcile!.polygons).toBe(7);
    const stored = await db.query(`SELECT report FROM import_batch WHERE id = $1`, [r.batch_id]);
    expect((stored.rows[0] as any).report.stored).toBe(6);
    // the reconciliation rewrote every polygon: the import vacuums after its commit (load.sql), PGlite
    // having no autovacuum
    expect(r.timings.vacuum).toBeGreaterThanOrEqual(0);
    const v = await db.query<{ vacuumed: boolean }>(
      `SELECT last_vacuum IS NOT NULL AS vacuumed FROM pg_stat_user_tables WHERE relname = 'survey_polygon'`);
    expect(v.rows[0].vacuumed).toBe(true);
  });

  it('computes every parcel overlap, its share and the largest parcel as turf does', async () => {
    for (const f of survey2020.features) {
      const code = f.properties!['图斑编号'] as string;
      if (!f.geometry || code === 'TB5' || f.properties!['备注']) continue;
      const expected = expectedParcelOverlaps(f.geometry as Polygon);
      const p = await poly(code);
      const rows = (await db.query<{ parcel_code: string; overlap_m2: number; share: number }>(
        `SELECT c.parcel_code, pp.overlap_m2, pp.share FROM polygon_parcel pp JOIN parcel c ON c.id = pp.parcel_id
         WHERE pp.polygon_id = $1`, [p.id])).rows;
      const got = Object.fromEntries(rows.map((r) => [r.parcel_code, r.overlap_m2]));
      expect(Object.keys(got).sort(), code).toEqual(Object.keys(expected).sort());
      for (const [k, v] of Object.entries(expected)) {
        expect(got[k]).toBeCloseTo(v, 3);
        expect(rows.find((r) => r.parcel_code === k)!.share).toBeCloseTo(v / area(f.geometry), 6);
      }
      expect(p.parcel_count).toBe(Object.keys(expected).length);
      expect(p.area_m2).toBeCloseTo(area(f.geometry), 3);
    }
    // TB1 straddles P1 and P2 equally: the tie goes to the lower id (P1)
    const tb1 = await poly('TB1');
    const largest = await db.query<{ parcel_code: string }>(`SELECT parcel_code FROM parcel WHERE id = $1`, [tb1.largest_parcel_id]);
    expect(largest.rows[0].parcel_code).toBe('P1');
    expect(tb1.largest_parcel_share).toBeCloseTo(0.5, 9);
    // TB8 (L-shape) lies mostly in P1
    const tb8 = await poly('TB8');
    const exp8 = expectedParcelOverlaps(L_SHAPE);
    const best = Object.entries(exp8).sort((a, b) => b[1] - a[1])[0][0];
    const l8 = await db.query<{ parcel_code: string }>(`SELECT parcel_code FROM parcel WHERE id = $1`, [tb8.largest_parcel_id]);
    expect(l8.rows[0].parcel_code).toBe(best);
  });

  it('repairs a bow-tie into its two triangles (3200 m²)', async () => {
    const p = await poly('TB5');
    expect(p.repaired).toBe(true);
    expect(p.area_m2).toBeCloseTo(3200, 6);
    expect(p.flags).toContain('green');
  });

  it('assigns the village by largest overlap and flags polygons outside every village', async () => {
    expect((await poly('TB1')).village_name).toBe('东村');
    expect((await poly('TB2')).village_name).toBe('西村'); // 3000 m² in 东村, 6000 m² in 西村
    const tb4 = await poly('TB4');
    expect(tb4.village_name).toBeNull();
    expect(tb4.flags).toContain('no_village');
  });

  it('sets frontage, compound, green and school flags and the school distance', async () => {
    expect((await poly('TB3')).flags).toEqual(['compound', 'frontage']);
    expect((await poly('TB2')).school_distance_m).toBeCloseTo(Math.hypot(200, 100), 6);
    // 3000 m² in 东村, 6000 m² in 西村: the largest share is 2/3 < 80%, so it straddles (issue 13 rule 11)
    expect((await poly('TB2')).flags).toEqual(['village_straddle']);
    expect((await poly('TB2'))).toMatchObject({ village2_name: '东村', village2_code: '500118109001' });
    expect((await poly('TB7')).school_distance_m).toBeCloseTo(50, 6);
    expect((await poly('TB7')).flags).toEqual(['school']);
    expect((await poly('TB4')).school_distance_m).toBeCloseTo(300, 6);
  });

  it('scores priority as documented', async () => {
    const tb3 = await poly('TB3'); // frontage 1000 + compound 400 + min(20, 3200/100) (default weights, migration 009)
    expect(tb3.priority).toBeCloseTo(1000 + 400 + Math.min(20, (80 * 40) / 100), 2);
    const tb4 = await poly('TB4'); // outside every village: flagged, no bonus; min(20, 2500/100)
    expect(tb4.priority).toBeCloseTo(20, 2);
  });

  it('answers GET /api/polygons with filters and GET /api/polygons/:id with the detail', async () => {
    const config = { ...loadConfig({}), regionCode: TEST_REGION, workSrid: TEST_WORK_SRID };
    const app = createApp({
      config, db, log: pino({ level: 'silent' }),
      authenticate: (req, _res, next) => {
        req.principal = { id: 1, username: 't', displayName: 't', role: 'analyst', villages: null };
        next();
      },
    });
    const server = listen(app, 0);
    // PGlite's first ST_Transform loads PROJ's database (seconds): keep the client's pooled socket alive
    server.keepAliveTimeout = 60_000;
    const url = `http://127.0.0.1:${(server.address() as any).port}`;
    try {
      const all = await (await fetch(`${url}/api/polygons?limit=100`)).json();
      expect(all.total).toBe(7);
      expect(all.items[0].code).toBe('TB3'); // highest priority first
      const west = await (await fetch(`${url}/api/polygons?village=${encodeURIComponent('西村')}&sort=code`)).json();
      expect(west.items.map((i: any) => i.code)).toEqual(['TB2', 'TB3', 'TB7']);
      const flagged = await (await fetch(`${url}/api/polygons?flags=frontage,compound`)).json();
      expect(flagged.items.map((i: any) => i.code)).toEqual(['TB3']);
      const search = await (await fetch(`${url}/api/polygons?q=tb4`)).json();
      expect(search.items.map((i: any) => i.code)).toEqual(['TB4']);
      // bbox around TB7 in lon/lat
      const tb7 = (await db.query<{ b: number[] }>(
        `SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] AS b
         FROM (SELECT ST_Transform(geom, 4326)::box2d AS e FROM survey_polygon WHERE code = 'TB7') x`)).rows[0].b;
      const inBox = await (await fetch(`${url}/api/polygons?bbox=${tb7.join(',')}`)).json();
      expect(inBox.items.map((i: any) => i.code)).toEqual(['TB7']);
      const bad = await fetch(`${url}/api/polygons?bbox=1,2,3`);
      expect(bad.status).toBe(400);
      const body = await bad.json();
      expect(body.error).toMatchObject({ code: 'invalid_input' });
      expect(body.error.message_zh).toBeTruthy();

      const id = all.items.find((i: any) => i.code === 'TB1').id;
      const d = await (await fetch(`${url}/api/polygons/${id}`)).json();
      expect(d.code).toBe('TB1');
      expect(d.area_mu).toBeCloseTo(5000 / (10000 / 15), 6);
      expect(d.attrs).toEqual({ 图斑编号: 'TB1', 变化类型: '疑似违法建筑' });
      expect(d.parcels.map((p: any) => p.parcel_code)).toEqual(['P1', 'P2']);
      expect(d.parcels[0]).toMatchObject({ holder: '张三', land_use: '宅基地' });
      expect(d.geometry.type).toBe('MultiPolygon');
      expect(d.geometry.coordinates[0][0][0][0]).toBeCloseTo(105.96, 1);
      expect(d.layers.find((l: any) => l.layer === 'village').feature_name).toBe('东村');
      expect((await fetch(`${url}/api/polygons/999999`)).status).toBe(404);
    } finally {
      server.close();
    }
  });

  it('stores nothing new for the same file twice', async () => {
    const before = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM import_batch');
    const r = await run({ layer: 'survey', data: survey2020, fileName: '2020年遥感图斑.geojson', duplicates: 'keep-first' });
    expect(r.duplicate).toBe(true);
    expect(r.stored).toBe(0);
    const after = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM import_batch');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('matches a new version on code: keeps decisions, flags changed geometry, marks removed', async () => {
    await db.query(`UPDATE survey_polygon SET status = 'verified', version = version + 1 WHERE code IN ('TB1', 'TB2')`);
    const v2 = fc([
      { geometry: rect(250, 100, 100, 60), properties: { 图斑编号: 'TB1', 变化类型: '疑似违法建筑' } }, // reshaped
      { geometry: rect(450, 200, 150, 60), properties: { 图斑编号: 'TB2', 变化类型: '新增建设用地（复核）' } }, // attrs only
      { geometry: rect(700, 380, 80, 40), properties: { 图斑编号: 'TB3', 变化类型: '疑似违法建筑' } },
      { geometry: bowtie, properties: { 图斑编号: 'TB5', 变化类型: '硬化地面' } },
      { geometry: rect(790, 150, 40, 40), properties: { 图斑编号: 'TB7', 变化类型: '疑似违法建筑' } },
      { geometry: L_SHAPE, properties: { 图斑编号: 'TB8', 变化类型: '疑似违法建筑' } },
      { geometry: rect(10, 10, 20, 20), properties: { 图斑编号: 'TB9', 变化类型: '推填土' } },
    ]);
    const r = await run({ layer: 'survey', data: v2, fileName: '2020年遥感图斑-v2.geojson' });
    expect(r.survey_changes).toEqual({ new: 1, updated: 6, geometry_changed: 1, removed: 1, matched_by_overlap: 0 });
    expect(r.reconcile!.polygons).toBe(2); // only the new and the reshaped polygon
    const tb1 = await poly('TB1');
    expect(tb1.status).toBe('verified');
    expect(tb1.geom_changed_batch_id).toBe(r.batch_id);
    expect(tb1.area_m2).toBeCloseTo(6000, 6);
    const versions = await db.query<{ area: number }>(
      `SELECT ST_Area(geom) AS area FROM survey_polygon_version WHERE polygon_id = $1`, [tb1.id]);
    expect(versions.rows.map((v) => v.area)).toEqual([5000]);
    const tb2 = await poly('TB2');
    expect(tb2.status).toBe('verified');
    expect(tb2.geom_changed_batch_id).toBeNull();
    expect(tb2.attrs['变化类型']).toBe('新增建设用地（复核）');
    const tb4 = await poly('TB4');
    expect(tb4.removed_batch_id).toBe(r.batch_id);
    // new in this version: stored once with its results (reconciled from the delivery's staging table)
    const tb9 = await poly('TB9');
    expect(tb9.reconciled_at).not.toBeNull();
    expect(tb9.first_batch_id).toBe(r.batch_id);
    const overlaps = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM polygon_parcel WHERE polygon_id = $1', [tb9.id]);
    expect(tb9.parcel_count).toBe(overlaps.rows[0].n);
    expect(tb9.priority).toBeCloseTo(Math.min(20, 400 / 100) + (tb9.flags.includes('no_village') ? 15 : 0), 2);
  });

  it('shows a later survey the decision taken on an overlapping earlier polygon', async () => {
    const s2021 = fc([
      { geometry: rect(450, 210, 100, 40), properties: { 图斑编号: 'JA2021-1', 变化类型: '疑似违法建筑' } }, // inside TB2
      { geometry: rect(2000, 2000, 10, 10), properties: { 图斑编号: 'JA2021-2', 变化类型: '推填土' } },
    ]);
    const r = await run({ layer: 'survey', data: s2021, fileName: 'survey-2021.geojson' });
    expect(r.survey).toBe('2021');
    const p = await poly('JA2021-1', '2021');
    const prior = await db.query<{ code: string; status: string; share: number }>(
      `SELECT q.code, q.status, pr.share FROM polygon_prior pr JOIN survey_polygon q ON q.id = pr.prior_id
       WHERE pr.polygon_id = $1`, [p.id]);
    expect(prior.rows).toEqual([{ code: 'TB2', status: 'verified', share: 1 }]);
    const back = await db.query(`SELECT 1 FROM polygon_prior pr JOIN survey_polygon q ON q.id = pr.polygon_id
      WHERE q.code = 'TB2' AND pr.prior_id = $1`, [p.id]);
    expect(back.rowCount).toBe(1);
  });

  it('re-importing a reference layer recomputes what it affects and reports the change', async () => {
    // move the village boundary east by 100 m: TB2 (450–600) now lies mostly in 东村
    const moved = fc([
      { geometry: rect(0, 0, 600, 500), properties: { 村名: '东村', 行政区代码: '500118109001' } },
      { geometry: rect(600, 0, 400, 500), properties: { 村名: '西村', 行政区代码: '500118109002' } },
    ]);
    const r = await run({ layer: 'village', data: moved, fileName: 'villages-2.geojson' });
    expect(r.replaced).toBe(2);
    expect(r.reconcile!.changes.village).toBeGreaterThanOrEqual(1);
    expect(r.reconcile!.changes.examples).toContain('TB2');
    expect((await poly('TB2')).village_name).toBe('东村');
    expect((await poly('TB3')).village_name).toBe('西村');
  });

  it('declares a custom layer with a role and reconciles against it', async () => {
    const farmland = fc([{ geometry: rect(0, 0, 300, 300), properties: { 名称: '基本农田A' } }]);
    await expect(run({ layer: 'farmland', data: farmland })).rejects.toMatchObject({ code: 'layer_role_required' });
    expect((await db.query(`SELECT 1 FROM layer WHERE name = 'farmland'`)).rowCount).toBe(0);
    const r = await run({ layer: 'farmland', role: 'overlap', title: '基本农田', data: farmland });
    expect(r.stored).toBe(1);
    const tb1 = await poly('TB1'); // 250–350 × 100–160: 50 × 60 m inside the farmland
    expect(tb1.flags).toContain('farmland');
    const pl = await db.query<{ overlap_m2: number }>(
      `SELECT overlap_m2 FROM polygon_layer pl JOIN layer l ON l.id = pl.layer_id WHERE l.name = 'farmland' AND polygon_id = $1`, [tb1.id]);
    expect(pl.rows[0].overlap_m2).toBeCloseTo(3000, 3);
    await expect(run({ layer: 'farmland', role: 'flag', data: farmland, fileName: 'x.geojson' }))
      .rejects.toMatchObject({ code: 'layer_role_conflict' });
  });

  it('refuses polygons of the wrong type and leaves everything as it was', async () => {
    const before = await db.query(`SELECT (SELECT count(*) FROM survey_polygon)::int a, (SELECT count(*) FROM import_batch)::int b`);
    const points = fc([{ geometry: { type: 'Point', coordinates: [X0, Y0] }, properties: { 图斑编号: 'X' } }]);
    await expect(run({ layer: 'survey', data: points })).rejects.toMatchObject({ code: 'wrong_geometry_type' });
    const after = await db.query(`SELECT (SELECT count(*) FROM survey_polygon)::int a, (SELECT count(*) FROM import_batch)::int b`);
    expect(after.rows).toEqual(before.rows);
  });

  it('leaves no staging table behind, whether the import was stored or refused', async () => {
    const staging = await db.query(`SELECT tablename FROM pg_tables WHERE tablename LIKE 'survey_new_%'`);
    expect(staging.rows).toEqual([]);
  });
});
