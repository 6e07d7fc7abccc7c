import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Polygon } from 'geojson';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { X0, Y0, bytesOf, fc, rect } from '../helpers/fixtures';
import { IMPORT_SETTINGS } from '../helpers/ingest';
import { importFile, type ImportRequest } from '../../server/ingest/import';

// The cadastral load runs differently from the other layers (COPY straight into parcel with its foreign key
// and GiST index in place — never dropped, so reads go on during an import: import-cadastral-reads.test.ts —
// validity scan into a temp table): this checks what it must keep doing — repair, drop what the repair
// empties, keep the constraint, and leave everything as it was when the import fails.

const settings = IMPORT_SETTINGS;

const bowtie: Polygon = {
  type: 'Polygon',
  coordinates: [[[X0 + 60, Y0 + 60], [X0 + 140, Y0 + 140], [X0 + 140, Y0 + 60], [X0 + 60, Y0 + 140], [X0 + 60, Y0 + 60]]],
};
// every vertex on one line: invalid, and nothing polygonal is left after ST_MakeValid
const flat: Polygon = {
  type: 'Polygon',
  coordinates: [[[X0 + 500, Y0], [X0 + 600, Y0], [X0 + 700, Y0], [X0 + 500, Y0]]],
};
const parcelList = [
  { geometry: rect(0, 0, 50, 50), properties: { 宗地代码: 'P1' } },
  { geometry: bowtie, properties: { 宗地代码: 'P2' } },
  { geometry: flat, properties: { 宗地代码: 'P3' } },
  { geometry: rect(200, 0, 50, 50), properties: { 宗地代码: 'P4' } },
];
const parcels = fc(parcelList);
const survey = fc([{ geometry: rect(25, 25, 100, 60), properties: { 图斑编号: 'TB1' } }]);

describeEachDb('cadastral import', (backend) => {
  let db: TestDb;
  const run = (req: Omit<ImportRequest, 'bytes' | 'fileName'> & { data: unknown }) =>
    importFile(db, settings, { ...req, bytes: bytesOf(req.data), fileName: `${req.layer}.geojson` });
  const fk = async () =>
    (await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_constraint WHERE conrelid = 'parcel'::regclass AND contype = 'f'`)).rows[0].n;

  beforeAll(async () => {
    db = await freshDb(backend);
    await run({ layer: 'survey', data: survey, survey: '2020' });
  });
  afterAll(async () => { await db?.dispose(); });

  it('repairs invalid parcels, drops what the repair empties, restores the foreign key and reconciles', async () => {
    const r = await run({ layer: 'cadastral', data: parcels });
    // 4 read: 2 stored as delivered, 1 repaired, 1 emptied by the repair (counted once, as skipped)
    expect(r.stored).toBe(2);
    expect(r.repaired).toBe(1);
    expect(r.skipped.reasons).toEqual({ empty_after_repair: 1 });
    const p2 = (await db.query<{ a: number }>(`SELECT ST_Area(geom) AS a FROM parcel WHERE parcel_code = 'P2'`)).rows[0];
    expect(p2.a).toBeCloseTo(3200, 6);
    expect(await fk()).toBe(1);
    const pp = (await db.query<{ code: string }>(
      `SELECT c.parcel_code AS code FROM polygon_parcel pp JOIN parcel c ON c.id = pp.parcel_id ORDER BY 1`)).rows;
    expect(pp.map((x) => x.code)).toEqual(['P1', 'P2']);
  });

  it('a refused cadastral import leaves parcels, overlaps and the constraint as they were', async () => {
    const before = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM parcel`)).rows[0].n;
    const empty = fc([{ geometry: flat, properties: { 宗地代码: 'X' } }]);
    await expect(run({ layer: 'cadastral', data: empty })).rejects.toMatchObject({ code: 'empty_layer' });
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM parcel`)).rows[0].n).toBe(before);
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM polygon_parcel`)).rows[0].n).toBe(2);
    expect(await fk()).toBe(1);
    // and the next import still works (no scratch table left behind in the session)
    const again = await run({ layer: 'cadastral', data: fc(parcelList.slice(0, 2)) });
    expect(again.stored + again.repaired).toBe(2);
  });
});
