/**
 * Enforcement cases (案件) and the ledger (台账): numbering, steps of the plan with their deadlines in
 * working days, and the events they leave in the history of their polygons.
 */
import type { Db, Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';
import { appendEvents, type Actor } from './events';
import {
  CASE_STEP_LABELS, CASE_STEPS, type CaseStep, type CaseUpdateBody, type CloseBody, type NewCase, type StepBody,
} from './schemas';
import type { Status } from './transitions';
import { inTx } from './tx';
import { claim, fingerprint, store } from './idempotency';
import { addWorkdays, calendarCovers, today } from './workdays';
import { responsibleFor } from '../villages/register';

const SQL = sqlSet(new URL('./cases.sql', import.meta.url), [
  'next_seq', 'insert_case', 'get_case', 'lock_case', 'share_case', 'case_steps', 'case_polygons',
  'lock_case_polygons', 'link_polygons', 'unlink_polygons', 'upsert_step', 'get_step', 'set_step_deadline',
  'update_case', 'close_case',
] as const);

/** Villages the caller is limited to; undefined = all. */
export type Scope = string[] | undefined;

/** Working-day rules of the plan (实施方案 六(二)1). */
export const DEADLINE_RULES = {
  /** 在1个工作日内将违法建设相关情况书面（附照片）报镇违法建设整治工作小组 */
  report_to_town: { from: 'discovered_on', workdays: 1 },
  /** 有关企业在收到书面通知3个工作日内依法停止供水、供电、供气等服务 */
  utility_notice: { from: 'started_on', workdays: 3 },
} as const;

export const caseNotFound = (id: number) =>
  new AppError('not_found', `No case ${id}`, `没有 ID 为 ${id} 的案件`, 404);
const caseClosed = (id: number) =>
  new AppError('case_closed', `Case ${id} is closed`, `案件 ${id} 已结案`, 409);
const invalid = (path: string, message: string, message_zh: string) =>
  new AppError('invalid_input', message, message_zh, 400, [{ path, message }]);

const visible = (scope: Scope, village: string | null) => !scope || (village !== null && scope.includes(village));

function checkVillage(scope: Scope, village: string | null) {
  if (!visible(scope, village)) {
    throw new AppError(
      'village_out_of_scope',
      `You may only open cases in your villages (${scope!.join(', ')})`,
      `您只能在负责的村（居）立案：${scope!.join('、')}`,
      403,
    );
  }
}

/**
 * Opens a case inside the caller's transaction: takes the next number of its year, and the first
 * steps with their deadlines. `defaultVillage`: the village of the polygon being linked.
 */
export async function createCase(
  q: Queryable,
  regionCode: string,
  actor: Actor,
  c: NewCase,
  scope: Scope,
  defaultVillage?: string | null,
): Promise<{ id: number; number: string }> {
  const village = c.village ?? defaultVillage ?? null;
  checkVillage(scope, village);
  const discovered = c.discovered_on ?? today();
  const year = Number(discovered.slice(0, 4));
  const seq = (await q.query<{ last: number }>(SQL.next_seq, [regionCode, year])).rows[0].last;
  const id = (
    await q.query<{ id: number }>(SQL.insert_case, [
      regionCode, year, seq, c.party, c.address, village, c.kind, discovered, c.note ?? null, actor.id, actor.username,
    ])
  ).rows[0].id;
  if (c.kind === 'under_construction') {
    await q.query(SQL.upsert_step, [regionCode, id, 'stop_order', null, null, null, null, actor.id, actor.username]);
  }
  await q.query(SQL.upsert_step, [
    regionCode, id, 'report_to_town', null, addWorkdays(discovered, DEADLINE_RULES.report_to_town.workdays), null, null,
    actor.id, actor.username,
  ]);
  const number = (await q.query<{ number: string }>(SQL.get_case, [regionCode, id])).rows[0].number;
  return { id, number };
}

/** A case a decision links to: visible, open, and kept open (FOR SHARE) until the decision commits. */
export async function caseForLink(q: Queryable, regionCode: string, caseId: number, scope: Scope) {
  const r = await q.query<{ id: number; number: string; status: string; village: string | null }>(SQL.share_case, [regionCode, caseId]);
  const c = r.rows[0];
  if (!c || !visible(scope, c.village)) throw caseNotFound(caseId);
  if (c.status !== 'open') throw caseClosed(caseId);
  return { id: c.id, number: c.number };
}

export async function linkPolygons(q: Queryable, regionCode: string, caseId: number, polygonIds: number[], actor: Actor) {
  await q.query(SQL.link_polygons, [regionCode, caseId, polygonIds, actor.id, actor.username]);
}

/** Polygons returned to the queue leave their open case. Returns polygon id → case id left. */
export async function unlinkPolygons(q: Queryable, regionCode: string, polygonIds: number[]): Promise<Map<number, number>> {
  const r = await q.query<{ polygon_id: number; case_id: number }>(SQL.unlink_polygons, [regionCode, polygonIds]);
  return new Map(r.rows.map((x) => [x.polygon_id, x.case_id]));
}

/** A case with its steps (in the plan's order) and polygons, or 404 when missing / outside the scope. */
export async function getCase(q: Queryable, regionCode: string, id: number, scope: Scope, asOf = today()) {
  const c = (await q.query<Record<string, unknown> & { village: string | null }>(SQL.get_case, [regionCode, id])).rows[0];
  if (!c || !visible(scope, c.village)) throw caseNotFound(id);
  const steps = (await q.query<{ step: CaseStep; deadline: string | null; overdue: boolean }>(SQL.case_steps, [regionCode, id, asOf])).rows
    .sort((a, b) => CASE_STEPS.indexOf(a.step) - CASE_STEPS.indexOf(b.step))
    .map((s) => ({
      ...s,
      label: CASE_STEP_LABELS[s.step],
      // beyond the published holiday arrangement only weekends were skipped
      deadline_estimated: s.deadline !== null && !calendarCovers(s.deadline),
    }));
  const polygons = (await q.query(SQL.case_polygons, [regionCode, id])).rows;
  // who answers for the village (village register, issue 14.3); null when the register has no row
  const responsible = await responsibleFor(q, regionCode, c.village);
  return { ...c, overdue: steps.some((s) => s.overdue), steps, polygons, responsible };
}

export interface CaseFilter {
  regionCode: string;
  scope: Scope;
  status?: 'open' | 'closed';
  village?: string[];
  year?: number;
  overdue?: boolean;
  asOf: string;
  q?: string;
  /** by number: newest first (the list, default) or oldest first (the case ledger: 序号 1 = the first case) */
  order?: 'asc' | 'desc';
  limit: number;
  offset: number;
}

/** The ledger: filters from an allow-list, every value a $n parameter. */
export async function listCases(q: Queryable, f: CaseFilter) {
  const params: unknown[] = [f.regionCode, f.asOf];
  const where = ['c.region_code = $1'];
  const add = (sql: (n: string) => string, v: unknown) => {
    params.push(v);
    where.push(sql(`$${params.length}`));
  };
  // $2 (the as-of date) is typed once in a CTE, so it is known to both statements whether used or not
  const args = 'WITH args AS (SELECT $2::date AS as_of)';
  const overdueSql = `EXISTS (SELECT 1 FROM case_step s WHERE s.region_code = c.region_code AND s.case_id = c.id
                        AND s.done_on IS NULL AND s.deadline < (SELECT as_of FROM args))`;
  if (f.scope) add((n) => `c.village = ANY(${n}::text[])`, f.scope);
  if (f.status) add((n) => `c.status = ${n}`, f.status);
  if (f.village?.length) add((n) => `c.village = ANY(${n}::text[])`, f.village);
  if (f.year !== undefined) add((n) => `c.year = ${n}::int`, f.year);
  if (f.overdue) where.push(`c.status = 'open' AND ${overdueSql}`);
  if (f.q) {
    add(
      (n) => `(c.number ILIKE ${n} OR c.party ILIKE ${n} OR c.address ILIKE ${n})`,
      `%${f.q.replace(/[\\%_]/g, (ch) => '\\' + ch)}%`,
    );
  }
  const w = where.join(' AND ');
  const total = (await q.query<{ n: number }>(`${args} SELECT count(*)::int AS n FROM enforcement_case c WHERE ${w}`, params)).rows[0].n;
  const rows = await q.query(
    `${args}
     SELECT c.id, c.number, c.year, c.party, c.address, c.village, c.kind, c.discovered_on::text AS discovered_on,
            c.status, c.outcome, c.outcome_at::text AS outcome_at, c.outcome_m2, c.version, c.created_by_name, c.created_at,
            (c.status = 'open' AND ${overdueSql}) AS overdue,
            coalesce((SELECT array_agg(s.step ORDER BY s.deadline, s.step) FROM case_step s
                      WHERE s.region_code = c.region_code AND s.case_id = c.id AND c.status = 'open'
                        AND s.done_on IS NULL AND s.deadline < (SELECT as_of FROM args)), '{}') AS overdue_steps,
            (SELECT min(s.deadline)::text FROM case_step s
             WHERE s.region_code = c.region_code AND s.case_id = c.id AND c.status = 'open'
               AND s.done_on IS NULL) AS next_deadline,
            (SELECT count(*)::int FROM case_polygon cp
             WHERE cp.region_code = c.region_code AND cp.case_id = c.id AND cp.unlinked_at IS NULL) AS polygon_count
     FROM enforcement_case c WHERE ${w}
     ORDER BY c.year ${f.order === 'asc' ? 'ASC' : 'DESC'}, c.seq ${f.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${f.limit} OFFSET ${f.offset}`,
    params,
  );
  return { total, items: rows.rows };
}

/** Case row locked for a change: visible and open. */
async function lockOpenCase(q: Queryable, regionCode: string, id: number, scope: Scope) {
  const c = (await q.query<{ id: number; status: string; village: string | null; version: number; discovered_on: string }>(
    SQL.lock_case,
    [regionCode, id],
  )).rows[0];
  if (!c || !visible(scope, c.village)) throw caseNotFound(id);
  if (c.status !== 'open') throw caseClosed(id);
  return c;
}

/** One event per polygon of the case, status unchanged ('case_step', 'case_updated', 'case_closed'). */
async function caseEvents(
  q: Queryable,
  regionCode: string,
  caseId: number,
  actor: Actor,
  action: 'case_step' | 'case_updated' | 'case_closed',
  note: string | null | undefined,
  payload: Record<string, unknown>,
) {
  // lock in id order; then read again: a polygon that left the case while we waited for its lock is
  // no longer listed (READ COMMITTED: the second statement sees that commit; nothing can join meanwhile,
  // linking needs the case row we hold)
  await q.query(SQL.lock_case_polygons, [regionCode, caseId]);
  const polys = (await q.query<{ id: number; status: Status }>(SQL.lock_case_polygons, [regionCode, caseId])).rows;
  return appendEvents(q, regionCode, {
    items: polys.map((p) => ({ id: p.id, from: p.status, to: p.status })),
    actor,
    action,
    note,
    caseId,
    payload,
  });
}

const notBefore = (path: string, date: string | undefined, discovered: string) => {
  if (date && date < discovered) {
    throw invalid(path, `${path} is before the discovery date ${discovered}`, `${path} 早于发现日期 ${discovered}`);
  }
};

/**
 * POST /api/cases. With a request id, a retry of the same request returns the case the first one opened
 * (`replayed: true`) instead of opening a second case with the next number.
 */
export async function openCase(db: Db, regionCode: string, actor: Actor, c: NewCase, scope: Scope, requestId?: string) {
  return inTx(db, async (q) => {
    if (requestId) {
      const prior = await claim(q, regionCode, actor.id, requestId, fingerprint('case', c));
      if (prior) return { ...(prior as Awaited<ReturnType<typeof getCase>>), replayed: true };
    }
    const { id } = await createCase(q, regionCode, actor, c, scope);
    const out = await getCase(q, regionCode, id, scope);
    return requestId ? store(q, regionCode, actor.id, requestId, out) : out;
  });
}

export async function updateCase(db: Db, regionCode: string, actor: Actor, id: number, b: CaseUpdateBody, scope: Scope) {
  return inTx(db, async (q) => {
    const c = await lockOpenCase(q, regionCode, id, scope);
    if (b.version !== undefined && b.version !== c.version) {
      throw new AppError('version_conflict', `Case ${id} changed meanwhile (version ${c.version})`, `案件已被他人修改（版本 ${c.version}）`, 409, {
        current: { status: c.status, version: c.version },
      });
    }
    if (b.village !== undefined) checkVillage(scope, b.village);
    await q.query(SQL.update_case, [
      regionCode, id, b.party ?? null, b.address ?? null, b.village ?? null, b.kind ?? null, b.discovered_on ?? null,
      b.note ?? null, b.village !== undefined, b.note !== undefined,
    ]);
    if (b.discovered_on && b.discovered_on !== c.discovered_on) {
      await q.query(SQL.set_step_deadline, [regionCode, id, 'report_to_town', addWorkdays(b.discovered_on, DEADLINE_RULES.report_to_town.workdays)]);
    }
    const { version: _v, ...changes } = b;
    await caseEvents(q, regionCode, id, actor, 'case_updated', null, { changes });
    return getCase(q, regionCode, id, scope);
  });
}

/**
 * Records (or completes) a step. Deadlines the plan fixes in working days are computed, never typed:
 * utility_notice = notice date + 3 working days, report_to_town = discovery + 1 working day;
 * self_removal_deadline is the date the officer gave.
 */
export async function recordStep(db: Db, regionCode: string, actor: Actor, id: number, b: StepBody, scope: Scope) {
  if (b.started_on === undefined && b.deadline === undefined && b.done_on === undefined && b.note === undefined) {
    throw invalid('step', 'Give started_on, deadline, done_on or note', '请填写开始日期、期限、完成日期或说明');
  }
  return inTx(db, async (q) => {
    const c = await lockOpenCase(q, regionCode, id, scope);
    notBefore('started_on', b.started_on, c.discovered_on);
    notBefore('done_on', b.done_on, c.discovered_on);
    notBefore('deadline', b.deadline, c.discovered_on);
    const existing = (await q.query<{ started_on: string | null; deadline: string | null; done_on: string | null }>(
      SQL.get_step,
      [regionCode, id, b.step],
    )).rows[0];
    let deadline = b.deadline ?? null;
    if (b.step === 'utility_notice' || b.step === 'report_to_town') {
      if (b.deadline !== undefined) {
        throw invalid('deadline', `The deadline of ${b.step} is computed in working days`, '此步骤的期限按工作日自动计算，不能填写');
      }
      if (b.step === 'utility_notice') {
        if (b.started_on) deadline = addWorkdays(b.started_on, DEADLINE_RULES.utility_notice.workdays);
        else if (!existing?.started_on) {
          throw invalid('started_on', 'utility_notice needs the date the notice was sent (started_on)', '书面通知须填写通知日期（started_on）');
        }
      } else if (!existing) {
        deadline = addWorkdays(c.discovered_on, DEADLINE_RULES.report_to_town.workdays);
      }
    }
    if (b.step === 'self_removal_deadline' && !deadline && !existing?.deadline) {
      throw invalid('deadline', 'self_removal_deadline needs the deadline given to the party', '限期自行拆除须填写期限');
    }
    const step = (await q.query(SQL.upsert_step, [
      regionCode, id, b.step, b.started_on ?? null, deadline, b.done_on ?? null, b.note ?? null, actor.id, actor.username,
    ])).rows[0];
    await caseEvents(q, regionCode, id, actor, 'case_step', b.note, { step });
    return getCase(q, regionCode, id, scope);
  });
}

export async function closeCase(db: Db, regionCode: string, actor: Actor, id: number, b: CloseBody, scope: Scope) {
  return inTx(db, async (q) => {
    const c = await lockOpenCase(q, regionCode, id, scope);
    const at = b.outcome_at ?? today();
    notBefore('outcome_at', at, c.discovered_on);
    // lock order: case, polygons (in caseEvents), then case_polygon rows (the status trigger)
    await caseEvents(q, regionCode, id, actor, 'case_closed', b.note, {
      outcome: b.outcome, outcome_at: at, outcome_m2: b.outcome_m2 ?? null,
    });
    await q.query(SQL.close_case, [regionCode, id, b.outcome, at, b.outcome_m2 ?? null]);
    await q.query(SQL.upsert_step, [regionCode, id, 'outcome', null, null, at, b.note ?? null, actor.id, actor.username]);
    return getCase(q, regionCode, id, scope);
  });
}
