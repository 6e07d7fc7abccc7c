/** Request schemas of the review workflow: validated at the edge, exported for the OpenAPI document. */
import { z } from 'zod';
import { int4Positive, int4PositiveParam } from '../http/schemas';
import { DECISION_ACTIONS, DISMISS_REASONS } from './transitions';

export const CASE_KINDS = ['under_construction', 'existing'] as const;
export const CASE_STATUSES = ['open', 'closed'] as const;
/** 已拆除 / 已完善手续 / 已没收 / 其他 */
export const CASE_OUTCOMES = ['demolished', 'regularised', 'confiscated', 'other'] as const;
export const CASE_OUTCOME_LABELS: Record<(typeof CASE_OUTCOMES)[number], { zh: string; en: string }> = {
  demolished: { zh: '已拆除', en: 'Demolished' },
  regularised: { zh: '已完善手续', en: 'Regularised (permit)' },
  confiscated: { zh: '已没收', en: 'Confiscated' },
  other: { zh: '其他', en: 'Other' },
};
/** utility_notice: the companies notified in writing (六(二)1: 停止供水、供电、供气等服务; 物业) */
export const UTILITY_COMPANIES = ['water', 'power', 'gas', 'property'] as const;
export const UTILITY_COMPANY_LABELS: Record<(typeof UTILITY_COMPANIES)[number], { zh: string; en: string }> = {
  water: { zh: '供水', en: 'Water' },
  power: { zh: '供电', en: 'Power' },
  gas: { zh: '供气', en: 'Gas' },
  property: { zh: '物业', en: 'Property management' },
};
export const CASE_STEPS = [
  'stop_order',
  'self_removal_deadline',
  'utility_notice',
  'report_to_town',
  'forced_measures_or_court',
  'outcome',
] as const;
export type CaseStep = (typeof CASE_STEPS)[number];
/** steps recorded with POST /api/cases/:id/steps (the outcome is recorded by closing the case) */
export const RECORDABLE_STEPS = CASE_STEPS.filter((s) => s !== 'outcome') as Exclude<CaseStep, 'outcome'>[];

export const CASE_STEP_LABELS: Record<CaseStep, { zh: string; en: string }> = {
  stop_order: { zh: '责令停止建设', en: 'Stop order' },
  self_removal_deadline: { zh: '限期自行拆除', en: 'Deadline for self-removal' },
  utility_notice: { zh: '书面通知停止供水、供电、供气、物业服务', en: 'Written notice to water/power/gas/property companies' },
  report_to_town: { zh: '报镇违法建设整治工作小组（附照片）', en: 'Report to the town group (with photos)' },
  forced_measures_or_court: { zh: '强制措施/申请法院强制执行', en: 'Forced measures / court' },
  outcome: { zh: '处理结果', en: 'Outcome' },
};

const isRealDate = (s: string) => {
  const [y, m, d] = s.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
};
export const DateString = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'date must be YYYY-MM-DD')
  .refine(isRealDate, 'no such date')
  .refine((s) => s >= '2000-01-01' && s <= '2099-12-31', 'date out of range');

const text = (max: number) => z.string().trim().min(1).max(max);
const note = z.string().max(2000);
const id = int4Positive();

export const NewCase = z
  .object({
    party: text(200).describe('当事人'),
    address: text(500),
    kind: z.enum(CASE_KINDS).describe('under_construction 在建 | existing 存量'),
    village: text(100).optional().describe('村（居）; defaults to the polygon’s village'),
    discovered_on: DateString.optional().describe('发现日期; defaults to today (Beijing); its year numbers the case'),
    note: note.optional(),
  })
  .strict();
export type NewCase = z.infer<typeof NewCase>;

/** POST /api/cases: a new case, with an optional request id that makes a retry safe. */
export const OpenCaseBody = NewCase.extend({
  request_id: z.uuid().optional().describe('client-generated; a retry with the same id returns the case the first request opened'),
}).strict();

/** What a dismissal carries as its proof (issue 13 item 18; review/proof.ts checks it); kept in the event's payload. */
export const DecisionProof = z
  .object({
    permit_ref: text(200).optional().describe('合法/已批准: the permit reference (规划许可证号 …)'),
    demolished_on: DateString.optional().describe('已拆除: the demolition date; a photo of the polygon taken on or after it is the proof'),
  })
  .strict();
export type DecisionProof = z.infer<typeof DecisionProof>;

const decisionFields = {
  action: z.enum(DECISION_ACTIONS),
  reason: z.enum(DISMISS_REASONS).optional().describe('dismiss only'),
  note: note.optional().describe('required for return, reopen and reason other'),
  case_id: id.optional().describe('link: an open case'),
  new_case: NewCase.optional().describe('link: open a new case in the same transaction'),
  request_id: z.uuid().describe('client-generated; a retry with the same id returns the first answer'),
  proof: DecisionProof.optional().describe('dismiss: the proof its reason needs (GET /api/proof-requirements)'),
};
const oneCase = (b: { case_id?: number; new_case?: unknown }) => !(b.case_id !== undefined && b.new_case !== undefined);
const oneCaseMsg = { message: 'give case_id or new_case, not both', path: ['case_id'] };

export const DecisionBody = z
  .object({ ...decisionFields, version: int4Positive().describe('the version the client saw') })
  .strict()
  .refine(oneCase, oneCaseMsg);
export type DecisionBody = z.infer<typeof DecisionBody>;

export const BulkItem = z.object({ id, version: int4Positive() }).strict();
export const BulkDecisionBody = z
  .object({ ...decisionFields, items: z.array(BulkItem).min(1).max(1000) })
  .strict()
  .refine(oneCase, oneCaseMsg)
  .refine((b) => new Set(b.items.map((i) => i.id)).size === b.items.length, { message: 'an id appears twice', path: ['items'] });
export type BulkDecisionBody = z.infer<typeof BulkDecisionBody>;

export const IdParam = int4PositiveParam();

const csv = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
export const CaseListQuery = z.object({
  status: z.enum(CASE_STATUSES).optional(),
  kind: z.enum(CASE_KINDS).optional().describe('under_construction 在建 | existing 存量'),
  village: csv.optional(),
  year: z.coerce.number().int().min(2000).max(2099).optional(),
  overdue: z.enum(['0', '1', 'true', 'false']).optional().describe('1: open cases with a step past its deadline, not done'),
  as_of: DateString.optional().describe('the day overdue is judged on; default today (Beijing)'),
  q: z.string().max(100).optional().describe('number, party or address contains'),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
});

export const CaseDetailQuery = z.object({ as_of: DateString.optional() });

export const CaseUpdateBody = z
  .object({
    party: text(200).optional(),
    address: text(500).optional(),
    village: text(100).nullable().optional(),
    kind: z.enum(CASE_KINDS).optional(),
    discovered_on: DateString.optional(),
    note: note.nullable().optional(),
    version: int4Positive().optional().describe('when given, refused unless the case is still at it'),
  })
  .strict()
  .refine((b) => Object.keys(b).some((k) => k !== 'version'), { message: 'nothing to change' });
export type CaseUpdateBody = z.infer<typeof CaseUpdateBody>;

export const StepBody = z
  .object({
    step: z.enum(RECORDABLE_STEPS as [Exclude<CaseStep, 'outcome'>, ...Exclude<CaseStep, 'outcome'>[]]),
    started_on: DateString.optional().describe('utility_notice: the day the written notice was sent'),
    deadline: DateString.optional().describe('self_removal_deadline: the date given by the officer'),
    done_on: DateString.optional(),
    note: note.optional(),
    companies: z.array(z.enum(UTILITY_COMPANIES)).min(1).max(4).optional()
      .describe('utility_notice: the companies notified (water, power, gas, property)'),
    photo_ids: z.array(id).max(50).optional()
      .describe('evidence ids (photos of the case’s polygons); report_to_town cannot be done without one (书面（附照片）)'),
  })
  .strict()
  .refine((b) => b.companies === undefined || b.step === 'utility_notice', { message: 'companies are for utility_notice', path: ['companies'] })
  .refine((b) => !b.companies || new Set(b.companies).size === b.companies.length, { message: 'a company appears twice', path: ['companies'] });
export type StepBody = z.infer<typeof StepBody>;

export const CloseBody = z
  .object({
    outcome: z.enum(CASE_OUTCOMES),
    outcome_at: DateString.optional().describe('default today (Beijing)'),
    outcome_m2: z.number().positive().max(1e7).optional().describe('demolished: area removed, m² (the district scores by it)'),
    outcome_ref: text(200).optional().describe('regularised: the permit reference (规划许可证号 …)'),
    note: note.optional().describe('other: what happened (required)'),
  })
  .strict()
  .refine((b) => b.outcome !== 'demolished' || b.outcome_m2 !== undefined, {
    message: 'demolished needs outcome_m2',
    path: ['outcome_m2'],
  })
  .refine((b) => b.outcome === 'demolished' || b.outcome_m2 === undefined, {
    message: 'outcome_m2 is for demolished',
    path: ['outcome_m2'],
  })
  .refine((b) => b.outcome !== 'regularised' || b.outcome_ref !== undefined, {
    message: 'regularised needs the permit reference (outcome_ref)',
    path: ['outcome_ref'],
  })
  .refine((b) => b.outcome === 'regularised' || b.outcome_ref === undefined, {
    message: 'outcome_ref is for regularised',
    path: ['outcome_ref'],
  })
  .refine((b) => b.outcome !== 'other' || (b.note !== undefined && b.note.trim() !== ''), {
    message: 'other needs a note',
    path: ['note'],
  });
export type CloseBody = z.infer<typeof CloseBody>;

// ---- responses (documentation: the OpenAPI document and the web client) ----

const Label = z.object({ zh: z.string(), en: z.string() });
const StatusEnum = z.enum(['pending', 'field_check', 'verified', 'linked', 'dismissed']);
const CaseRef = z.object({ id: z.number().int(), number: z.string().describe('吉安违建〔2021〕第12号'), created: z.boolean() });

export const EventOut = z.object({
  id: z.number().int(),
  seq: z.number().int().describe('1, 2, 3… per polygon'),
  at: z.iso.datetime(),
  user_id: z.number().int(),
  username: z.string(),
  action: z.string().describe('a decision action, or case_step | case_updated | case_closed'),
  from_status: StatusEnum,
  to_status: StatusEnum,
  reason: z.enum(DISMISS_REASONS).nullable(),
  note: z.string().nullable(),
  case_id: z.number().int().nullable().describe('link: the case; return/reopen: the case the polygon left'),
  case_number: z.string().nullable().optional(),
  request_id: z.uuid().nullable(),
  payload: z.record(z.string(), z.unknown()),
  action_label: Label.nullable(),
  reason_label: Label.nullable(),
  to_status_label: Label.nullable(),
});

export const DecisionOut = z.object({
  polygon: z.object({ id: z.number().int(), status: StatusEnum, version: z.number().int() }),
  event: EventOut,
  case: CaseRef.nullable(),
  replayed: z.boolean().describe('true: this request_id was decided before; this is the first answer'),
});

export const BulkDecisionOut = z.object({
  action: z.enum(DECISION_ACTIONS),
  count: z.number().int(),
  items: z.array(z.object({
    id: z.number().int(), from_status: StatusEnum, status: StatusEnum, version: z.number().int(),
    event_id: z.number().int(), seq: z.number().int(),
  })),
  case: CaseRef.nullable(),
  replayed: z.boolean(),
});

export const HistoryOut = z.object({
  polygon: z.object({
    id: z.number().int(), code: z.string(), status: StatusEnum, version: z.number().int(),
    village_name: z.string().nullable(), removed: z.boolean(),
  }),
  items: z.array(EventOut),
});

export const StepOut = z.object({
  step: z.enum(CASE_STEPS),
  label: Label,
  started_on: z.string().nullable(),
  deadline: z.string().nullable(),
  done_on: z.string().nullable(),
  note: z.string().nullable(),
  overdue: z.boolean(),
  deadline_estimated: z.boolean().describe('deadline beyond the published holiday calendar: statutory holidays estimated, 调休 unknown'),
  recorded_by: z.number().int().nullable(),
  recorded_by_name: z.string().nullable(),
  recorded_at: z.iso.datetime(),
  companies: z.array(z.enum(UTILITY_COMPANIES)),
  photo_ids: z.array(z.number().int()),
  workdays: z.number().int().nullable().describe('the deadline in working days the plan fixes (report_to_town 1, utility_notice 3)'),
});

const CaseFields = {
  id: z.number().int(),
  number: z.string(),
  year: z.number().int(),
  party: z.string(),
  address: z.string(),
  village: z.string().nullable(),
  kind: z.enum(CASE_KINDS),
  discovered_on: z.string(),
  status: z.enum(CASE_STATUSES),
  outcome: z.enum(CASE_OUTCOMES).nullable(),
  outcome_at: z.string().nullable(),
  outcome_m2: z.number().nullable(),
  outcome_ref: z.string().nullable(),
  outcome_note: z.string().nullable(),
  version: z.number().int(),
  created_by_name: z.string(),
  created_at: z.iso.datetime(),
  overdue: z.boolean(),
};

export const CaseOut = z.object({
  ...CaseFields,
  seq: z.number().int(),
  note: z.string().nullable(),
  created_by: z.number().int(),
  updated_at: z.iso.datetime(),
  steps: z.array(StepOut),
  polygons: z.array(z.object({
    id: z.number().int(), code: z.string(), survey: z.string(), status: StatusEnum, version: z.number().int(),
    village: z.string().nullable(), area_m2: z.number(), linked_at: z.iso.datetime(), linked_by_name: z.string(), is_open: z.boolean(),
    geometry: z.unknown().describe('GeoJSON (EPSG:4326), for the case map'),
  })).describe('only the polygons in the caller’s villages'),
  responsible: z.object({ village: z.string(), responsible: z.string(), title: z.string(), phone: z.string().nullable() }).nullable()
    .describe('who answers for the case\'s village (village register: 村（居）书记 or named person); null when not registered'),
});

export const CaseListOut = z.object({
  total: z.number().int(),
  as_of: z.string(),
  limit: z.number().int(),
  offset: z.number().int(),
  items: z.array(z.object({
    ...CaseFields,
    overdue_steps: z.array(z.enum(CASE_STEPS)),
    next_deadline: z.string().nullable(),
    next_step: z.enum(CASE_STEPS).nullable().describe('the step of next_deadline'),
    next_deadline_estimated: z.boolean().describe('next_deadline lies beyond the published holiday calendar'),
    polygon_count: z.number().int(),
  })),
});
