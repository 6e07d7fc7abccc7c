/**
 * Leads (线索, issue 16 item 1): a patrol finding or a public report becomes a row of survey_polygon with a
 * `source`, so the queue, decisions, history, versions, cases, coverage and exports treat it as they treat a
 * survey polygon — one definition of "an item" everywhere. A point lead is stored as a 5 m buffer around the
 * point (the point itself stays in attrs.lon/lat) and reconciled like an imported polygon, which gives it its
 * village (属地) by location, its flags and its priority.
 *
 * Leads are written as the owner (AppContext.importDb), like imports: reconciliation writes results the
 * runtime role may not (server/db/roles.sql).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Principal } from '../auth/guard';
import type { Config } from '../config';
import type { Db, Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';
import { reconcile } from '../reconcile/reconcile';
import { decideOne } from '../review/decisions';
import type { Scope } from '../review/cases';

const SQL = sqlSet(new URL('./leads.sql', import.meta.url), [
  'lead_batch_lock', 'lead_batch_find', 'lead_batch_insert', 'lead_insert', 'duplicate_candidate', 'set_duplicate', 'merge_target', 'set_merged', 'merged_leads', 'lead_out',
] as const);

import { type LeadSource } from './sources';
export { LEAD_SOURCES, SOURCE_LABELS, type LeadSource } from './sources';

/** a lead this close to (or inside) a polygon or an open lead may be the same thing (issue 16 item 1) */
export const DUPLICATE_M = 30;

/** Receipt codes and lead codes: no 0/O or 1/I to misread on a phone. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export function randomCode(n = 10): string {
  const b = randomBytes(n);
  let s = '';
  for (const x of b) s += ALPHABET[x % 32]; // 256 = 8 × 32: unbiased
  return s;
}

export interface NewLead {
  source: Exclude<LeadSource, 'survey'>;
  /** the position (WGS84) */
  lon: number;
  lat: number;
  /** a drawn outline instead of the 5 m buffer (GeoJSON Polygon/MultiPolygon, WGS84) */
  polygon?: unknown;
  code?: string;
  attrs: Record<string, unknown>;
}

export interface LeadOut {
  id: number;
  code: string;
  source: LeadSource;
  status: string;
  version: number;
  village: string | null;
  duplicate_of: number | null;
  duplicate_of_code: string | null;
  flags: string[];
  area_m2: number;
}

const leadBatchName: Record<NewLead['source'], string> = { patrol: '巡查线索 patrol leads', report: '举报线索 public reports' };

/** Inserts a lead and reconciles it, inside the caller's transaction (owner connection). */
export async function insertLead(q: Queryable, config: Config, l: NewLead): Promise<LeadOut> {
  const region = config.regionCode;
  const pseudoHash = createHash('sha256').update(`tuban-lead-batch:${region}:${l.source}`).digest('hex');
  let batch = (await q.query<{ id: number }>(SQL.lead_batch_find, [region, l.source, pseudoHash])).rows[0];
  if (!batch) {
    await q.query(SQL.lead_batch_lock, [pseudoHash]);
    batch = (await q.query<{ id: number }>(SQL.lead_batch_find, [region, l.source, pseudoHash])).rows[0]
      ?? (await q.query<{ id: number }>(SQL.lead_batch_insert, [region, l.source, leadBatchName[l.source], pseudoHash])).rows[0];
  }
  const code = l.code ?? `${l.source === 'patrol' ? 'XC' : 'JB'}-${randomCode(8)}`;
  let row: { id: number | string };
  try {
    row = (await q.query<{ id: number | string }>(SQL.lead_insert, [
      region, l.source, code, batch.id, JSON.stringify({ ...l.attrs, lon: l.lon, lat: l.lat }), l.lon, l.lat,
      l.polygon ? JSON.stringify(l.polygon) : null, config.workSrid,
    ])).rows[0];
  } catch (e) {
    // a drawn outline PostGIS cannot read: the caller's input
    if ((e as { code?: string }).code?.startsWith('XX') || /GeoJSON|geometry/i.test((e as Error).message)) {
      throw new AppError('invalid_geometry', 'The outline is not a valid GeoJSON polygon', '轮廓不是有效的 GeoJSON 面', 400);
    }
    throw e;
  }
  const id = Number(row.id);
  await reconcile(q, {
    regionCode: region, polygons: [id], parcels: true, layers: 'all', prior: true, schoolDistanceM: config.schoolDistanceM,
  });
  const dup = (await q.query<{ id: number | string }>(SQL.duplicate_candidate, [region, id, DUPLICATE_M])).rows[0];
  if (dup) await q.query(SQL.set_duplicate, [region, id, Number(dup.id)]);
  return leadOut(q, region, id);
}

export async function leadOut(q: Queryable, region: string, id: number): Promise<LeadOut> {
  const r = (await q.query<LeadOut & { id: number | string; duplicate_of: number | string | null }>(SQL.lead_out, [region, id])).rows[0];
  return { ...r, id: Number(r.id), duplicate_of: r.duplicate_of === null ? null : Number(r.duplicate_of) };
}

/** POST /api/leads: a lead recorded by a user (a patrol finding); one transaction. */
export async function createLead(owner: Db, config: Config, p: Principal, l: Omit<NewLead, 'attrs'> & { note?: string; category?: string }) {
  return owner.tx((q) => insertLead(q, config, {
    source: l.source, lon: l.lon, lat: l.lat, polygon: l.polygon,
    attrs: { note: l.note ?? null, category: l.category ?? null, recorded_by: p.username },
  }));
}

/**
 * POST /api/polygons/:id/merge: a lead merged into the item it duplicates. The lead is dismissed (reason
 * other, the note naming the item) through the ordinary decision — so its own history ends with that event
 * and the target's history is untouched; both stay readable, and the target's detail lists what was merged
 * into it. A merged public report follows the target's status (server/leads/reports.ts).
 */
export async function mergeLead(
  db: Db, owner: Db, region: string, p: Principal, leadId: number, b: { into: number; version: number; request_id: string }, scope: Scope,
) {
  if (leadId === b.into) throw new AppError('invalid_input', 'A lead cannot be merged into itself', '线索不能合并到自身', 400);
  const rows = (await db.query<{ id: number | string; code: string; source: LeadSource; village_name: string | null; merged_into: unknown; removed: boolean }>(
    SQL.merge_target, [region, leadId, b.into])).rows;
  const visible = (v: string | null) => !scope || (v !== null && scope.includes(v));
  const lead = rows.find((r) => Number(r.id) === leadId);
  const target = rows.find((r) => Number(r.id) === b.into);
  if (!lead || !visible(lead.village_name)) throw new AppError('not_found', `No polygon ${leadId}`, `没有图斑 ${leadId}`, 404);
  if (!target || !visible(target.village_name)) throw new AppError('not_found', `No polygon ${b.into}`, `没有图斑 ${b.into}`, 404);
  if (lead.source === 'survey') {
    throw new AppError('not_a_lead', 'Only a lead (patrol or public report) can be merged into another item', '只有线索（巡查、举报）可以合并到其他图斑', 409);
  }
  if (lead.merged_into !== null) throw new AppError('already_merged', 'This lead was merged already', '该线索已合并', 409);
  if (target.merged_into !== null || target.removed) {
    throw new AppError('merge_target_closed', 'The target was itself merged or removed: merge into the item it went to', '目标已被合并或已移除，请合并到其最终图斑', 409);
  }
  // the decision as every decision is made (the runtime role, its history guard); then the mark, which only
  // the owner may write (roles.sql: the runtime role updates status and version alone). A failure between the
  // two leaves the lead dismissed with the note naming the item: nothing lost, the mark can be set again.
  const out = await decideOne(db, region, p, leadId, {
    action: 'dismiss', reason: 'other', version: b.version, request_id: b.request_id ?? randomUUID(),
    note: `合并至 ${target.code} / merged into ${target.code} (#${b.into})`,
  }, scope);
  await owner.query(SQL.set_merged, [region, leadId, b.into]);
  return { ...out.body, merged_into: { id: b.into, code: target.code } };
}

export async function mergedLeads(q: Queryable, region: string, id: number) {
  return (await q.query<{ id: number | string; code: string; source: string; status: string; events: number }>(SQL.merged_leads, [region, id]))
    .rows.map((r) => ({ ...r, id: Number(r.id) }));
}
