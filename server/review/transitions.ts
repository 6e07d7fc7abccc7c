/**
 * The life of a polygon (DESIGN §5) as a pure state machine: no I/O, no clock. The database code asks
 * it which statuses an action may start from and what it leads to; replay() rebuilds a polygon's status
 * from its events with the same rules.
 *
 *   pending ──request_field_check──▶ field_check
 *   pending | field_check ──verify──▶ verified
 *   pending | field_check ──link────▶ linked      (to a case)
 *   pending | field_check ──dismiss─▶ dismissed   (reason code)
 *   verified | linked | dismissed ──return (reviewer, comment) | reopen (analyst, note)──▶ pending
 *   field_check ──reopen (analyst, note)──▶ pending   (a field check requested by mistake is withdrawn)
 */
import type { Role } from '../auth/guard';

export const STATUSES = ['pending', 'field_check', 'verified', 'linked', 'dismissed'] as const;
export type Status = (typeof STATUSES)[number];

export const DECISION_ACTIONS = ['verify', 'link', 'dismiss', 'request_field_check', 'return', 'reopen'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

/** Events that record what happened to a polygon's case; they never change its status. */
export const CASE_EVENT_ACTIONS = ['case_step', 'case_updated', 'case_closed'] as const;
export type CaseEventAction = (typeof CASE_EVENT_ACTIONS)[number];
/** Events that record what was found on site (server/field/): they never change the status either. */
export const FIELD_EVENT_ACTIONS = ['field_finding', 'evidence_added'] as const;
export type FieldEventAction = (typeof FIELD_EVENT_ACTIONS)[number];
export type EventAction = DecisionAction | CaseEventAction | FieldEventAction;

export const OUTCOMES: readonly Status[] = ['verified', 'linked', 'dismissed'];

export const DISMISS_REASONS = [
  'legal_permitted',
  'false_change',
  'agricultural_facility',
  'temporary_use',
  'already_removed',
  'other',
] as const;
export type DismissReason = (typeof DISMISS_REASONS)[number];

export const DISMISS_REASON_LABELS: Record<DismissReason, { zh: string; en: string }> = {
  legal_permitted: { zh: '合法/已批准', en: 'Legal / permitted' },
  false_change: { zh: '误判变化', en: 'False change' },
  agricultural_facility: { zh: '农业设施', en: 'Agricultural facility' },
  temporary_use: { zh: '临时用地', en: 'Temporary use' },
  already_removed: { zh: '已拆除', en: 'Already removed' },
  other: { zh: '其他', en: 'Other' },
};

export const STATUS_LABELS: Record<Status, { zh: string; en: string }> = {
  pending: { zh: '待核查', en: 'Pending' },
  field_check: { zh: '待实地核查', en: 'Field check requested' },
  verified: { zh: '已核实', en: 'Verified' },
  linked: { zh: '已立案', en: 'Linked to a case' },
  dismissed: { zh: '已排除', en: 'Dismissed' },
};

export const ACTION_LABELS: Record<EventAction, { zh: string; en: string }> = {
  verify: { zh: '核实', en: 'Verify' },
  link: { zh: '关联案件', en: 'Link to case' },
  dismiss: { zh: '排除', en: 'Dismiss' },
  request_field_check: { zh: '申请实地核查', en: 'Request field check' },
  return: { zh: '退回', en: 'Return' },
  reopen: { zh: '重新打开', en: 'Reopen' },
  case_step: { zh: '案件步骤', en: 'Case step' },
  case_updated: { zh: '案件修改', en: 'Case updated' },
  case_closed: { zh: '案件结案', en: 'Case closed' },
  field_finding: { zh: '实地核查结果', en: 'Field finding' },
  evidence_added: { zh: '上传现场照片', en: 'Photo added' },
};

interface Rule {
  from: readonly Status[];
  to: Status;
  roles: readonly Role[];
}

/** The whole machine. Field teams submit findings elsewhere; analysts decide; reviewers return. */
export const RULES: Record<DecisionAction, Rule> = {
  verify: { from: ['pending', 'field_check'], to: 'verified', roles: ['analyst', 'admin'] },
  link: { from: ['pending', 'field_check'], to: 'linked', roles: ['analyst', 'admin'] },
  dismiss: { from: ['pending', 'field_check'], to: 'dismissed', roles: ['analyst', 'admin'] },
  request_field_check: { from: ['pending'], to: 'field_check', roles: ['analyst', 'admin'] },
  return: { from: OUTCOMES, to: 'pending', roles: ['reviewer', 'admin'] },
  reopen: { from: [...OUTCOMES, 'field_check'], to: 'pending', roles: ['analyst', 'admin'] },
};

/** Next status, or null when the action may not start from `from`. */
export function transition(from: Status, action: DecisionAction): Status | null {
  const r = RULES[action];
  return r.from.includes(from) ? r.to : null;
}

export const allowedFrom = (action: DecisionAction): readonly Status[] => RULES[action].from;
export const mayAct = (role: Role, action: DecisionAction): boolean => RULES[action].roles.includes(role);

/** What a decision carries besides its action. */
export interface DecisionInput {
  action: DecisionAction;
  reason?: string | null;
  note?: string | null;
  /** an existing case or a new one is named */
  hasCase?: boolean;
}

/** A refusal in both languages; the HTTP layer turns it into an AppError. */
export interface Refusal {
  code: string;
  status: number;
  message: string;
  message_zh: string;
  details?: unknown;
}

const blank = (s: string | null | undefined) => !s || !s.trim();

/**
 * Checks that depend only on who asks and what they send (not on the polygon): role, reason codes,
 * required comments, case for `link`. Returns null when acceptable.
 */
export function checkDecision(role: Role, d: DecisionInput): Refusal | null {
  if (!mayAct(role, d.action)) {
    return {
      code: 'forbidden',
      status: 403,
      message: `Your role (${role}) may not ${d.action}`,
      message_zh: `您的角色（${role}）无权执行“${ACTION_LABELS[d.action].zh}”`,
    };
  }
  const bad = (message: string, message_zh: string, field: string): Refusal => ({
    code: 'invalid_input',
    status: 400,
    message,
    message_zh,
    details: [{ path: field, message }],
  });
  if (d.action === 'dismiss') {
    if (!d.reason || !(DISMISS_REASONS as readonly string[]).includes(d.reason)) {
      return bad(`Dismiss needs a reason: ${DISMISS_REASONS.join(', ')}`, `排除须选择原因：${DISMISS_REASONS.map((r) => DISMISS_REASON_LABELS[r].zh).join('、')}`, 'reason');
    }
    if (d.reason === 'other' && blank(d.note)) return bad("Reason 'other' needs a note", '原因为“其他”时须填写说明', 'note');
  } else if (d.reason != null) {
    return bad(`Only dismiss takes a reason`, '只有“排除”需要原因', 'reason');
  }
  if (d.action === 'return' && blank(d.note)) return bad('Returning needs a comment', '退回须填写意见', 'note');
  if (d.action === 'reopen' && blank(d.note)) return bad('Reopening needs a note', '重新打开须填写说明', 'note');
  if (d.action === 'link' && !d.hasCase) return bad('Link needs case_id or new_case', '关联案件须指定 case_id 或 new_case', 'case_id');
  if (d.action !== 'link' && d.hasCase) return bad('Only link takes a case', '只有“关联案件”可以指定案件', 'case_id');
  return null;
}

/** Full decision on a polygon in a known status: the input checks, then the transition. */
export function decide(role: Role, from: Status, d: DecisionInput): { ok: true; to: Status } | { ok: false; refusal: Refusal } {
  const r = checkDecision(role, d);
  if (r) return { ok: false, refusal: r };
  const to = transition(from, d.action);
  if (!to) return { ok: false, refusal: invalidTransition(from, d.action) };
  return { ok: true, to };
}

export function invalidTransition(from: Status, action: DecisionAction, details?: Record<string, unknown>): Refusal {
  return {
    code: 'invalid_transition',
    status: 409,
    message: `Cannot ${action} a polygon that is ${from}`,
    message_zh: `图斑当前为“${STATUS_LABELS[from]?.zh ?? from}”，不能${ACTION_LABELS[action].zh}`,
    details: { status: from, action, allowed_from: RULES[action].from, ...details },
  };
}

// ---------------------------------------------------------------------------------------------------
// Replay
// ---------------------------------------------------------------------------------------------------

export interface ReplayEvent {
  seq: number;
  action: string;
  from_status: string;
  to_status: string;
}

export class ReplayError extends Error {
  constructor(message: string, readonly event: ReplayEvent) {
    super(message);
    this.name = 'ReplayError';
  }
}

const isDecision = (a: string): a is DecisionAction => (DECISION_ACTIONS as readonly string[]).includes(a);
const isCaseEvent = (a: string): a is CaseEventAction => (CASE_EVENT_ACTIONS as readonly string[]).includes(a);
const isFieldEvent = (a: string): a is FieldEventAction => (FIELD_EVENT_ACTIONS as readonly string[]).includes(a);

/**
 * The status a polygon must have after these events (any order; sorted by seq). Every polygon starts
 * `pending`. Throws ReplayError when the events are not a valid history: a gap in seq, an event whose
 * from_status is not the replayed status, a transition the machine refuses, a recorded to_status that
 * differs from the machine's.
 */
export function replay(events: readonly ReplayEvent[]): Status {
  let s: Status = 'pending';
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  sorted.forEach((e, i) => {
    if (e.seq !== i + 1) throw new ReplayError(`event seq ${e.seq} where ${i + 1} was expected`, e);
    if (e.from_status !== s) throw new ReplayError(`event ${e.seq} starts from ${e.from_status}, replay is at ${s}`, e);
    if (isDecision(e.action)) {
      const to = transition(s, e.action);
      if (!to) throw new ReplayError(`event ${e.seq}: ${e.action} is not allowed from ${s}`, e);
      if (to !== e.to_status) throw new ReplayError(`event ${e.seq}: ${e.action} leads to ${to}, recorded ${e.to_status}`, e);
      s = to;
    } else if (isCaseEvent(e.action) || isFieldEvent(e.action)) {
      if (e.to_status !== s) throw new ReplayError(`event ${e.seq}: ${e.action} may not change the status`, e);
    } else {
      throw new ReplayError(`event ${e.seq}: unknown action ${e.action}`, e);
    }
  });
  return s;
}
