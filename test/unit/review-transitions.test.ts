import { describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../../server/auth/guard';
import {
  checkDecision, decide, DECISION_ACTIONS, DISMISS_REASON_LABELS, DISMISS_REASONS, replay, ReplayError, STATUSES,
  transition, type DecisionAction, type DecisionInput, type Status,
} from '../../server/review/transitions';

// The rules of DESIGN §5 written out independently of RULES: [action, from-statuses, to, roles].
const EXPECTED: [DecisionAction, Status[], Status, Role[]][] = [
  ['verify', ['pending', 'field_check'], 'verified', ['analyst', 'admin']],
  ['link', ['pending', 'field_check'], 'linked', ['analyst', 'admin']],
  ['dismiss', ['pending', 'field_check'], 'dismissed', ['analyst', 'admin']],
  ['request_field_check', ['pending'], 'field_check', ['analyst', 'admin']],
  ['return', ['verified', 'linked', 'dismissed'], 'pending', ['reviewer', 'admin']],
  ['reopen', ['verified', 'linked', 'dismissed', 'field_check'], 'pending', ['analyst', 'admin']],
];

/** a well-formed input for each action */
const input = (action: DecisionAction): DecisionInput => ({
  action,
  reason: action === 'dismiss' ? 'false_change' : undefined,
  note: action === 'return' || action === 'reopen' ? '理由' : undefined,
  hasCase: action === 'link',
});

describe('review state machine', () => {
  const cases = EXPECTED.flatMap(([action, from, to, roles]) =>
    ROLES.flatMap((role) => STATUSES.map((status) => ({ action, status, role, to, allowedStatus: from.includes(status), allowedRole: roles.includes(role) }))),
  );

  it('covers every role × status × action', () => {
    expect(cases).toHaveLength(ROLES.length * STATUSES.length * DECISION_ACTIONS.length);
  });

  it.each(cases)('$role: $action from $status', ({ action, status, role, to, allowedStatus, allowedRole }) => {
    const r = decide(role, status, input(action));
    if (!allowedRole) {
      expect(r).toMatchObject({ ok: false, refusal: { code: 'forbidden', status: 403 } });
    } else if (!allowedStatus) {
      expect(r).toMatchObject({ ok: false, refusal: { code: 'invalid_transition', status: 409 } });
      expect(transition(status, action)).toBeNull();
    } else {
      expect(r).toEqual({ ok: true, to });
      expect(transition(status, action)).toBe(to);
    }
  });

  it('field teams decide nothing here', () => {
    for (const a of DECISION_ACTIONS) expect(checkDecision('field', input(a))?.status).toBe(403);
  });

  it.each([
    ['dismiss without a reason', { action: 'dismiss' }, 'reason'],
    ['dismiss with an unknown reason', { action: 'dismiss', reason: 'bribe' }, 'reason'],
    ['dismiss "other" without a note', { action: 'dismiss', reason: 'other' }, 'note'],
    ['dismiss "other" with a blank note', { action: 'dismiss', reason: 'other', note: '  ' }, 'note'],
    ['verify with a reason', { action: 'verify', reason: 'false_change' }, 'reason'],
    ['return without a comment', { action: 'return' }, 'note'],
    ['reopen without a note', { action: 'reopen', note: '' }, 'note'],
    ['link without a case', { action: 'link' }, 'case_id'],
    ['verify with a case', { action: 'verify', hasCase: true }, 'case_id'],
  ] as [string, DecisionInput, string][])('refuses %s', (_name, d, path) => {
    const r = checkDecision('admin', d);
    expect(r).toMatchObject({ code: 'invalid_input', status: 400, details: [{ path }] });
    expect(r!.message_zh).toBeTruthy();
  });

  it('accepts every reason code; other with a note', () => {
    for (const reason of DISMISS_REASONS) {
      expect(checkDecision('analyst', { action: 'dismiss', reason, note: reason === 'other' ? '村道硬化' : undefined })).toBeNull();
    }
  });

  it('labels the dismiss reasons in Chinese', () => {
    expect(Object.fromEntries(DISMISS_REASONS.map((r) => [r, DISMISS_REASON_LABELS[r].zh]))).toEqual({
      legal_permitted: '合法/已批准',
      false_change: '误判变化',
      agricultural_facility: '农业设施',
      temporary_use: '临时用地',
      already_removed: '已拆除',
      other: '其他',
    });
  });
});

describe('replay', () => {
  const ev = (seq: number, action: string, from_status: string, to_status: string) => ({ seq, action, from_status, to_status });

  it('starts pending', () => {
    expect(replay([])).toBe('pending');
  });

  it('follows a history (in any order of arrival)', () => {
    const h = [
      ev(1, 'request_field_check', 'pending', 'field_check'),
      ev(2, 'link', 'field_check', 'linked'),
      ev(3, 'case_step', 'linked', 'linked'),
      ev(4, 'return', 'linked', 'pending'),
      ev(5, 'dismiss', 'pending', 'dismissed'),
      ev(6, 'reopen', 'dismissed', 'pending'),
      ev(7, 'verify', 'pending', 'verified'),
    ];
    expect(replay(h)).toBe('verified');
    expect(replay([...h].reverse())).toBe('verified');
  });

  it.each([
    ['a gap in seq', [ev(1, 'verify', 'pending', 'verified'), ev(3, 'reopen', 'verified', 'pending')]],
    ['a from_status that is not the replayed one', [ev(1, 'verify', 'field_check', 'verified')]],
    ['a transition the machine refuses', [ev(1, 'return', 'pending', 'pending')]],
    ['a recorded to_status the machine disagrees with', [ev(1, 'verify', 'pending', 'dismissed')]],
    ['a case event that changes the status', [ev(1, 'case_closed', 'pending', 'verified')]],
    ['an unknown action', [ev(1, 'approve', 'pending', 'verified')]],
  ])('refuses %s', (_n, h) => {
    expect(() => replay(h)).toThrow(ReplayError);
  });
});
