/**
 * Proof per outcome (issue 13 item 18): each dismissal reason and each case outcome declares the evidence it
 * needs (proof_requirement, migration 015, kept by an admin). A decision asks for it: an enforced requirement
 * refuses a dismissal or a closing without its proof (422 proof_missing, both languages); one not enforced
 * lets it through, and it is counted as lacking its proof (lackingProof: the QC screen and the dashboard).
 */
import { z } from 'zod';
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';
import { DISMISS_REASON_LABELS, DISMISS_REASONS } from './transitions';
import { CASE_OUTCOME_LABELS, CASE_OUTCOMES, type DecisionProof } from './schemas';

const SQL = sqlSet(new URL('./proof.sql', import.meta.url), [
  'requirements', 'requirements_of', 'delete_all', 'insert_one', 'photo_dates', 'case_photo_dates', 'lacking',
] as const);

export const PROOF_SUBJECTS = ['dismiss', 'case'] as const;
export type ProofSubject = (typeof PROOF_SUBJECTS)[number];
export const PROOF_KINDS = ['permit_ref', 'photo_after', 'field_photo'] as const;
export type ProofKind = (typeof PROOF_KINDS)[number];

export const PROOF_LABELS: Record<ProofKind, { zh: string; en: string }> = {
  permit_ref: { zh: '批准文号（规划许可证号等）', en: 'Permit reference' },
  photo_after: { zh: '拆除日期之后拍摄的照片', en: 'A photo taken after the demolition date' },
  field_photo: { zh: '现场照片', en: 'A field photo' },
};


const outcomesOf = (s: ProofSubject): readonly string[] => (s === 'dismiss' ? DISMISS_REASONS : CASE_OUTCOMES);
export const outcomeLabel = (s: ProofSubject, o: string) =>
  (s === 'dismiss' ? (DISMISS_REASON_LABELS as Record<string, { zh: string; en: string }>) : CASE_OUTCOME_LABELS as Record<string, { zh: string; en: string }>)[o]
  ?? { zh: o, en: o };

export const RequirementRow = z.object({
  subject: z.enum(PROOF_SUBJECTS),
  outcome: z.string().max(40),
  proof: z.enum(PROOF_KINDS),
  enforced: z.boolean(),
}).strict().refine((r) => outcomesOf(r.subject).includes(r.outcome), { message: 'no such outcome for this subject', path: ['outcome'] });
export const RequirementsBody = z.object({ items: z.array(RequirementRow).max(100) }).strict()
  .refine((b) => new Set(b.items.map((r) => `${r.subject}/${r.outcome}/${r.proof}`)).size === b.items.length,
    { message: 'a requirement appears twice', path: ['items'] });

interface Req { proof: ProofKind; enforced: boolean }

export async function listRequirements(q: Queryable) {
  const rows = (await q.query<{ subject: ProofSubject; outcome: string; proof: ProofKind; enforced: boolean; updated_at: Date; updated_by_name: string | null }>(
    SQL.requirements,
  )).rows;
  return rows.map((r) => ({
    ...r, updated_at: new Date(r.updated_at).toISOString(), outcome_label: outcomeLabel(r.subject, r.outcome), proof_label: PROOF_LABELS[r.proof],
  }));
}

/** PUT /api/admin/proof-requirements: the whole set is replaced in one transaction. */
export async function replaceRequirements(q: Queryable, items: z.infer<typeof RequirementRow>[], by: string) {
  await q.query(SQL.delete_all);
  for (const r of items) await q.query(SQL.insert_one, [r.subject, r.outcome, r.proof, r.enforced, by]);
}

const requirementsOf = async (q: Queryable, s: ProofSubject, outcome: string) =>
  (await q.query<Req>(SQL.requirements_of, [s, outcome])).rows;

interface Missing { proof: ProofKind; polygon_ids?: number[] }

function refusal(s: ProofSubject, outcome: string, missing: Missing[]): AppError {
  const label = outcomeLabel(s, outcome);
  const en = missing.map((m) => PROOF_LABELS[m.proof].en.toLowerCase()).join('; ');
  const zh = missing.map((m) => PROOF_LABELS[m.proof].zh).join('；');
  const what = s === 'dismiss' ? { en: 'Dismissing as', zh: '以' } : { en: 'Closing as', zh: '以' };
  return new AppError(
    'proof_missing',
    `${what.en} “${label.en}” needs its proof: ${en}`,
    `${what.zh}“${label.zh}”${s === 'dismiss' ? '排除' : '结案'}须提供证明材料：${zh}`,
    422,
    { subject: s, outcome, missing },
  );
}

/**
 * A dismissal of these polygons with this reason and proof: refused (proof_missing) when an enforced
 * requirement is not met. Returns the requirements not met that are not enforced (the decision goes
 * through, lacking them), for the event's payload.
 */
export async function checkDismissProof(q: Queryable, regionCode: string, reason: string, ids: number[], proof: DecisionProof | undefined) {
  const reqs = await requirementsOf(q, 'dismiss', reason);
  if (!reqs.length) return [];
  const needPhotos = reqs.some((r) => r.proof !== 'permit_ref');
  const photos = needPhotos
    ? new Map((await q.query<{ polygon_id: number; photos: number; latest_photo_on: string | null }>(SQL.photo_dates, [regionCode, ids])).rows
      .map((r) => [Number(r.polygon_id), r]))
    : new Map();
  const missing: (Missing & { enforced: boolean })[] = [];
  for (const r of reqs) {
    let without: number[] = [];
    if (r.proof === 'permit_ref') {
      if (!proof?.permit_ref?.trim()) without = ids;
    } else if (r.proof === 'field_photo') {
      without = ids.filter((id) => !photos.get(id)?.photos);
    } else {
      const on = proof?.demolished_on;
      without = ids.filter((id) => !on || !photos.get(id)?.latest_photo_on || photos.get(id)!.latest_photo_on! < on);
    }
    if (without.length) missing.push({ proof: r.proof, polygon_ids: without, enforced: r.enforced });
  }
  const refused = missing.filter((m) => m.enforced);
  if (refused.length) throw refusal('dismiss', reason, refused.map(({ enforced: _e, ...m }) => m));
  return missing.map((m) => m.proof);
}

/** The same for closing a case with an outcome (permit reference = outcome_ref, demolition date = outcome_at). */
export async function checkCaseProof(q: Queryable, regionCode: string, caseId: number, outcome: string, b: { outcome_ref?: string; outcome_at: string }) {
  const reqs = await requirementsOf(q, 'case', outcome);
  if (!reqs.length) return [];
  const ph = (await q.query<{ photos: number; latest_photo_on: string | null }>(SQL.case_photo_dates, [regionCode, caseId])).rows[0];
  const missing: (Missing & { enforced: boolean })[] = [];
  for (const r of reqs) {
    const ok = r.proof === 'permit_ref'
      ? !!b.outcome_ref?.trim()
      : r.proof === 'field_photo'
        ? ph.photos > 0
        : !!ph.latest_photo_on && ph.latest_photo_on >= b.outcome_at;
    if (!ok) missing.push({ proof: r.proof, enforced: r.enforced });
  }
  const refused = missing.filter((m) => m.enforced);
  if (refused.length) throw refusal('case', outcome, refused.map(({ proof }) => ({ proof })));
  return missing.map((m) => m.proof);
}

/**
 * How many current outcomes lack their proof (GET /api/proof/lacking): per requirement, and the outcomes
 * (dismissed polygons, closed cases) lacking at least one. Up to 200 ids of each kind, for a list.
 */
export async function lackingProof(q: Queryable, regionCode: string, scope: string[] | undefined) {
  const rows = (await q.query<{ subject: ProofSubject; outcome: string; proof: ProofKind; outcomes: number; lacking: number; lacking_ids: (number | string)[] }>(
    SQL.lacking, [regionCode, scope ?? null],
  )).rows;
  const ids = { dismiss: new Set<number>(), case: new Set<number>() };
  for (const r of rows) for (const id of r.lacking_ids) ids[r.subject].add(Number(id));
  const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
  return {
    lacking: ids.dismiss.size + ids.case.size,
    polygons: { lacking: ids.dismiss.size, ids: sorted(ids.dismiss).slice(0, 200) },
    cases: { lacking: ids.case.size, ids: sorted(ids.case).slice(0, 200) },
    by_requirement: rows.map(({ lacking_ids: _ids, ...r }) => ({
      ...r, outcome_label: outcomeLabel(r.subject, r.outcome), proof_label: PROOF_LABELS[r.proof],
    })),
  };
}
