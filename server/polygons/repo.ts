import type { Queryable } from '../db/types';
import { explainPriority, weights } from '../reconcile/priority';
import { sqlSet } from '../db/sql-file';
import { reviewWhere, type ReviewFilterQuery } from '../dashboard/review-filters';

const SQL = sqlSet(new URL('./queries.sql', import.meta.url), [
  'detail', 'detail_parcels', 'detail_layers', 'detail_prior', 'detail_versions', 'batches', 'batch', 'layers',
] as const);

export const POLYGON_STATUSES = ['pending', 'field_check', 'verified', 'linked', 'dismissed'] as const;
export const SORTS = {
  priority: 'p.priority DESC, p.id',
  area: 'p.area_m2 DESC, p.id',
  code: 'p.code, p.id',
} as const;

export interface PolygonFilter {
  regionCode: string;
  /** villages the caller may see (undefined = all) — applied before any user filter */
  villageScope?: string[];
  village?: string[];
  flags?: string[];
  status?: string[];
  batch?: number;
  survey?: string;
  /** where the item came from: survey 卫片, patrol 巡查, report 举报 (issue 16 item 1) */
  source?: string[];
  /** lon/lat bbox [minx, miny, maxx, maxy] in EPSG:4326 */
  bbox?: [number, number, number, number];
  /** code search: prefix or substring, case-insensitive */
  q?: string;
  includeRemoved?: boolean;
  /** decision-based filters (reason, decided_by, first outcome dates, evidence): what a dashboard figure clicks through to */
  review?: ReviewFilterQuery;
  sort: keyof typeof SORTS;
  limit: number;
  offset: number;
}

/** WHERE clause from an allow-list of filters; every value is a $n parameter. */
export function polygonWhere(f: Omit<PolygonFilter, 'sort' | 'limit' | 'offset'>, workSrid: number) {
  const params: unknown[] = [f.regionCode];
  const where = ['p.region_code = $1'];
  const add = (sql: (n: string) => string, v: unknown) => {
    params.push(v);
    where.push(sql(`$${params.length}`));
  };
  if (!f.includeRemoved) where.push('p.removed_batch_id IS NULL');
  if (f.villageScope) add((n) => `p.village_name = ANY(${n}::text[])`, f.villageScope);
  if (f.village?.length) {
    // '-' stands for "no village"
    const names = f.village.filter((v) => v !== '-');
    const none = f.village.includes('-');
    params.push(names);
    where.push(`(p.village_name = ANY($${params.length}::text[])${none ? ' OR p.village_name IS NULL' : ''})`);
  }
  if (f.flags?.length) add((n) => `p.flags @> ${n}::text[]`, f.flags);
  // one status (the default queue) as a plain equality: `= ANY(array)` hides from the planner that the queue
  // index (region_code, status, priority DESC) already gives the priority order, and the top 100 of 50k
  // pending polygons then cost a full scan and sort (district: 114 ms against 0.6 ms)
  if (f.status?.length === 1) add((n) => `p.status = ${n}`, f.status[0]);
  else if (f.status?.length) add((n) => `p.status = ANY(${n}::text[])`, f.status);
  if (f.batch !== undefined) add((n) => `(p.batch_id = ${n} OR p.first_batch_id = ${n})`, f.batch);
  if (f.survey) add((n) => `p.survey = ${n}`, f.survey);
  if (f.source?.length) add((n) => `p.source = ANY(${n}::text[])`, f.source);
  if (f.q) add((n) => `p.code ILIKE ${n}`, `%${f.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`);
  if (f.bbox) {
    // transform the bbox to the work CRS so the GiST index on geom is used
    params.push(...f.bbox);
    const k = params.length;
    where.push(`p.geom && ST_Transform(ST_MakeEnvelope($${k - 3}, $${k - 2}, $${k - 1}, $${k}, 4326), ${workSrid})`);
  }
  if (f.review) where.push(...reviewWhere(f.review, params));
  return { where: where.join(' AND '), params };
}

export async function listPolygons(q: Queryable, f: PolygonFilter, workSrid: number, geojson = false) {
  const { where, params } = polygonWhere(f, workSrid);
  const total = (await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM survey_polygon p WHERE ${where}`, params))
    .rows[0].n;
  const geom = geojson ? `, ST_AsGeoJSON(ST_Transform(p.geom, 4326), 7)::json AS geometry` : '';
  const rows = await q.query(
    `SELECT p.id, p.survey, p.source, p.duplicate_of, p.merged_into, p.code, p.status, p.version, p.village_name AS village, p.area_m2,
            p.area_m2 / (10000.0 / 15) AS area_mu, p.flags, p.priority, p.parcel_count, p.largest_parcel_share,
            p.school_distance_m, p.batch_id, p.removed_batch_id IS NOT NULL AS removed,
            p.geom_changed_batch_id IS NOT NULL AS geometry_changed,
            -- the latest field finding (issue 13 item 16: the queue marks polygons whose field results came back)
            (SELECT f.finding FROM field_finding f WHERE f.region_code = p.region_code AND f.polygon_id = p.id
             ORDER BY f.id DESC LIMIT 1) AS field_result${geom}
     FROM survey_polygon p WHERE ${where}
     ORDER BY ${SORTS[f.sort]} LIMIT ${f.limit} OFFSET ${f.offset}`,
    params,
  );
  return { total, items: rows.rows };
}

export async function getPolygon(q: Queryable, regionCode: string, id: number) {
  const p = (await q.query<Record<string, unknown>>(SQL.detail, [regionCode, id])).rows[0];
  if (!p) return undefined;
  const [parcels, layers, prior, versions] = await Promise.all([
    q.query(SQL.detail_parcels, [regionCode, id]),
    q.query(SQL.detail_layers, [regionCode, id]),
    q.query(SQL.detail_prior, [regionCode, id]),
    q.query(SQL.detail_versions, [regionCode, id]),
  ]);
  const detail: Record<string, unknown> = { ...p, parcels: parcels.rows, layers: layers.rows, prior: prior.rows, versions: versions.rows };
  // how the stored priority is made, term by term, with the admin's current weights (issue 13 rule 9)
  detail.priority_formula = explainPriority(await weights(q), {
    flags: p.flags as string[], area_m2: p.area_m2 as number, geom_changed: p.geom_changed_batch_id != null,
  });
  return detail;
}

export const listBatches = (q: Queryable, regionCode: string) => q.query(SQL.batches, [regionCode]).then((r) => r.rows);
export const getBatch = (q: Queryable, regionCode: string, id: number) =>
  q.query(SQL.batch, [regionCode, id]).then((r) => r.rows[0]);
export const listLayers = (q: Queryable) => q.query(SQL.layers).then((r) => r.rows);
