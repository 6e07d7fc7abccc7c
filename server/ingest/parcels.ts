import pg from 'pg';
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';

/**
 * A cadastral delivery replaces the region's parcels (parcels.sql, migration 020): it is loaded into a table
 * of its own, repaired, keyed and indexed there, reconciled against there, and swapped in as the region's
 * partition of `parcel` just before the commit. Readers see the previous version until then.
 */
const SQL = sqlSet(new URL('./parcels.sql', import.meta.url), [
  'parcels_clear_overlaps', 'parcels_lock_imports', 'parcels_lock_for_survey', 'parcels_load_create', 'parcels_copy',
  'parcels_find_invalid', 'parcels_repair', 'parcels_invalid_drop', 'parcels_drop_empty', 'parcels_load_key',
  'parcels_load_index', 'parcels_load_analyze', 'parcels_count', 'parcels_region_partition', 'parcels_partition_count',
  'parcels_default_clear', 'parcels_swap_drop', 'parcels_swap_attach', 'parcels_swap_touch',
] as const);

export const lockParcelsForCadastral = (q: Queryable) => q.query(SQL.parcels_lock_imports);
export const lockParcelsForSurvey = (q: Queryable) => q.query(SQL.parcels_lock_for_survey);

/** Where a cadastral import's parcels are loaded: named after its batch, so no two imports collide. */
export function parcelLoadTable(batchId: number): string {
  if (!Number.isSafeInteger(batchId) || batchId <= 0) throw new Error(`bad batch id ${batchId}`);
  return `parcel_batch_${batchId}`;
}

const fill = (sql: string, table: string, region?: string) =>
  sql.replaceAll('{{table}}', () => table).replaceAll('{{region}}', () => pg.escapeLiteral(region ?? ''));

export interface ParcelLoad {
  table: string;
  kept: number;
  /** parcel records whose geometry was repaired (ST_MakeValid), and those the repair emptied */
  repaired: number[];
  emptied: number[];
}

/**
 * Load the delivery's COPY rows (region, batch, record, code, holder, use, approved area, attrs, geometry)
 * into the batch's own table and make it ready to be swapped in: repaired, keyed, indexed, analysed.
 * `lap` marks the phases for the import's timings.
 */
export async function loadParcels(
  q: Queryable,
  o: { region: string; batchId: number; rows: Iterable<Uint8Array>; lap: (phase: string) => void },
): Promise<ParcelLoad> {
  const table = parcelLoadTable(o.batchId);
  await q.query(SQL.parcels_clear_overlaps, [o.region]);
  await q.query(fill(SQL.parcels_load_create, table, o.region));
  o.lap('clear');
  await q.copyFrom(fill(SQL.parcels_copy, table), o.rows);
  o.lap('copy'); // includes decoding the records and building WKB: they overlap with the server's parsing
  await q.query(fill(SQL.parcels_find_invalid, table));
  const repaired = (await q.query<{ record: number }>(fill(SQL.parcels_repair, table))).rows.map((r) => r.record);
  const emptied = (await q.query<{ record: number }>(fill(SQL.parcels_drop_empty, table))).rows.map((r) => r.record);
  await q.query(SQL.parcels_invalid_drop);
  o.lap('repair');
  await q.query(fill(SQL.parcels_load_key, table));
  await q.query(fill(SQL.parcels_load_index, table));
  o.lap('index');
  await q.query(fill(SQL.parcels_load_analyze, table));
  o.lap('analyze');
  const kept = (await q.query<{ kept: number }>(fill(SQL.parcels_count, table))).rows[0].kept;
  return { table, kept, repaired, emptied };
}

/**
 * Swap the loaded table in as the region's partition, in place of the previous version (dropped). Returns
 * how many parcels the previous version held. Run last in the import's transaction: from the drop to the
 * commit, parcel is held exclusively (readers wait for that moment, not for the import).
 */
export async function swapParcels(q: Queryable, region: string, table: string): Promise<number> {
  let replaced = (await q.query(SQL.parcels_default_clear, [region])).rowCount ?? 0;
  const previous = (await q.query<{ name: string }>(SQL.parcels_region_partition, [region])).rows[0];
  if (previous) {
    replaced += (await q.query<{ n: number }>(fill(SQL.parcels_partition_count, previous.name))).rows[0].n;
    await q.query(fill(SQL.parcels_swap_drop, previous.name));
  }
  await q.query(fill(SQL.parcels_swap_attach, table, region));
  await q.query(SQL.parcels_swap_touch);
  return replaced;
}
