/**
 * The nearest feature of a distance layer (school surroundings) is the exactly nearest one, on both
 * databases, also when a feature's bounding box is nearer than its geometry: a long diagonal road-like line
 * whose box covers the polygons, beside points and short lines. reconcile.sql layer_distance finds it in two
 * index steps (box distance, then exact distance within that bound); this compares every stored nearest
 * with a brute-force ST_Distance over all features.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { bytesOf, fc, rect, X0, Y0 } from '../helpers/fixtures';
import { IMPORT_SETTINGS } from '../helpers/ingest';
import { importFile } from '../../server/ingest/import';

const at = (x: number, y: number) => [X0 + x, Y0 + y];

const villages = fc([{ geometry: rect(0, 0, 2000, 2000), properties: { 村名: '东村', XZQDM: '500118109001' } }]);
const schools = fc([
  // its box covers every polygon below, its line passes ≥ 250 m from most of them
  { geometry: { type: 'LineString', coordinates: [at(0, 1900), at(1900, 0)] }, properties: { 学校名称: '斜线' } },
  { geometry: { type: 'Point', coordinates: at(300, 300) }, properties: { 学校名称: '一小' } },
  { geometry: { type: 'Point', coordinates: at(320, 300) }, properties: { 学校名称: '二小' } },
  { geometry: { type: 'LineString', coordinates: [at(600, 100), at(700, 100)] }, properties: { 学校名称: '短线' } },
]);
const survey = fc(
  Array.from({ length: 24 }, (_, i) => ({
    geometry: rect(100 + (i % 6) * 110, 100 + Math.floor(i / 6) * 120, 20, 20),
    properties: { 图斑编号: `D${i}` },
  })),
);

describeEachDb('reconcile: nearest feature of a distance layer', (backend) => {
  let db: TestDb;
  const run = (layer: string, data: unknown) =>
    importFile(db, IMPORT_SETTINGS, { layer, bytes: bytesOf(data), fileName: `${layer}.geojson` } as never);

  beforeAll(async () => {
    db = await freshDb(backend);
    await run('village', villages);
    await run('school', schools);
    await run('survey', survey);
  });
  afterAll(async () => db?.dispose());

  it('stores, for every polygon, the feature at the exact minimum distance', async () => {
    const { rows } = await db.query<{ code: string; stored: number; best: number; got: string; want: string }>(
      `SELECT p.code, pl.distance_m AS stored, bf.d AS best, gf.attrs->>'学校名称' AS got, bf.name AS want
       FROM survey_polygon p
       JOIN polygon_layer pl ON pl.region_code = p.region_code AND pl.polygon_id = p.id
       JOIN layer l ON l.id = pl.layer_id AND l.name = 'school'
       JOIN layer_feature gf ON gf.region_code = pl.region_code AND gf.id = pl.feature_id
       CROSS JOIN LATERAL (
         SELECT ST_Distance(f.geom, p.geom) AS d, f.attrs->>'学校名称' AS name FROM layer_feature f
         WHERE f.layer_id = l.id ORDER BY 1, f.id LIMIT 1) bf
       ORDER BY p.code`,
    );
    expect(rows).toHaveLength(24);
    for (const r of rows) {
      expect(Number(r.stored), r.code).toBeCloseTo(Number(r.best), 6);
      expect(r.got, r.code).toBe(r.want);
    }
    // the diagonal is the nearest for some polygons and not for others, so both index steps are exercised
    expect(new Set(rows.map((r) => r.got)).size).toBeGreaterThan(1);
  });
});
