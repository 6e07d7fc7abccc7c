import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Polygon } from 'geojson';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { X0, Y0, bytesOf, fc, rect } from '../helpers/fixtures';
import { IMPORT_SETTINGS } from '../helpers/ingest';
import { importFile, type ImportRequest } from '../../server/ingest/import';

// The cadastral load runs differently from the other layers (COPY into a table of its own, repaired, keyed
// and indexed there, then swapped in as the region's partition of parcel — reads go on during an import:
// import-cadastral-reads.test.ts): this checks what it must keep doing — repair, drop what the repair
// empties, keep the constraint, replace the previous version whole, and leave everything as it was when
// the import fails.

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

// Migration 020: a delivery is loaded into a table of its own and swapped in as the region's partition.
describeEachDb('cadastral import: the region partition swap', (backend) => {
  let db: TestDb;
  const run = (data: unknown) =>
    importFile(db, settings, { layer: 'cadastral', bytes: bytesOf(data), fileName: 'cadastral.geojson' });
  const partitions = async () =>
    (await db.query<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'parcel'::regclass ORDER BY 1`)).rows;
  const codes = async () => (await db.query<{ code: string }>(`SELECT parcel_code AS code FROM parcel ORDER BY 1`)).rows.map((r) => r.code);
  const parcelVersion = async () =>
    Number((await db.query<{ n: string }>(`SELECT sum(n)::text AS n FROM tile_epoch WHERE key = 'parcel'`)).rows[0].n);

  beforeAll(async () => { db = await freshDb(backend); });
  afterAll(async () => { await db?.dispose(); });

  it('replaces parcels stored before the region had a partition, then each version with the next', async () => {
    // a parcel written outside an import (as every parcel stored before migration 020): the default partition
    const batch = (await db.query<{ id: number }>(
      `INSERT INTO import_batch (region_code, layer_id, file_name, sha256, source_layer, report)
       SELECT $1, id, 'by-hand', 'x', 'x', '{}' FROM layer WHERE name = 'cadastral' RETURNING id`, [settings.regionCode])).rows[0].id;
    await db.query(
      `INSERT INTO parcel (region_code, batch_id, record, parcel_code, attrs, geom)
       VALUES ($1, $2, 1, 'LEGACY', '{}', ST_Multi(ST_MakeEnvelope($3::float8, $4::float8, $3::float8 + 10, $4::float8 + 10, $5::int)))`,
      [settings.regionCode, batch, X0, Y0, settings.workSrid]);
    expect((await partitions()).map((p) => p.name)).toEqual(['parcel_default']);

    const v0 = await parcelVersion();
    const first = await run(fc(parcelList.slice(0, 1)));
    expect(first.replaced).toBe(1);
    expect(await codes()).toEqual(['P1']);
    const afterFirst = await partitions();
    expect(afterFirst).toEqual([
      { name: `parcel_batch_${first.batch_id}`, bound: `FOR VALUES IN ('${settings.regionCode}')` },
      { name: 'parcel_default', bound: 'DEFAULT' },
    ]);
    const v1 = await parcelVersion();
    expect(v1).toBeGreaterThan(v0); // the swap writes no row: the import tells the tiles itself

    const second = await run(fc([parcelList[0], parcelList[3]]));
    expect(second.replaced).toBe(1);
    expect(await codes()).toEqual(['P1', 'P4']);
    // the previous version's table is gone, not left detached beside the new one
    expect((await partitions()).map((p) => p.name)).toEqual([`parcel_batch_${second.batch_id}`, 'parcel_default']);
    expect((await db.query(`SELECT 1 FROM pg_class WHERE relname = $1`, [`parcel_batch_${first.batch_id}`])).rowCount).toBe(0);
    expect(await parcelVersion()).toBeGreaterThan(v1);
    // the attached partition carries the parent's foreign key to import_batch (checked once, at the attach)
    expect((await db.query(
      `SELECT 1 FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f'`, [`parcel_batch_${second.batch_id}`])).rowCount).toBe(1);
  });
});
