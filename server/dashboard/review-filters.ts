/**
 * The review filters: query parameters beyond GET /api/polygons's own that the dashboard's figures need to
 * be clicked through (dismissal reason, who decided, first-outcome time, first-import time, photo
 * evidence). Their SQL is in filters.sql and reads the same views as coverage.sql.
 *
 * This module imports nothing of polygons/ or routes/, so polygons/repo.ts can use it without a cycle:
 * GET /api/polygons takes these filters with two lines — `PolygonListQuery.extend(ReviewFilterQuery.shape)`
 * in routes/polygons.ts and `where.push(...reviewWhere(f.review, params))` at the end of polygonWhere.
 */
import { z } from 'zod';
import { isoInstant } from '../http/schemas';
import { sqlSet } from '../db/sql-file';
import { DISMISS_REASONS } from '../review/transitions';

const FRAGMENTS = sqlSet(new URL('./filters.sql', import.meta.url), [
  'reason', 'decided_by', 'first_outcome_from', 'first_outcome_to', 'first_outcome_none', 'imported_from',
  'imported_to', 'evidence_yes', 'evidence_no', 'field_result_yes', 'field_result_no',
] as const);

const csv = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
const instant = isoInstant().describe('ISO 8601 instant, e.g. 2021-07-26T00:00:00+08:00');

/** Query parameters beyond GET /api/polygons's own. */
export const ReviewFilterQuery = z.object({
  reason: csv.pipe(z.array(z.enum([...DISMISS_REASONS, '-']))).optional()
    .describe('dismissed polygons with this dismissal reason (comma-separated; - = none recorded)'),
  decided_by: csv.pipe(z.array(z.string().max(40))).optional()
    .describe('polygons with an outcome decided by these users (username of the last outcome event; - = none)'),
  first_outcome_from: instant.optional().describe('first reached an outcome at or after'),
  first_outcome_to: instant.optional().describe('first reached an outcome before'),
  first_outcome: z.enum(['none']).optional().describe('none: never reached an outcome through a decision'),
  imported_from: instant.optional().describe('first imported at or after'),
  imported_to: instant.optional().describe('first imported before'),
  evidence: z.enum(['0', '1']).optional().describe('1: with photo evidence, 0: without'),
  field_result: z.enum(['0', '1']).optional().describe('1: a field finding came back, 0: none yet'),
});
export type ReviewFilterQuery = z.infer<typeof ReviewFilterQuery>;

/** One fragment of filters.sql with its `$1`/`$2` renumbered to the positions of `values` in `params`. */
function fragment(name: keyof typeof FRAGMENTS, params: unknown[], ...values: unknown[]): string {
  const first = params.length;
  params.push(...values);
  const body = FRAGMENTS[name]
    .split('\n')
    .filter((l) => !/^\s*--/.test(l))
    .join('\n')
    .replace(/\$(\d+)\b/g, (_m, n: string) => `$${first + Number(n)}`);
  return `(${body})`;
}

/**
 * WHERE clauses of the review filters, appended to `params` (which already holds the caller's values).
 * In polygonWhere: `where.push(...reviewWhere(f.review, params))` after its own clauses.
 */
export function reviewWhere(r: ReviewFilterQuery, params: unknown[]): string[] {
  const out: string[] = [];
  if (r.reason?.length) out.push(fragment('reason', params, r.reason));
  if (r.decided_by?.length) out.push(fragment('decided_by', params, r.decided_by));
  if (r.first_outcome_from) out.push(fragment('first_outcome_from', params, r.first_outcome_from));
  if (r.first_outcome_to) out.push(fragment('first_outcome_to', params, r.first_outcome_to));
  if (r.first_outcome === 'none') out.push(fragment('first_outcome_none', params));
  if (r.imported_from) out.push(fragment('imported_from', params, r.imported_from));
  if (r.imported_to) out.push(fragment('imported_to', params, r.imported_to));
  if (r.evidence === '1') out.push(fragment('evidence_yes', params));
  if (r.evidence === '0') out.push(fragment('evidence_no', params));
  if (r.field_result === '1') out.push(fragment('field_result_yes', params));
  if (r.field_result === '0') out.push(fragment('field_result_no', params));
  return out;
}
