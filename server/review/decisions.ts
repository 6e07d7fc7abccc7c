/**
 * Deciding polygons: one at a time (optimistic version check in one UPDATE) or in bulk (one
 * transaction, all or nothing). Every decision is idempotent by the client's request id and leaves one
 * append-only event per polygon.
 */
import type { Principal } from '../auth/guard';
import type { Db, Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';
import { caseForLink, createCase, linkPolygons, unlinkPolygons, type Scope } from './cases';
import { appendEvents, describeEvent, lastDecision, type Actor, type EventRow } from './events';
import type { BulkDecisionBody, DecisionBody } from './schemas';
import {
  ACTION_LABELS, allowedFrom, checkDecision, invalidTransition, RULES, STATUS_LABELS, transition, type Refusal, type Status,
} from './transitions';
import { inTx, mapDbError } from './tx';
import { claim, fingerprint, store } from './idempotency';
import { checkDismissProof } from './proof';

const SQL = sqlSet(new URL('./decisions.sql', import.meta.url), [
  'decide_one', 'polygon_state', 'polygon_villages',
  'lock_polygons', 'decide_many', 'decide_at_once',
] as const);

const refuse = (r: Refusal) => new AppError(r.code, r.message, r.message_zh, r.status, r.details);
const polygonNotFound = (id: number) => new AppError('not_found', `No polygon ${id}`, `没有 ID 为 ${id} 的图斑`, 404);
const visible = (scope: Scope, village: string | null) => !scope || (village !== null && scope.includes(village));
const actorOf = (p: Principal): Actor => ({ id: p.id, username: p.username });
const proofOnlyForDismiss = () => new AppError('invalid_input', 'Only dismiss takes a proof', '只有“排除”需要提供证明材料', 400, [{ path: 'proof', message: 'only dismiss takes a proof' }]);
/** the proof given and the requirements (not enforced) it did not meet, for the event's payload */
const proofPayload = (b: { proof?: DecisionBody['proof'] }, lacking: string[]) => ({
  ...(b.proof ? { proof: b.proof } : {}), ...(lacking.length ? { lacking_proof: lacking } : {}),
});


/** Refuse early (before any lock) a polygon the caller may not see, so a new case is not opened for it. */
async function villagesOf(q: Queryable, regionCode: string, ids: number[], scope: Scope): Promise<(string | null)[]> {
  const r = await q.query<{ id: number; village_name: string | null }>(SQL.polygon_villages, [regionCode, ids]);
  const seen = new Map(r.rows.map((x) => [x.id, x.village_name]));
  for (const id of ids) if (!seen.has(id) || !visible(scope, seen.get(id)!)) throw polygonNotFound(id);
  return [...new Set(seen.values())];
}

/** The case a `link` decision names, or the one it opens (before any polygon lock: lock order). */
async function resolveCase(
  q: Queryable,
  regionCode: string,
  p: Principal,
  b: { case_id?: number; new_case?: DecisionBody['new_case'] },
  ids: number[],
  scope: Scope,
): Promise<{ id: number; number: string; created: boolean } | null> {
  if (b.case_id !== undefined) return { ...(await caseForLink(q, regionCode, b.case_id, scope)), created: false };
  if (b.new_case) {
    const villages = await villagesOf(q, regionCode, ids, scope);
    const c = await createCase(q, regionCode, actorOf(p), b.new_case, scope, villages.length === 1 ? villages[0] : null);
    return { ...c, created: true };
  }
  return null;
}

export interface DecisionResponse {
  polygon: { id: number; status: Status; version: number };
  event: ReturnType<typeof describeEvent<EventRow>>;
  case: { id: number; number: string; created: boolean } | null;
  replayed: boolean;
}

/** Failures after which the full transaction is run instead: it says why, or retries (see decide_at_once). */
const NOT_PLAIN = new Set(['23505', '40P01', '40001']);

/**
 * A plain decision — no case to open or join (link), none to leave (return/reopen of a linked polygon), no
 * proof to check (dismiss) — in one statement (decisions.sql decide_at_once): one round trip instead of six,
 * measured in bench:decisions (docs/BENCHMARKS.md). Undefined when it was not plain after all (version, status,
 * scope, a used request id, a race): the caller runs the full transaction, which answers exactly as before.
 */
async function decideAtOnce(db: Db, regionCode: string, p: Principal, polygonId: number, b: DecisionBody, scope: Scope, fp: string) {
  if (b.action === 'link' || b.action === 'dismiss' || b.proof || b.case_id !== undefined || b.new_case) return undefined;
  const to = RULES[b.action].to;
  // a linked polygon leaves its case on return/reopen: the full transaction's work
  const from = allowedFrom(b.action).filter((s) => s !== 'linked');
  const { action_label, reason_label, to_status_label } = describeEvent({ action: b.action, reason: b.reason ?? null, to_status: to });
  try {
    const r = await db.query<{ response: DecisionResponse }>(SQL.decide_at_once, [
      regionCode, polygonId, b.version, to, from, scope ?? null, p.id, p.username, b.action, b.reason ?? null, b.note ?? null,
      b.request_id, fp, JSON.stringify({ action_label, reason_label, to_status_label }),
    ], { prepare: true });
    return r.rows[0]?.response;
  } catch (e) {
    if (NOT_PLAIN.has((e as { code?: string }).code ?? '')) return undefined;
    throw mapDbError(e);
  }
}

/** POST /api/polygons/:id/decisions */
export async function decideOne(db: Db, regionCode: string, p: Principal, polygonId: number, b: DecisionBody, scope: Scope) {
  const r = checkDecision(p.role, { action: b.action, reason: b.reason, note: b.note, hasCase: b.case_id !== undefined || !!b.new_case });
  if (r) throw refuse(r);
  if (b.proof && b.action !== 'dismiss') throw proofOnlyForDismiss();
  const fp = fingerprint('one', { polygon_id: polygonId, ...b });
  const to = RULES[b.action].to;

  const done = await decideAtOnce(db, regionCode, p, polygonId, b, scope, fp);
  if (done) return { replayed: false, body: done };
  return inTx(db, async (q) => {
    const prior = await claim(q, regionCode, p.id, b.request_id, fp);
    if (prior) return { replayed: true, body: { ...(prior as object), replayed: true } as DecisionResponse };

    const kase = b.action === 'link' ? await resolveCase(q, regionCode, p, b, [polygonId], scope) : null;
    const upd = await q.query<{ id: number; from_status: Status; status: Status; version: number }>(SQL.decide_one, [
      regionCode, polygonId, b.version, to, allowedFrom(b.action), scope ?? null,
    ]);
    const row = upd.rows[0];
    if (!row) throw await whyRefused(q, regionCode, polygonId, b, scope);
    // issue 13 item 18: the proof the reason needs (refused here rolls the update back)
    const lacking = b.action === 'dismiss' ? await checkDismissProof(q, regionCode, b.reason!, [polygonId], b.proof) : [];

    const left = row.from_status === 'linked' && (b.action === 'return' || b.action === 'reopen')
      ? await unlinkPolygons(q, regionCode, [polygonId])
      : new Map<number, number>();
    if (kase) await linkPolygons(q, regionCode, kase.id, [polygonId], actorOf(p));
    const [ev] = await appendEvents(q, regionCode, {
      items: [{ id: polygonId, from: row.from_status, to: row.status, caseId: left.get(polygonId) ?? null }],
      actor: actorOf(p),
      action: b.action,
      reason: b.reason ?? null,
      note: b.note ?? null,
      caseId: kase?.id ?? null,
      requestId: b.request_id,
      payload: kase?.created || left.size || b.proof || lacking.length
        ? { ...(kase?.created ? { new_case: true } : left.size ? { left_case: left.get(polygonId) } : {}), ...proofPayload(b, lacking) }
        : undefined,
    });
    const response: DecisionResponse = {
      polygon: { id: row.id, status: row.status, version: row.version },
      event: describeEvent(ev),
      case: kase ? { id: kase.id, number: kase.number, created: kase.created } : null,
      replayed: false,
    };
    return { replayed: false, body: await store(q, regionCode, p.id, b.request_id, response) };
  });
}

/** The single UPDATE matched nothing: say why (404 / removed / stale version / transition). */
async function whyRefused(q: Queryable, regionCode: string, polygonId: number, b: DecisionBody, scope: Scope): Promise<AppError> {
  const s = (await q.query<{ status: Status; version: number; village_name: string | null; removed: boolean }>(
    SQL.polygon_state,
    [regionCode, polygonId],
  )).rows[0];
  if (!s || !visible(scope, s.village_name)) return polygonNotFound(polygonId);
  if (s.removed) {
    return new AppError('polygon_removed', `Polygon ${polygonId} is no longer in the survey`, `图斑 ${polygonId} 已不在最新一期监测数据中，不能处理`, 409, {
      current: { status: s.status, version: s.version },
    });
  }
  if (s.version !== b.version) {
    const by = await lastDecision(q, regionCode, polygonId);
    return new AppError(
      'version_conflict',
      `Polygon ${polygonId} was changed meanwhile${by ? ` by ${by.username} (${by.action})` : ''}: now ${s.status}, version ${s.version}`,
      `图斑 ${polygonId} 已被${by ? ` ${by.username} ` : '他人'}处理${by ? `（${ACTION_LABELS[by.action as keyof typeof ACTION_LABELS]?.zh ?? by.action}）` : ''}，当前状态“${STATUS_LABELS[s.status]?.zh ?? s.status}”，版本 ${s.version}`,
      409,
      { current: { status: s.status, version: s.version }, by: by ? { username: by.username, at: by.at, action: by.action } : null },
    );
  }
  return refuse(invalidTransition(s.status, b.action, { current: { status: s.status, version: s.version } }));
}

export interface BulkConflict {
  id: number;
  current_version: number;
  status: Status;
  reason: 'version' | 'transition';
}

/** POST /api/decisions/bulk: every item or none. */
export async function decideBulk(db: Db, regionCode: string, p: Principal, b: BulkDecisionBody, scope: Scope) {
  const r = checkDecision(p.role, { action: b.action, reason: b.reason, note: b.note, hasCase: b.case_id !== undefined || !!b.new_case });
  if (r) throw refuse(r);
  if (b.proof && b.action !== 'dismiss') throw proofOnlyForDismiss();
  const fp = fingerprint('bulk', b);
  const to = RULES[b.action].to;
  const ids = b.items.map((i) => i.id);

  return inTx(db, async (q) => {
    const prior = await claim(q, regionCode, p.id, b.request_id, fp);
    if (prior) return { replayed: true, body: { ...(prior as object), replayed: true } as BulkResponse };

    const kase = b.action === 'link' ? await resolveCase(q, regionCode, p, b, ids, scope) : null;
    const rows = (await q.query<{ id: number; status: Status; version: number; village_name: string | null; removed: boolean }>(
      SQL.lock_polygons,
      [regionCode, ids],
    )).rows;
    const byId = new Map(rows.filter((x) => visible(scope, x.village_name)).map((x) => [x.id, x]));
    const missing = ids.filter((id) => !byId.has(id));
    if (missing.length) {
      throw new AppError('not_found', `No polygon ${missing.join(', ')}`, `没有图斑 ${missing.join('、')}`, 404, { missing });
    }
    const removed = ids.filter((id) => byId.get(id)!.removed);
    if (removed.length) {
      throw new AppError('polygon_removed', `Polygons no longer in the survey: ${removed.join(', ')}`, `以下图斑已不在最新一期监测数据中：${removed.join('、')}`, 409, { ids: removed });
    }
    const conflicts: BulkConflict[] = [];
    for (const it of b.items) {
      const cur = byId.get(it.id)!;
      if (cur.version !== it.version) conflicts.push({ id: it.id, current_version: cur.version, status: cur.status, reason: 'version' });
      else if (!transition(cur.status, b.action)) conflicts.push({ id: it.id, current_version: cur.version, status: cur.status, reason: 'transition' });
    }
    if (conflicts.length) {
      const stale = conflicts.some((c) => c.reason === 'version');
      throw new AppError(
        stale ? 'version_conflict' : 'invalid_transition',
        `${conflicts.length} of ${ids.length} polygons ${stale ? 'changed meanwhile or ' : ''}cannot be decided (${b.action}); nothing was changed`,
        `${ids.length} 个图斑中有 ${conflicts.length} 个${stale ? '已被他人处理或' : ''}不能执行此操作，全部未处理`,
        409,
        { conflicts },
      );
    }
    const lacking = b.action === 'dismiss' ? await checkDismissProof(q, regionCode, b.reason!, ids, b.proof) : [];
    const upd = await q.query<{ id: number; status: Status; version: number }>(SQL.decide_many, [
      regionCode, ids, b.items.map((i) => i.version), to,
    ]);
    if (upd.rows.length !== ids.length) throw new Error(`bulk update matched ${upd.rows.length} of ${ids.length} locked rows`);
    const newVersion = new Map(upd.rows.map((x) => [x.id, x.version]));

    const leaving = ids.filter((id) => byId.get(id)!.status === 'linked');
    const left = (b.action === 'return' || b.action === 'reopen') && leaving.length
      ? await unlinkPolygons(q, regionCode, leaving)
      : new Map<number, number>();
    if (kase) await linkPolygons(q, regionCode, kase.id, ids, actorOf(p));
    const events = await appendEvents(q, regionCode, {
      items: ids.map((id) => ({ id, from: byId.get(id)!.status, to, caseId: left.get(id) ?? null })),
      actor: actorOf(p),
      action: b.action,
      reason: b.reason ?? null,
      note: b.note ?? null,
      caseId: kase?.id ?? null,
      requestId: b.request_id,
      payload: { bulk: ids.length, ...(kase?.created ? { new_case: true } : {}), ...proofPayload(b, lacking) },
    });
    const eventOf = new Map(events.map((e) => [e.polygon_id, e]));
    const response: BulkResponse = {
      action: b.action,
      count: ids.length,
      items: ids.map((id) => ({
        id,
        from_status: byId.get(id)!.status,
        status: to,
        version: newVersion.get(id)!,
        event_id: eventOf.get(id)!.id,
        seq: eventOf.get(id)!.seq,
      })),
      case: kase ? { id: kase.id, number: kase.number, created: kase.created } : null,
      replayed: false,
    };
    return { replayed: false, body: await store(q, regionCode, p.id, b.request_id, response) };
  });
}

export interface BulkResponse {
  action: string;
  count: number;
  items: { id: number; from_status: Status; status: Status; version: number; event_id: number; seq: number }[];
  case: { id: number; number: string; created: boolean } | null;
  replayed: boolean;
}
