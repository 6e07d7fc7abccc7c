import { type Request } from 'express';
import { router } from '../http/canonical-path';
import { z } from 'zod';
import type { AppContext } from '../context';
import { AppError } from '../errors';
import { villageScope, type Principal } from '../auth/guard';
import { route } from '../http/openapi';
import { decideBulk, decideOne } from '../review/decisions';
import { polygonHistory } from '../review/events';
import {
  caseHistory, casePhotos, caseStats, closeCase, getCase, listCases, openCase, recordStep, setDemolitionTarget, updateCase,
} from '../review/cases';
import {
  BulkDecisionBody, BulkDecisionOut, CaseDetailQuery, CaseListOut, CaseListQuery, CaseOut, CaseUpdateBody, CloseBody,
  DecisionBody, DecisionOut, HistoryOut, IdParam, OpenCaseBody, StepBody,
} from '../review/schemas';
import { CALENDAR_YEARS, today } from '../review/workdays';
import {
  ACTION_LABELS, DISMISS_REASON_LABELS, DISMISS_REASONS, RULES, STATUS_LABELS, STATUSES,
} from '../review/transitions';
import { CASE_STEP_LABELS, CASE_STEPS } from '../review/schemas';
import { setWeights, WEIGHT_KEYS, weightRows, WeightsBody } from '../reconcile/priority';

export {
  BulkDecisionBody, CaseDetailQuery, CaseListQuery, CaseUpdateBody, CloseBody, DecisionBody, NewCase, StepBody,
} from '../review/schemas';

const ALL = ['admin', 'analyst', 'reviewer', 'field'] as const;
/** admitted to the decision routes; which action each role may take is the state machine's business */
const DECIDERS = ['admin', 'analyst', 'reviewer'] as const;
const OFFICERS = ['admin', 'analyst'] as const;
const Id = z.object({ id: IdParam });

function idOf(req: Request, what: 'polygon' | 'case'): number {
  const r = IdParam.safeParse(req.params.id);
  if (!r.success) {
    throw new AppError('invalid_input', `The ${what} id must be a positive integer`, `${what === 'polygon' ? '图斑' : '案件'} ID 必须为正整数`, 400);
  }
  return r.data;
}

const principal = (req: Request): Principal => req.principal!;

/**
 * The review workflow (DESIGN §5): decisions on polygons, their history, and enforcement cases (台账).
 * Objects outside a village-limited caller's villages answer 404.
 */
export function reviewRoutes(ctx: AppContext) {
  const r = router();
  const region = ctx.config.regionCode;

  route(r, {
    method: 'post', path: '/api/polygons/:id/decisions', tags: ['review'], roles: DECIDERS,
    summary: 'Decide a polygon: verify, link (to a case), dismiss, request_field_check, return, reopen',
    summary_zh: '处理图斑：核实、关联案件、排除、申请实地核查、退回、重新打开',
    description:
      'Send the `version` you saw: a stale one answers 409 version_conflict with details.current and details.by. ' +
      'Analysts/admins decide; reviewers (and admins) return an outcome with a comment (note). dismiss needs a reason ' +
      '(note too for other). The same request_id from the same user answers the first result again (replayed: true, ' +
      'header Idempotent-Replayed). 409 polygon_removed for a polygon no longer delivered; 409 invalid_transition.',
    params: Id, body: DecisionBody, response: DecisionOut,
  }, async (req, res) => {
    const id = idOf(req, 'polygon');
    const body = DecisionBody.parse(req.body ?? {});
    const out = await decideOne(ctx.db, region, principal(req), id, body, villageScope(req));
    if (out.replayed) res.set('Idempotent-Replayed', 'true');
    res.json(out.body);
  });

  route(r, {
    method: 'post', path: '/api/decisions/bulk', tags: ['review'], roles: DECIDERS,
    summary: 'Decide many polygons in one transaction: all or nothing', summary_zh: '批量处理图斑（全部成功或全部不变）',
    description: 'Any stale or refused item: 409 with details.conflicts [{id, current_version, status, reason}] and nothing changed.',
    body: BulkDecisionBody, response: BulkDecisionOut,
  }, async (req, res) => {
    const body = BulkDecisionBody.parse(req.body ?? {});
    const out = await decideBulk(ctx.db, region, principal(req), body, villageScope(req));
    if (out.replayed) res.set('Idempotent-Replayed', 'true');
    res.json(out.body);
  });

  route(r, {
    method: 'get', path: '/api/polygons/:id/history', tags: ['review'], roles: ALL,
    summary: 'Every event of a polygon, oldest first (append-only)', summary_zh: '图斑处理记录',
    params: Id, response: HistoryOut,
  }, async (req, res) => {
    res.json(await polygonHistory(ctx.db, region, idOf(req, 'polygon'), villageScope(req)));
  });

  route(r, {
    method: 'post', path: '/api/cases', tags: ['cases'], roles: OFFICERS,
    summary: 'Open an enforcement case (numbered per year)', summary_zh: '立案（按年编号）',
    description: 'With request_id, a retry returns the case the first request opened (200, replayed: true).',
    body: OpenCaseBody, response: CaseOut, status: 201,
  }, async (req, res) => {
    const { request_id, ...body } = OpenCaseBody.parse(req.body ?? {});
    const out = await openCase(ctx.db, region, principal(req), body, villageScope(req), request_id);
    res.status('replayed' in out && out.replayed ? 200 : 201).json(out);
  });

  route(r, {
    method: 'get', path: '/api/cases', tags: ['cases'], roles: ALL,
    summary: 'The case ledger (台账); overdue=1: open cases with a step past its deadline', summary_zh: '案件台账',
    query: CaseListQuery, response: CaseListOut,
  }, async (req, res) => {
    const qy = CaseListQuery.parse(req.query);
    const asOf = qy.as_of ?? today();
    const out = await listCases(ctx.db, {
      regionCode: region,
      scope: villageScope(req),
      status: qy.status,
      kind: qy.kind,
      village: qy.village,
      year: qy.year,
      overdue: qy.overdue === '1' || qy.overdue === 'true',
      asOf,
      q: qy.q,
      limit: qy.limit,
      offset: qy.offset,
    });
    res.json({ total: out.total, as_of: asOf, limit: qy.limit, offset: qy.offset, items: out.items });
  });

  // before /api/cases/:id
  const YearQuery = z.object({ year: z.coerce.number().int().min(2000).max(2099).optional() });
  route(r, {
    method: 'get', path: '/api/cases/stats', tags: ['cases'], roles: ALL,
    summary: 'Demolished m² against the year’s target, cases closed per week (the dashboard)', summary_zh: '拆除面积与目标、每周结案数',
    query: YearQuery,
    response: z.object({
      year: z.number().int(), demolished_m2: z.number(), closed: z.number().int(), target_m2: z.number().nullable(),
      share: z.number().nullable(), weeks: z.array(z.object({ week_start: z.string(), closed: z.number().int(), demolished_m2: z.number() })),
    }),
  }, async (req, res) => {
    const qy = YearQuery.parse(req.query);
    res.json(await caseStats(ctx.db, region, qy.year ?? Number(today().slice(0, 4)), villageScope(req)));
  });
  route(r, {
    method: 'get', path: '/api/cases/:id', tags: ['cases'], roles: ALL,
    summary: 'One case with its steps, deadlines and polygons', summary_zh: '案件详情',
    params: Id, query: CaseDetailQuery, response: CaseOut,
  }, async (req, res) => {
    const id = idOf(req, 'case');
    const qy = CaseDetailQuery.parse(req.query);
    res.json(await getCase(ctx.db, region, id, villageScope(req), qy.as_of ?? today()));
  });

  route(r, {
    method: 'patch', path: '/api/cases/:id', tags: ['cases'], roles: OFFICERS,
    summary: 'Correct an open case (party, address, village, kind, discovery date, note)', summary_zh: '修改案件',
    params: Id, body: CaseUpdateBody, response: CaseOut,
  }, async (req, res) => {
    const id = idOf(req, 'case');
    const body = CaseUpdateBody.parse(req.body ?? {});
    res.json(await updateCase(ctx.db, region, principal(req), id, body, villageScope(req)));
  });

  route(r, {
    method: 'post', path: '/api/cases/:id/steps', tags: ['cases'], roles: OFFICERS,
    summary: 'Record a step of the procedure; working-day deadlines are computed', summary_zh: '记录处置步骤',
    description:
      'utility_notice: deadline = started_on (notice date) + 3 working days; report_to_town: discovery + 1 working day; ' +
      'self_removal_deadline: the deadline the officer gave. Working days follow the Chinese calendar (调休).',
    params: Id, body: StepBody, response: CaseOut,
  }, async (req, res) => {
    const id = idOf(req, 'case');
    const body = StepBody.parse(req.body ?? {});
    res.json(await recordStep(ctx.db, region, principal(req), id, body, villageScope(req)));
  });

  route(r, {
    method: 'post', path: '/api/cases/:id/close', tags: ['cases'], roles: OFFICERS,
    summary: 'Close a case with its outcome (demolished with m², or regularised)', summary_zh: '结案（拆除面积或完善手续）',
    params: Id, body: CloseBody, response: CaseOut,
  }, async (req, res) => {
    const id = idOf(req, 'case');
    const body = CloseBody.parse(req.body ?? {});
    res.json(await closeCase(ctx.db, region, principal(req), id, body, villageScope(req)));
  });

  const TargetBody = z.object({ year: z.number().int().min(2000).max(2099), target_m2: z.number().positive().max(1e9) }).strict();
  route(r, {
    method: 'put', path: '/api/admin/demolition-target', tags: ['admin'], roles: ['admin'],
    summary: 'Set the demolition target (m²) of a campaign year', summary_zh: '设置年度拆除面积目标',
    body: TargetBody, response: z.object({ year: z.number().int(), target_m2: z.number() }),
  }, async (req, res) => {
    const b = TargetBody.parse(req.body ?? {});
    await setDemolitionTarget(ctx.db, region, b.year, b.target_m2, principal(req).username);
    res.json(b);
  });
  route(r, {
    method: 'get', path: '/api/cases/:id/history', tags: ['cases'], roles: ALL,
    summary: 'What the case left in its polygons’ histories, one entry per action', summary_zh: '案件处理记录',
    params: Id, response: z.object({ items: z.array(z.record(z.string(), z.unknown())) }),
  }, async (req, res) => {
    res.json({ items: await caseHistory(ctx.db, region, idOf(req, 'case'), villageScope(req)) });
  });
  route(r, {
    method: 'get', path: '/api/cases/:id/photos', tags: ['cases'], roles: ALL,
    summary: 'Photos of the case’s polygons (for a step’s photos)', summary_zh: '案件图斑照片',
    params: Id, response: z.object({ items: z.array(z.record(z.string(), z.unknown())) }),
  }, async (req, res) => {
    res.json({ items: await casePhotos(ctx.db, region, idOf(req, 'case'), villageScope(req)) });
  });

  const WeightRowOut = z.object({
    key: z.enum(WEIGHT_KEYS), weight: z.number(), sort: z.number().int(), label_zh: z.string(), label_en: z.string(),
    updated_at: z.iso.datetime(), updated_by_name: z.string().nullable(),
  });
  route(r, {
    method: 'get', path: '/api/admin/priority-weights', tags: ['admin'], roles: ALL,
    summary: 'The priority weights (the plan’s 整治重点 in order), used by reconciliation', summary_zh: '优先级权重',
    response: z.object({ items: z.array(WeightRowOut) }),
  }, async (_req, res) => {
    res.json({ items: await weightRows(ctx.db) });
  });
  route(r, {
    method: 'put', path: '/api/admin/priority-weights', tags: ['admin'], roles: ['admin'],
    summary: 'Change priority weights; every polygon is scored again in the same transaction', summary_zh: '修改优先级权重（全部图斑重新计分）',
    body: WeightsBody, response: z.object({ items: z.array(WeightRowOut), polygons: z.number().int(), seconds: z.number() }),
  }, async (req, res) => {
    const body = WeightsBody.parse(req.body ?? {});
    // re-scoring rewrites survey_polygon.priority: reconciliation work, done as the owner where there are two roles (README "Database roles")
    const out = await setWeights(ctx.importDb ?? ctx.db, {
      regionCode: region, schoolDistanceM: ctx.config.schoolDistanceM, by: principal(req).username, body,
    });
    res.json({ items: out.weights, polygons: out.polygons, seconds: out.seconds });
  });

  const labelled = z.object({ zh: z.string(), en: z.string() });
  const Vocabulary = z.object({
    statuses: z.array(z.object({ code: z.enum(STATUSES), label: labelled })),
    actions: z.array(z.object({ code: z.string(), label: labelled, from: z.array(z.string()), to: z.string(), roles: z.array(z.string()) })),
    dismiss_reasons: z.array(z.object({ code: z.enum(DISMISS_REASONS), label: labelled, note_required: z.boolean() })),
    case_steps: z.array(z.object({ code: z.enum(CASE_STEPS), label: labelled })),
    calendar: z.object({ first_year: z.number().int(), last_year: z.number().int(), today: z.string() }),
  });
  route(r, {
    method: 'get', path: '/api/review/vocabulary', tags: ['review'], roles: ALL,
    summary: 'Statuses, actions (who may take them, from where), dismiss reasons and case steps with labels',
    summary_zh: '处理状态、操作、排除原因、案件步骤及其中英文名称',
    response: Vocabulary,
  }, (_req, res) => {
    res.json({
      statuses: STATUSES.map((code) => ({ code, label: STATUS_LABELS[code] })),
      actions: Object.entries(RULES).map(([code, rule]) => ({
        code, label: ACTION_LABELS[code as keyof typeof RULES], from: [...rule.from], to: rule.to, roles: [...rule.roles],
      })),
      dismiss_reasons: DISMISS_REASONS.map((code) => ({ code, label: DISMISS_REASON_LABELS[code], note_required: code === 'other' })),
      case_steps: CASE_STEPS.map((code) => ({ code, label: CASE_STEP_LABELS[code] })),
      calendar: { first_year: CALENDAR_YEARS.first, last_year: CALENDAR_YEARS.last, today: today() },
    });
  });

  return r;
}
