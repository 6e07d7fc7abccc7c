/**
 * A delivery lying wholly outside what is already stored (another survey's area, a reference layer away from
 * every polygon). On PGlite this stopped the import with "invalid join selectivity: 193450064" / "invalid
 * function selectivity": PostGIS's join estimator, given two analysed columns whose extents do not
 * intersect, returns a float8 Datum from a C function typed double — 0 on a 64-bit server, a wasm32 pointer
 * in PGlite (load.sql survey_match_overlap, reconcile.sql layer_overlap). First seen importing
 * no-code-v1.geojson as survey 2021 beside the sample town.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { TEST_REGION, TEST_WORK_SRID } from '../helpers/snapshot';
import { LIMITS } from '../helpers/ingest';
import { importFile, type ImportRequest, type ImportSettings } from '../../server/ingest/import';

const DIR = path.resolve('test/fixtures/deliveries');
const settings: ImportSettings = { regionCode: TEST_REGION, workSrid: TEST_WORK_SRID, schoolDistanceM: 200, limits: LIMITS };

describeEachDb('imports whose extent is disjoint from what is stored', (backend) => {
  let db: TestDb;
  const run = (file: string, req: Omit<ImportRequest, 'bytes' | 'fileName'>) =>
    importFile(db, settings, { bytes: new Uint8Array(readFileSync(path.join(DIR, file))), fileName: file, user: 'test', ...req });

  beforeAll(async () => {
    db = await freshDb(backend);
    // survey 2020 at y ≈ 3 257 000; everything imported below lies 1–2 km away from it
    await run('dltb_cgcs2000.geojson', { layer: 'survey', survey: '2020' });
  });
  afterAll(async () => {
    await db?.dispose();
  });

  it('stores an overlap layer that touches no polygon (reconcile layer_overlap)', async () => {
    const r = await run('green-v1.geojson', { layer: 'park', role: 'overlap', title: '公园' });
    expect(r.stored + r.repaired).toBe(2);
    const hits = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM polygon_layer pl JOIN layer l ON l.id = pl.layer_id WHERE l.name = 'park'`);
    expect(hits.rows[0].n).toBe(0);
  });

  it('stores a survey without codes elsewhere, matched by overlap against nothing (load survey_match_overlap)', async () => {
    const r = await run('no-code-v1.geojson', { layer: 'survey', survey: '2021' });
    expect({ read: r.read, stored: r.stored + r.repaired, skipped: r.skipped.total }).toEqual({ read: 5, stored: 5, skipped: 0 });
    expect(r.code?.matched_by_overlap ?? 0).toBe(0);
    const rows = await db.query<{ survey: string; n: number }>(
      'SELECT survey, count(*)::int AS n FROM survey_polygon WHERE removed_batch_id IS NULL GROUP BY survey ORDER BY survey');
    expect(rows.rows).toEqual([{ survey: '2020', n: 2 }, { survey: '2021', n: 5 }]);
  });
});
