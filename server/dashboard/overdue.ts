/**
 * GET /api/overdue: enforcement cases with a step past its deadline (review/cases.ts decides what is
 * overdue) and polygons still waiting for an outcome longer than TUBAN_PENDING_DAYS after first import.
 */
import type { Queryable } from '../db/types';
import { loadSql } from '../db/sql-file';
import { listCases } from '../review/cases';
import { filterWhere, shiftParams, toQuery, type BaseFilter, type ReviewFilterQuery } from './filters';
import { WAITING } from './coverage';

const OVERDUE_SQL = loadSql(new URL('./overdue.sql', import.meta.url)).overdue_polygons;
if (!OVERDUE_SQL?.includes('/*polygon_filter*/')) throw new Error('overdue.sql: statement overdue_polygons missing');

export interface OverdueInput {
  base: BaseFilter;
  baseQuery: Record<string, string>;
  /** the dashboard's review filters (a clicked week) */
  review?: ReviewFilterQuery;
  asOf: Date;
  /** the calendar day (Beijing) case deadlines are judged on */
  asOfDate: string;
  pendingDays: number;
  workSrid: number;
  limit: number;
}

export async function overdue(q: Queryable, o: OverdueInput) {
  const importedTo = new Date(o.asOf.getTime() - o.pendingDays * 86_400_000).toISOString();
  const review = { ...o.review, imported_to: importedTo };
  const { where, params } = filterWhere({ ...o.base, status: [...WAITING], includeRemoved: false }, review, o.workSrid);
  const own = [o.asOf.toISOString(), o.limit];
  const r = (await q.query<{ count: number; by_village: { village: string; count: number }[]; oldest: Record<string, unknown>[] }>(
    OVERDUE_SQL.replace('/*polygon_filter*/', shiftParams(where, own.length)),
    [...own, ...params],
  )).rows[0];
  const filter = { ...o.baseQuery, ...toQuery({ status: [...WAITING], imported_to: importedTo }) };
  const cases = await listCases(q, {
    regionCode: o.base.regionCode, scope: o.base.villageScope, overdue: true, asOf: o.asOfDate,
    village: o.base.village?.filter((v) => v !== '-'), limit: o.limit, offset: 0,
  });
  return {
    as_of: o.asOf.toISOString(),
    as_of_date: o.asOfDate,
    pending_days: o.pendingDays,
    polygons: {
      count: r.count,
      imported_before: importedTo,
      filter,
      by_village: r.by_village.map((v) => ({ ...v, filter: { ...filter, village: v.village } })),
      oldest: r.oldest.map((p) => ({ ...p, imported_at: new Date(p.imported_at as string).toISOString() })),
    },
    cases: { count: cases.total, items: cases.items },
  };
}
