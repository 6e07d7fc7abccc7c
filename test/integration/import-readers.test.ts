/**
 * Issue 11 items 2, 3, 5 through the database: every file of test/fixtures/readers
 * (scripts/fixtures/make-reader-inputs.ts) imported with importFile on PGlite and PostgreSQL. A refusal
 * is an IngestError with the expected code that leaves the database as it was (never a 500 from the
 * database); an import stores the expected polygons where they belong, with the expected warnings.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { bytesOf, fc, rect } from '../helpers/fixtures';
import { TEST_REGION, TEST_WORK_SRID } from '../helpers/snapshot';
import { LIMITS } from '../helpers/ingest';
import { importFile, type ImportReport, type ImportSettings } from '../../server/ingest/import';
import { IngestError } from '../../server/errors';
import { EXPECTATIONS, SQUARES } from '../../scripts/fixtures/make-reader-inputs';

const DIR = path.resolve('test/fixtures/readers');
const settings: ImportSettings = { regionCode: TEST_REGION, workSrid: TEST_WORK_SRID, schoolDistanceM: 200, limits: LIMITS };
const surveyOf = (file: string) => `readers/${file}`;

describeEachDb('reader fixtures imported', (backend) => {
  let db: TestDb;
  const reports = new Map<string, ImportReport>();

  const counts = async () =>
    (
      await db.query<{ batches: string; polygons: string; parcels: string }>(
        `SELECT (SELECT count(*) FROM import_batch)::text AS batches, (SELECT count(*) FROM survey_polygon)::text AS polygons,
                (SELECT count(*) FROM parcel)::text AS parcels`,
      )
    ).rows[0];

  beforeAll(async () => {
    db = await freshDb(backend);
    const villages = fc([{ geometry: rect(-200, -200, 1200, 1200), properties: { 村名: '吉安村', 行政区代码: '500118109001' } }]);
    await importFile(db, settings, { bytes: bytesOf(villages), fileName: 'villages.geojson', layer: 'village' });
  });
  afterAll(async () => {
    await db?.dispose();
  });

  for (const [file, e] of Object.entries(EXPECTATIONS)) {
    it(`${file}: ${e.refused ? `refused ${e.refused}` : `${e.stored} stored`}`, async () => {
      const before = await counts();
      const run = () =>
        importFile(db, settings, {
          bytes: new Uint8Array(readFileSync(path.join(DIR, file))),
          fileName: file,
          layer: e.layer,
          ...e.options,
          survey: surveyOf(file),
        });
      if (e.refused) {
        const err = await run().then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(err, file).toBeInstanceOf(IngestError);
        expect((err as IngestError).code).toBe(e.refused);
        for (const s of e.says?.zh ?? []) expect((err as IngestError).message_zh).toContain(s);
        expect(await counts()).toEqual(before);
        return;
      }
      const r = await run();
      reports.set(file, r);
      expect(r.stored).toBe(e.stored);
      expect(r.read).toBe(e.stored);
      for (const w of e.warnings ?? []) expect(r.warnings.map((x) => x.code)).toContain(w);
      if (e.options?.srs) for (const w of r.warnings) expect(`${w.message} ${w.message_zh}`).not.toMatch(/(Pass|用) --srs/);
    });
  }

  const rings = async (file: string) =>
    (
      await db.query<{ code: string; pts: string }>(
        `SELECT code, ST_AsText(ST_SnapToGrid(geom, 0.001)) AS pts FROM survey_polygon WHERE survey = $1 ORDER BY code`,
        [surveyOf(file)],
      )
    ).rows;

  it('the Albers polygons are stored on the Yongchuan squares they were made from, in the work CRS', async () => {
    const rows = (
      await db.query<{ code: string; x: number; y: number; area: number; village: string | null }>(
        `SELECT code, ST_XMin(geom) AS x, ST_YMin(geom) AS y, area_m2 AS area, village_name AS village
         FROM survey_polygon WHERE survey = $1 ORDER BY code`,
        [surveyOf('albers-yongchuan.zip')],
      )
    ).rows;
    expect(rows.map((r) => r.code)).toEqual(['YC001', 'YC002', 'YC003']);
    rows.forEach((r, i) => {
      expect(r.x).toBeCloseTo(SQUARES[i][0][0], 2);
      expect(r.y).toBeCloseTo(SQUARES[i][0][1], 2);
      expect(r.area).toBeCloseTo(1600, 0);
      expect(r.village).toBe('吉安村'); // reconciled against the village layer: it really lies in Yongchuan
    });
  });

  it('TOWGS84 gives the same stored positions under either CRS name', async () => {
    const a = await rings('towgs84-named.zip');
    const b = await rings('towgs84-custom.zip');
    expect(a.length).toBe(3);
    expect(b).toEqual(a);
  });

  it('control characters are gone from the stored attributes', async () => {
    for (const file of ['control-chars.zip', 'control-chars.geojson']) {
      const rows = (
        await db.query<{ attrs: Record<string, unknown> }>(`SELECT attrs FROM survey_polygon WHERE survey = $1 ORDER BY code`, [surveyOf(file)])
      ).rows;
      expect(rows.length).toBe(3);
      // eslint-disable-next-line no-control-regex
      for (const r of rows) expect(JSON.stringify(r.attrs)).not.toMatch(/\\u000[0-8]|\\u001|[\u0000-\u0008]/);
    }
    const zipRows = (
      await db.query<{ note: string; village: string }>(
        `SELECT attrs->>'备注' AS note, attrs->>'村名' AS village FROM survey_polygon WHERE survey = $1 ORDER BY code`,
        [surveyOf('control-chars.zip')],
      )
    ).rows;
    expect(zipRows).toEqual([
      { note: '新建厂房', village: '吉安村' },
      { note: '推填土', village: '五星村' },
      { note: '硬化地面', village: '黄瓜山村' },
    ]);
  });

  it('the import report keeps the reader warnings', async () => {
    const stored = (
      await db.query<{ report: ImportReport }>(`SELECT report FROM import_batch WHERE survey = $1`, [surveyOf('prj-other-name.zip')])
    ).rows[0].report;
    expect(stored.warnings.map((w) => w.code)).toContain('prj_name_differs');
    expect(stored.crs.source).toBe('EPSG:4523');
  });
});
