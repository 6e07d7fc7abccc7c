/** What the field page reads: one polygon with everything shown on site, and the list of polygons to visit. */
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { history } from '../review/events';
import { STATUS_LABELS, type Status } from '../review/transitions';
import { accessParams, polygonNotFound, type Access } from './access';
import { polygonEvidence } from './evidence';
import { polygonFindings } from './findings';

const SQL = sqlSet(new URL('./field.sql', import.meta.url), [
  'polygon_visible', 'layer_titles', 'polygon_id_by_code', 'field_polygon', 'field_parcels', 'field_nearby_parcels', 'worklist', 'worklist_count', 'sheet_polygons',
] as const);

export const WORKLIST_LIMIT = 300;

/** 404 unless the caller may see the polygon. */
export async function assertVisible(q: Queryable, regionCode: string, id: number, access: Access) {
  const r = await q.query(SQL.polygon_visible, [regionCode, id, ...accessParams(access)]);
  if (!r.rows.length) throw polygonNotFound(id);
}

/** layer name → Chinese title, for the flags of a polygon */
export async function flagTitles(q: Queryable) {
  const r = await q.query<{ name: string; title_zh: string }>(SQL.layer_titles);
  return new Map(r.rows.map((f) => [f.name, f.title_zh]));
}

export async function polygonIdByCode(q: Queryable, regionCode: string, code: string, access: Access): Promise<number> {
  const r = await q.query<{ id: number }>(SQL.polygon_id_by_code, [regionCode, code, ...accessParams(access)]);
  if (!r.rows[0]) throw polygonNotFound(code);
  return Number(r.rows[0].id);
}

/** GET /api/field/polygons/:id — facts, parcels and holders, history (with findings and photos), photos. */
/** The field map's parcel lines: within this many metres of the polygon, at most this many (~40 KB). */
export const NEARBY_PARCELS_M = 120;
export const NEARBY_PARCELS_LIMIT = 250;

export async function fieldPolygon(q: Queryable, regionCode: string, id: number, access: Access) {
  const p = (await q.query<Record<string, unknown> & { status: Status; id: number }>(SQL.field_polygon, [regionCode, id, ...accessParams(access)])).rows[0];
  if (!p) throw polygonNotFound(id);
  const [parcels, nearby, events, evidence, findings] = await Promise.all([
    q.query(SQL.field_parcels, [regionCode, id]).then((r) => r.rows),
    q.query(SQL.field_nearby_parcels, [regionCode, id, NEARBY_PARCELS_M, NEARBY_PARCELS_LIMIT]).then((r) => r.rows),
    history(q, regionCode, id),
    polygonEvidence(q, regionCode, id),
    polygonFindings(q, regionCode, id),
  ]);
  return {
    polygon: { ...p, id: Number(p.id), status_label: STATUS_LABELS[p.status] ?? null, parcels, nearby_parcels: nearby },
    history: events,
    evidence,
    findings,
  };
}

/** GET /api/field/worklist — a link's polygons, or those still to visit in the caller's villages. */
export async function worklist(q: Queryable, regionCode: string, access: Access, village: string | null) {
  const [villages, ids] = accessParams(access);
  const args = [regionCode, villages, ids, village];
  const [items, total] = await Promise.all([
    q.query<Record<string, unknown>>(SQL.worklist, [...args, WORKLIST_LIMIT]).then((r) => r.rows),
    q.query<{ n: number }>(SQL.worklist_count, args).then((r) => r.rows[0].n),
  ]);
  return { total, limit: WORKLIST_LIMIT, items: items.map((x) => ({ ...x, id: Number(x.id) })) };
}

export interface SheetRow {
  id: number;
  code: string;
  survey: string;
  status: Status;
  area_m2: number;
  area_mu: number;
  flags: string[];
  parcel_count: number;
  school_distance_m: number | null;
  lon: number;
  lat: number;
  parcel_code: string | null;
  holder: string | null;
  land_use: string | null;
}

export const SHEET_LIMIT = 500;

export async function sheetPolygons(q: Queryable, regionCode: string, village: string) {
  return (await q.query<SheetRow>(SQL.sheet_polygons, [regionCode, village, SHEET_LIMIT + 1])).rows;
}
