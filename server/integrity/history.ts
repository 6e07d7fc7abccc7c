/**
 * Status = replay of the history (issue 12 item 4). The database stops the runtime role from changing a
 * status without an event (migration 008) and from rewriting events (server/db/roles.sql), but not the
 * owner, nor anyone with the embedded database's files. This check is the proof that nothing happened
 * behind the app's back: every polygon's stored status is compared with the replay of its events by the
 * same state machine the decisions use (server/review/transitions.ts). A polygon without events must be
 * pending; a history the machine refuses (an event rewritten, deleted, or out of order) is reported with
 * the replay's reason.
 */
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { replay, ReplayError, type ReplayEvent } from '../review/transitions';

const SQL = sqlSet(new URL('./integrity.sql', import.meta.url), ['polygon_statuses', 'event_chain'] as const);

export interface StatusMismatch {
  polygon_id: number;
  code: string;
  survey: string;
  village: string | null;
  /** what survey_polygon says */
  status: string;
  /** what the history leads to; null when the history itself is not a valid one */
  replayed: string | null;
  events: number;
  /** why the history is invalid (replay's message), when it is */
  problem: string | null;
}

export interface HistoryReport {
  polygons: number;
  events: number;
  mismatches: StatusMismatch[];
}

export async function checkHistory(q: Queryable, regionCode: string): Promise<HistoryReport> {
  const polygons = (await q.query<{ id: number; code: string; survey: string; status: string; village: string | null }>(
    SQL.polygon_statuses, [regionCode],
  )).rows;
  const events = (await q.query<ReplayEvent & { polygon_id: number }>(SQL.event_chain, [regionCode])).rows;
  const byPolygon = new Map<number, ReplayEvent[]>();
  for (const e of events) {
    const id = Number(e.polygon_id);
    let list = byPolygon.get(id);
    if (!list) byPolygon.set(id, (list = []));
    list.push(e);
  }
  const mismatches: StatusMismatch[] = [];
  for (const p of polygons) {
    const id = Number(p.id);
    const history = byPolygon.get(id) ?? [];
    let replayed: string | null = null;
    let problem: string | null = null;
    try {
      replayed = replay(history);
    } catch (e) {
      if (!(e instanceof ReplayError)) throw e;
      problem = e.message;
    }
    if (problem || replayed !== p.status) {
      mismatches.push({ polygon_id: id, code: p.code, survey: p.survey, village: p.village, status: p.status, replayed, events: history.length, problem });
    }
  }
  return { polygons: polygons.length, events: events.length, mismatches };
}
