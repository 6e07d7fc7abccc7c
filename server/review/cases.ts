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
import { checkCaseProof } from './proof';

const SQL = sqlSet(new URL('./cases.sql', import.meta.url), [
  'next_seq', 'insert_case', 'get_case', 'lock_case', 'share_case', 'case_steps', 'case_polygons',
  'lock_case_polygons', 'link_polygons', 'unlink_polygons', 'upsert_step', 'get_step', 'set_step_deadline',
  'update_case', 'close_case', 'case_polygons_outside', 'ensure_step', 'step_photos_allowed', 'case_photos', 'case_history', 'case_stats', 'set_target',
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
 *
 * The number 〔YYYY〕第N号 takes the year the case is registered (`registeredOn`, today in Beijing), not the
 * year of discovery: a 2021-12-30 discovery registered in January 2022 follows 〔2022〕第1号 as 〔2022〕第2号,
 * and correcting the discovery date later never renumbers (issue 13 rule 7).
 */
export async function createCase(
  q: Queryable,
  regionCode: string,
  actor: Actor,
  c: NewCase,
  scope: Scope,
  defaultVillage?: string | null,
  registeredOn: string = today(),
): Promise<{ id: number; number: string }> {
  const village = c.village ?? defaultVillage ?? null;
  checkVillage(scope, village);
  const discovered = c.discovered_on ?? registeredOn;
  if (discovered > registeredOn) {
    throw invalid('discovered_on', `discovered_on ${discovered} is after the registration date ${registeredOn}`, `发现日期 ${discovered} 晚于立案日期 ${registeredOn}`);
  }
  const year = Number(registeredOn.slice(0, 4));
  const seq = (await q.query<{ last: number }>(SQL.next_seq, [regionCode, year])).rows[0].last;
  const id = (
    await q.query<{ id: number }>(SQL.insert_case, [
      regionCode, year, seq, c.party, c.address, village, c.kind, discovered, c.note ?? null, actor.id, actor.username,
    ])
  ).rows[0].id;
  if (c.kind === 'under_construction') {
    await q.query(SQL.upsert_step, [regionCode, id, 'stop_order', null, null, null, null, actor.id, actor.username, null, null, null]);
    const deadline = reportDeadline(c.kind, discovered);
    await q.query(SQL.upsert_step, [
      regionCode, id, 'report_to_town', null, deadline, null, null, actor.id, actor.username, null, null, isEstimate(deadline),
    ]);
  }
  const number = (await q.query<{ number: string }>(SQL.get_case, [regionCode, id])).rows[0].number;
  return { id, number };
}

/**
 * The 1-working-day report to the town group applies to construction in progress only (实施方案 六(二)1:
 * 对正在建设的违法建设……在1个工作日内……书面（附照片）报镇违法建设整治工作小组). An existing (存量) case
 * has no such deadline: it is not overdue the moment it is opened (issue 13 rule 6).
 */
export const reportDeadline = (kind: string, discovered: string): string | null =>
  kind === 'under_construction' ? addWorkdays(discovered, DEADLINE_RULES.report_to_town.workdays) : null;

/** A computed deadline beyond the published holiday calendar is an estimate (issue 13 rule 8). */
export const isEstimate = (deadline: string | null): boolean => deadline !== null && !calendarCovers(deadline);

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
  const steps = (await q.query<{ step: CaseStep; deadline: string | null; overdue: boolean; photo_ids: unknown[] }>(SQL.case_steps, [regionCode, id, asOf])).rows
    .sort((a, b) => CASE_STEPS.indexOf(a.step) - CASE_STEPS.indexOf(b.step))
    .map((s) => ({
      ...s,
      photo_ids: s.photo_ids.map(Number), // bigint[]: the drivers parse int8 arrays as strings
      label: CASE_STEP_LABELS[s.step],
      workdays: s.step in DEADLINE_RULES ? DEADLINE_RULES[s.step as keyof typeof DEADLINE_RULES].workdays : null,
      // beyond the published holiday arrangement the holidays are estimated
      deadline_estimated: isEstimate(s.deadline),
    }));
  const polygons = (await q.query(SQL.case_polygons, [regionCode, id, scope ?? null])).rows;
  // who answers for the village (village register, issue 14.3); null when the register has no row
  const responsible = await responsibleFor(q, regionCode, c.village);
  return { ...c, overdue: steps.some((s) => s.overdue), steps, polygons, responsible };
}

/** Photos of the case's polygons (the caller's villages only), for the detail and for a step's photos. */
export async function casePhotos(q: Queryable, regionCode: string, id: number, scope: Scope) {
  await getCase(q, regionCode, id, scope);
  return (await q.query(SQL.case_photos, [regionCode, id, scope ?? null])).rows;
}

/** What the case left in its polygons' histories (one entry per action), the caller's villages only. */
export async function caseHistory(q: Queryable, regionCode: string, id: number, scope: Scope) {
  await getCase(q, regionCode, id, scope);
  return (await q.query(SQL.case_history, [regionCode, id, scope ?? null])).rows;
}

export interface CaseFilter {
  regionCode: string;
  scope: Scope;
  status?: 'open' | 'closed';
  kind?: 'under_construction' | 'existing';
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
  // $3: the caller's villages (NULL = all)
  const params: unknown[] = [f.regionCode, f.asOf, f.scope ?? null];
  const where = ['c.region_code = $1'];
  const add = (sql: (n: string) => string, v: unknown) => {
    params.push(v);
    where.push(sql(`$${params.length}`));
  };
  // $2 (the as-of date) and $3 (scope) are typed once in a CTE, so both statements know them whether used or not
  const args = 'WITH args AS (SELECT $2::date AS as_of, $3::text[] AS scope)';
  const overdueSql = `EXISTS (SELECT 1 FROM case_step s WHERE s.region_code = c.region_code AND s.case_id = c.id
                        AND s.done_on IS NULL AND s.deadline < (SELECT as_of FROM args))`;
  if (f.scope) where.push('c.village = ANY($3::text[])');
  if (f.status) add((n) => `c.status = ${n}`, f.status);
  if (f.kind) add((n) => `c.kind = ${n}`, f.kind);
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
            c.status, c.outcome, c.outcome_at::text AS outcome_at, c.outcome_m2, c.outcome_ref, c.outcome_note, c.version,
            c.created_by_name, c.created_at,
            (c.status = 'open' AND ${overdueSql}) AS overdue,
            coalesce((SELECT array_agg(s.step ORDER BY s.deadline, s.step) FROM case_step s
                      WHERE s.region_code = c.region_code AND s.case_id = c.id AND c.status = 'open'
                        AND s.done_on IS NULL AND s.deadline < (SELECT as_of FROM args)), '{}') AS overdue_steps,
            nd.deadline AS next_deadline, nd.step AS next_step,
            (SELECT count(*)::int FROM case_polygon cp
             JOIN survey_polygon p ON p.region_code = cp.region_code AND p.id = cp.polygon_id
             WHERE cp.region_code = c.region_code AND cp.case_id = c.id AND cp.unlinked_at IS NULL
               -- a polygon of another village linked to a visible case is not counted for a village-limited caller
               AND ($3::text[] IS NULL OR p.village_name = ANY ($3::text[]))) AS polygon_count
     FROM enforcement_case c
     -- the next deadline of an open case and its step (ties: the plan's order is the step's place in it)
     LEFT JOIN LATERAL (
       SELECT s.deadline::text AS deadline, s.step FROM case_step s
       WHERE s.region_code = c.region_code AND s.case_id = c.id AND c.status = 'open' AND s.done_on IS NULL
         AND s.deadline IS NOT NULL
       ORDER BY s.deadline, array_position(ARRAY['stop_order', 'self_removal_deadline', 'utility_notice', 'report_to_town',
                                                 'forced_measures_or_court', 'outcome'], s.step)
       LIMIT 1
     ) nd ON true
     WHERE ${w}
     ORDER BY c.year ${f.order === 'asc' ? 'ASC' : 'DESC'}, c.seq ${f.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${f.limit} OFFSET ${f.offset}`,
    params,
  );
  const items = rows.rows.map((r) => ({ ...r, next_deadline_estimated: isEstimate(r.next_deadline as string | null) }));
  return { total, items };
}

/**
 * Case row locked for a change: visible and open. A change writes an event into the history of every
 * polygon of the case, so a village-limited caller may change it only when every polygon is in their
 * villages (issue 12 item 6); the refusal does not name the other village.
 */
async function lockOpenCase(q: Queryable, regionCode: string, id: number, scope: Scope) {
  const c = (await q.query<{ id: number; status: string; village: string | null; version: number; discovered_on: string; kind: string }>(
    SQL.lock_case,
    [regionCode, id],
  )).rows[0];
  if (!c || !visible(scope, c.village)) throw caseNotFound(id);
  if (c.status !== 'open') throw caseClosed(id);
  if (scope) {
    const outside = (await q.query<{ n: number }>(SQL.case_polygons_outside, [regionCode, id, scope])).rows[0].n;
    if (outside > 0) {
      throw new AppError(
        'case_outside_scope',
        `Case ${id} also links ${outside} polygon(s) outside your villages: an officer responsible for every village of the case must record this`,
        `案件 ${id} 还关联了 ${outside} 个不在您负责村（居）范围内的图斑，须由负责该案件所涉全部村（居）的人员办理`,
        403,
        { outside },
      );
    }
  }
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
    const discovered = b.discovered_on ?? c.discovered_on;
    const kind = b.kind ?? c.kind;
    if (discovered !== c.discovered_on || kind !== c.kind) {
      // the number keeps its registration year; only the report deadline follows discovery and kind
      const deadline = reportDeadline(kind, discovered);
      await q.query(SQL.set_step_deadline, [regionCode, id, 'report_to_town', deadline, isEstimate(deadline)]);
      if (kind === 'under_construction') {
        // the case became 在建: it needs the step (one already recorded stays as it is)
        await q.query(SQL.ensure_step, [regionCode, id, 'report_to_town', deadline, isEstimate(deadline)]);
        await q.query(SQL.ensure_step, [regionCode, id, 'stop_order', null, null]);
      }
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
  if (b.started_on === undefined && b.deadline === undefined && b.done_on === undefined && b.note === undefined
      && b.companies === undefined && b.photo_ids === undefined) {
    throw invalid('step', 'Give started_on, deadline, done_on, note, companies or photo_ids', '请填写开始日期、期限、完成日期、说明、通知单位或照片');
  }
  return inTx(db, async (q) => {
    const c = await lockOpenCase(q, regionCode, id, scope);
    notBefore('started_on', b.started_on, c.discovered_on);
    notBefore('done_on', b.done_on, c.discovered_on);
    notBefore('deadline', b.deadline, c.discovered_on);
    const existing = (await q.query<{ started_on: string | null; deadline: string | null; done_on: string | null; photo_ids: number[] }>(
      SQL.get_step,
      [regionCode, id, b.step],
    )).rows[0];
    if (b.photo_ids?.length) {
      const ok = new Set((await q.query<{ id: number }>(SQL.step_photos_allowed, [regionCode, id, b.photo_ids, scope ?? null])).rows.map((r) => Number(r.id)));
      const bad = b.photo_ids.filter((p) => !ok.has(p));
      if (bad.length) {
        throw invalid('photo_ids', `Not a photo of this case's polygons: ${bad.join(', ')}`, `不是本案图斑的照片：${bad.join('、')}`);
      }
    }
    // 六(二)1: 书面（附照片）报镇违法建设整治工作小组 — the report is done only with a photo
    if (b.step === 'report_to_town' && b.done_on && !(b.photo_ids?.length || existing?.photo_ids?.length)) {
      throw new AppError('photo_required', 'The report to the town group must carry at least one photo (书面（附照片）)',
        '报镇违法建设整治工作小组须附照片（至少一张）', 422, [{ path: 'photo_ids', message: 'at least one photo' }]);
    }
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
        deadline = reportDeadline(c.kind, c.discovered_on);
      }
    }
    if (b.step === 'self_removal_deadline' && !deadline && !existing?.deadline) {
      throw invalid('deadline', 'self_removal_deadline needs the deadline given to the party', '限期自行拆除须填写期限');
    }
    // a computed deadline beyond the published calendar is an estimate; one the officer typed is not
    const computed = b.step === 'utility_notice' || b.step === 'report_to_town';
    const step = (await q.query<{ photo_ids: unknown[] }>(SQL.upsert_step, [
      regionCode, id, b.step, b.started_on ?? null, deadline, b.done_on ?? null, b.note ?? null, actor.id, actor.username,
      b.companies ?? null, b.photo_ids ?? null, computed && isEstimate(deadline),
    ])).rows[0];
    step.photo_ids = step.photo_ids.map(Number);
    await caseEvents(q, regionCode, id, actor, 'case_step', b.note, { step });
    return getCase(q, regionCode, id, scope);
  });
}

export async function closeCase(db: Db, regionCode: string, actor: Actor, id: number, b: CloseBody, scope: Scope) {
  return inTx(db, async (q) => {
    const c = await lockOpenCase(q, regionCode, id, scope);
    const at = b.outcome_at ?? today();
    notBefore('outcome_at', at, c.discovered_on);
    // issue 13 item 18: the proof the outcome needs (proof_requirement); not enforced → closed, counted as lacking
    await checkCaseProof(q, regionCode, id, b.outcome, { outcome_ref: b.outcome_ref, outcome_at: at });
    // lock order: case, polygons (in caseEvents), then case_polygon rows (the status trigger)
    // the outcome goes into every polygon's history (issue 13 item 5)
    await caseEvents(q, regionCode, id, actor, 'case_closed', b.note, {
      outcome: b.outcome, outcome_at: at, outcome_m2: b.outcome_m2 ?? null, outcome_ref: b.outcome_ref ?? null,
    });
    await q.query(SQL.close_case, [
      regionCode, id, b.outcome, at, b.outcome_m2 ?? null, b.outcome_ref ?? null, b.outcome === 'other' ? b.note ?? null : null,
    ]);
    await q.query(SQL.upsert_step, [regionCode, id, 'outcome', null, null, at, b.note ?? null, actor.id, actor.username, null, null, null]);
    return getCase(q, regionCode, id, scope);
  });
}

/**
 * The dashboard's case figures for a year: demolished m² (cases closed as 已拆除 that year) against the
 * admin's target, and cases closed per week. A village-limited caller counts their villages' cases.
 */
export async function caseStats(q: Queryable, regionCode: string, year: number, scope: Scope) {
  const r = (await q.query<{ demolished_m2: number; closed: number; target_m2: number | null; weeks: unknown[] }>(
    SQL.case_stats, [regionCode, year, scope ?? null],
  )).rows[0];
  return { year, ...r, share: r.target_m2 ? r.demolished_m2 / r.target_m2 : null };
}

export async function setDemolitionTarget(q: Queryable, regionCode: string, year: number, targetM2: number, by: string) {
  await q.query(SQL.set_target, [regionCode, year, targetM2, by]);
}
