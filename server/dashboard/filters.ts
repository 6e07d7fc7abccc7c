/**
 * The polygon filter of the dashboard, the exports and the OGC items: GET /api/polygons's filters
 * (polygons/repo.ts polygonWhere: village scope, village, flags, status, batch, survey, bbox, q) plus the
 * review filters the dashboard's figures need to be clicked through (dismissal reason, who decided,
 * first-outcome time, first-import time, photo evidence). The review predicates live in filters.sql and
 * read the same views as coverage.sql.
 *
 * Every figure of GET /api/coverage carries a `filter`: query parameters (strings) that list exactly its
 * polygons from GET /api/polygons (once its query schema is extended with ReviewFilterQuery — see
 * `reviewWhere`) and from every export here.
 */
import type { Request } from 'express';
import { z } from 'zod';
import { villageScope } from '../auth/guard';
import { polygonWhere, type PolygonFilter } from '../polygons/repo';
import { PolygonListQuery } from '../routes/polygons';
import { reviewWhere, ReviewFilterQuery } from './review-filters';

export { reviewWhere, ReviewFilterQuery } from './review-filters';

const DAY = 86_400_000;

/**
 * An ISO 8601 week (2021-W43) as the dashboard's curve numbers them: Monday 00:00 to the next Monday 00:00,
 * Beijing time (coverage.sql's weeks). A week 53 only in a year that has one (its Thursday in that year).
 */
export function weekRange(week: string): { from: string; to: string } | null {
  const m = /^(\d{4})-W(\d{2})$/.exec(week);
  if (!m) return null;
  const year = Number(m[1]);
  const n = Number(m[2]);
  if (n < 1 || n > 53) return null;
  // the Monday of week 1 is the Monday on or before 4 January
  const jan4 = Date.UTC(year, 0, 4);
  const monday = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY + (n - 1) * 7 * DAY;
  if (new Date(monday + 3 * DAY).getUTCFullYear() !== year) return null;
  const beijing = (ms: number) => new Date(ms - 8 * 3600_000).toISOString();
  return { from: beijing(monday), to: beijing(monday + 7 * DAY) };
}
export const IsoWeek = z.string().trim()
  .refine((s) => weekRange(s) !== null, { message: 'an ISO week that exists, e.g. 2021-W43 (week 53 only in a year that has one)' })
  .describe('ISO week YYYY-Www (Monday 00:00 Beijing time): polygons that first reached an outcome that week');

/** GET /api/polygons's filters + the review filters, without paging/sorting/format. */
export const PolygonFilterQuery = PolygonListQuery.omit({ sort: true, limit: true, offset: true, format: true })
  .extend(ReviewFilterQuery.shape);
export type PolygonFilterQuery = z.infer<typeof PolygonFilterQuery>;

export type BaseFilter = Omit<PolygonFilter, 'sort' | 'limit' | 'offset'>;

const truthy = (v: string | undefined) => v === '1' || v === 'true';

/** The filter of a request: the caller's village scope first, then the query's filters. */
export function baseFilterOf(regionCode: string, req: Request, q: PolygonFilterQuery): BaseFilter {
  return {
    regionCode,
    villageScope: villageScope(req),
    village: q.village,
    flags: q.flags,
    status: q.status,
    batch: q.batch,
    survey: q.survey,
    source: q.source,
    bbox: q.bbox as BaseFilter['bbox'],
    q: q.q,
    includeRemoved: truthy(q.include_removed),
  };
}

/** polygonWhere + reviewWhere: `{ where, params }` over `survey_polygon p`. */
export function filterWhere(base: BaseFilter, review: ReviewFilterQuery, workSrid: number): { where: string; params: unknown[] } {
  const { where, params } = polygonWhere(base, workSrid);
  const more = reviewWhere(review, params);
  return { where: [where, ...more].join(' AND '), params };
}

/**
 * Renumbers `$n` in a WHERE clause built for parameters starting at $1 so it can follow `shift` other
 * parameters. Safe on polygonWhere/reviewWhere output: every value is a parameter, no literal holds `$`.
 */
export const shiftParams = (where: string, shift: number) => where.replace(/\$(\d+)\b/g, (_m, n: string) => `$${Number(n) + shift}`);

/** Filter → query-string values (what a figure carries): arrays comma-joined, undefined dropped. */
export function toQuery(f: Record<string, string | number | readonly string[] | undefined | null>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(f)) {
    if (v === undefined || v === null) continue;
    out[k] = Array.isArray(v) ? v.join(',') : String(v);
  }
  return out;
}

/**
 * A figure's filter over the dashboard's: the figure's own keys win, except the first-outcome bounds,
 * which narrow (the later `from`, the earlier `to`) so a week-filtered dashboard's deadline or week figure
 * still lists only that week's polygons. The bounds are ISO instants of one format (toISOString), so they
 * compare as text.
 */
export function narrow(base: Record<string, string>, more: Record<string, string>): Record<string, string> {
  const out = { ...base, ...more };
  const a = base.first_outcome_from;
  const b = more.first_outcome_from;
  if (a && b) out.first_outcome_from = a > b ? a : b;
  const c = base.first_outcome_to;
  const d = more.first_outcome_to;
  if (c && d) out.first_outcome_to = c < d ? c : d;
  return out;
}
