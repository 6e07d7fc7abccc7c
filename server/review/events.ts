/** The append-only history of a polygon: writing events, reading them back, replaying them. */
import type { Queryable } from '../db/types';
import { AppError } from '../errors';
import { sqlSet } from '../db/sql-file';
import { ACTION_LABELS, DISMISS_REASON_LABELS, replay, STATUS_LABELS, type EventAction, type Status } from './transitions';

const SQL = sqlSet(new URL('./events.sql', import.meta.url), [
  'insert_events', 'history', 'polygon_head', 'last_decision', 'replay_source',
] as const);

export interface Actor {
  id: number;
  username: string;
}

export interface EventRow {
  id: number;
  polygon_id: number;
  seq: number;
  at: Date;
  user_id: number;
  username: string;
  action: EventAction;
  from_status: Status;
  to_status: Status;
  reason: string | null;
  note: string | null;
  case_id: number | null;
  request_id: string | null;
  payload: Record<string, unknown>;
}

export interface NewEvents {
  /** one entry per polygon */
  items: { id: number; from: Status; to: Status; caseId?: number | null }[];
  actor: Actor;
  action: EventAction;
  reason?: string | null;
  note?: string | null;
  caseId?: number | null;
  requestId?: string | null;
  payload?: Record<string, unknown>;
}

/**
 * Append one event per polygon in one statement. The caller must hold the polygons' row locks
 * (UPDATE or SELECT … FOR UPDATE in the same transaction).
 */
export async function appendEvents(q: Queryable, regionCode: string, e: NewEvents): Promise<EventRow[]> {
  if (!e.items.length) return [];
  const r = await q.query<EventRow>(SQL.insert_events, [
    regionCode,
    e.items.map((i) => i.id),
    e.items.map((i) => i.from),
    e.items.map((i) => i.to),
    e.items.map((i) => i.caseId ?? null),
    e.actor.id,
    e.actor.username,
    e.action,
    e.reason ?? null,
    e.note ?? null,
    e.caseId ?? null,
    e.requestId ?? null,
    e.payload ? JSON.stringify(e.payload) : null,
  ]);
  return r.rows;
}

/** Labels in both languages for the screens. */
export function describeEvent<T extends { action: string; reason: string | null; to_status: string }>(e: T) {
  return {
    ...e,
    action_label: ACTION_LABELS[e.action as EventAction] ?? null,
    reason_label: e.reason ? (DISMISS_REASON_LABELS as Record<string, { zh: string; en: string }>)[e.reason] ?? null : null,
    to_status_label: STATUS_LABELS[e.to_status as Status] ?? null,
  };
}

export async function history(q: Queryable, regionCode: string, polygonId: number) {
  const r = await q.query<EventRow & { case_number: string | null }>(SQL.history, [regionCode, polygonId]);
  return r.rows.map(describeEvent);
}

/** GET /api/polygons/:id/history: the polygon's state and every event; 404 outside the caller's villages. */
export async function polygonHistory(q: Queryable, regionCode: string, polygonId: number, scope: string[] | undefined) {
  const p = (await q.query<{ id: number; code: string; status: string; version: number; village_name: string | null; removed: boolean }>(
    SQL.polygon_head,
    [regionCode, polygonId],
  )).rows[0];
  if (!p || (scope && (p.village_name === null || !scope.includes(p.village_name)))) {
    throw new AppError('not_found', `No polygon ${polygonId}`, `没有 ID 为 ${polygonId} 的图斑`, 404);
  }
  return { polygon: p, items: await history(q, regionCode, polygonId) };
}

export async function lastDecision(q: Queryable, regionCode: string, polygonId: number) {
  const r = await q.query<{ username: string; at: Date; action: string; seq: number }>(SQL.last_decision, [regionCode, polygonId]);
  return r.rows[0] ?? null;
}

/** Replays every polygon that has events: polygon id → replayed status (throws on an invalid history). */
export async function replayAll(q: Queryable, regionCode: string): Promise<Map<number, Status>> {
  const r = await q.query<{ polygon_id: number; seq: number; action: string; from_status: string; to_status: string }>(
    SQL.replay_source,
    [regionCode],
  );
  const byPolygon = new Map<number, typeof r.rows>();
  for (const row of r.rows) {
    let list = byPolygon.get(row.polygon_id);
    if (!list) byPolygon.set(row.polygon_id, (list = []));
    list.push(row);
  }
  const out = new Map<number, Status>();
  for (const [id, events] of byPolygon) out.set(id, replay(events));
  return out;
}
