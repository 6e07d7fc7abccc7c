/**
 * GET /api/coverage: runs coverage.sql (every number is computed there, once) and attaches to each figure
 * the filter — GET /api/polygons query parameters — that lists exactly the polygons behind it.
 */
import { z } from 'zod';
import { isoInstant } from '../http/schemas';
import type { Queryable } from '../db/types';
import { loadSql } from '../db/sql-file';
import { DISMISS_REASON_LABELS, STATUS_LABELS, STATUSES, type Status } from '../review/transitions';
import { PolygonListQuery } from '../routes/polygons';
import { filterWhere, IsoWeek, narrow, shiftParams, toQuery, type BaseFilter, type ReviewFilterQuery } from './filters';

const COVERAGE_SQL = loadSql(new URL('./coverage.sql', import.meta.url)).coverage;
if (!COVERAGE_SQL?.includes('/*polygon_filter*/')) throw new Error('coverage.sql: statement coverage with /*polygon_filter*/ missing');

export const OUTCOMES = ['verified', 'linked', 'dismissed'] as const;
export const WAITING = ['pending', 'field_check'] as const;
export const CAMPAIGN_FLAGS = ['frontage', 'compound', 'school', 'green'] as const;

export const FLAG_LABELS: Record<string, { zh: string; en: string }> = {
  frontage: { zh: '吉安大道沿线', en: 'Ji\'an Avenue frontage' },
  compound: { zh: '居民小区', en: 'Residential compounds' },
  school: { zh: '学校周边', en: 'Around schools' },
  green: { zh: '公共绿地', en: 'Public green space' },
  no_village: { zh: '无村（社区）归属', en: 'No village' },
};
export const PHASE_LABELS: Record<string, { zh: string; en: string }> = {
  publicity: { zh: '宣传发动', en: 'Publicity' },
  rectification: { zh: '集中整治', en: 'Concentrated rectification' },
  consolidation: { zh: '巩固提升', en: 'Consolidation' },
};

import { SOURCE_LABELS, type LeadSource } from '../leads/sources';

const instant = isoInstant();

/** The filters the dashboard accepts: a subset of GET /api/polygons's (status is what it counts). */
export const CoverageQuery = PolygonListQuery.pick({ village: true, flags: true, batch: true, survey: true, source: true, bbox: true, q: true }).extend({
  as_of: instant.optional().describe('the instant ages and the weekly curve are computed at (default now)'),
  year: z.coerce.number().int().min(2000).max(2099).optional()
    .describe('campaign year of the phases (default: TUBAN_CAMPAIGN_YEAR, else the year after the latest survey in view — a 2020 survey belongs to the 2021 campaign — else the year of as_of in Beijing)'),
  week: IsoWeek.optional(),
});
export type CoverageQuery = z.infer<typeof CoverageQuery>;

type Filter = Record<string, string>;

interface Group {
  key?: string;
  total: number;
  decided: number;
  verified: number;
  linked: number;
  dismissed: number;
  pending: number;
  field_check: number;
  share: number | null;
}

interface Row {
  as_of: Date;
  year: number;
  evidence_available: boolean;
  overall: Group;
  by_village: Group[];
  by_flag: Group[];
  by_source: Group[];
  by_batch: (Group & { batch_id: number; file_name: string; survey: string | null; imported_at: string })[];
  by_reason: { reason: string; count: number }[];
  evidence: { verified: number; with_photo: number; share: number | null };
  phases: { phase: string; start: string; end: string; from: string; to: string }[];
  deadline: { date: string; to: string; passed: boolean; decided: number; share: number | null };
  weeks: { week: string; monday: string; from: string; to: string; phase: string | null; decided: number; cumulative: number; share: number | null }[];
  undated: number;
  age_buckets: { min_days: number; max_days: number | null; count: number; imported_from: string | null; imported_to: string | null }[];
  oldest: { imported_at: string; imported_to: string; age_days: number; count: number; polygons: { id: number; code: string; village: string | null; imported_at: string }[] } | null;
}

/** Timestamps from the database as exact ISO instants (the SQL keeps every bound at ms precision). */
const iso = (s: string | Date | null) => (s === null ? undefined : new Date(s).toISOString());

export interface CoverageInput {
  base: BaseFilter;
  /** the base filter as query parameters: every figure's filter starts from it */
  baseQuery: Filter;
  /** review filters of the whole dashboard (a clicked week: its first-outcome bounds, also in baseQuery) */
  review?: ReviewFilterQuery;
  asOf: Date;
  year?: number;
  workSrid: number;
}

export async function computeCoverage(q: Queryable, c: CoverageInput) {
  const { where, params } = filterWhere({ ...c.base, includeRemoved: false }, c.review ?? {}, c.workSrid);
  const own = [c.asOf.toISOString(), c.year ?? null];
  const sql = COVERAGE_SQL.replace('/*polygon_filter*/', shiftParams(where, own.length));
  const r = (await q.query<Row>(sql, [...own, ...params])).rows[0];

  const base = c.baseQuery;
  const f = (more: Record<string, string | readonly string[] | undefined>): Filter => narrow(base, toQuery(more));
  const decided = OUTCOMES.join(',');
  const waiting = WAITING.join(',');
  const group = (g: Group, filter: Filter) => {
    const { key: _k, ...counts } = g;
    return { ...counts, filter, decided_filter: { ...filter, status: decided } };
  };
  const baseFlags = base.flags ? base.flags.split(',') : [];
  const byBatch = r.by_batch.filter((b) => !base.batch || String(b.batch_id) === base.batch);

  return {
    as_of: r.as_of instanceof Date ? r.as_of.toISOString() : iso(r.as_of),
    filter: base,
    definitions: {
      polygons: 'survey polygons matching the filter in the caller\'s villages; removed ones (absent from a later delivery) never count',
      outcome: 'status verified, linked or dismissed; share = polygons with an outcome / polygons',
      first_outcome: 'time of the first verify/link/dismiss event of a polygon that has an outcome now',
      week: 'ISO week, Monday 00:00 Beijing time; its phase is the one holding its Thursday',
      age: 'days since first import; bucket (min_days, max_days]',
      decided_by: 'username of the last outcome event',
      source: 'where an item came from: survey 卫片 (the satellite polygons), patrol 巡查, report 举报; each item in exactly one',
    },
    overall: group(r.overall, f({})),
    by_village: r.by_village.map((g) => ({ village: g.key!, ...group(g, f({ village: g.key! })) })),
    by_flag: r.by_flag.map((g) => ({
      flag: g.key!, label: FLAG_LABELS[g.key!], ...group(g, f({ flags: [...new Set([...baseFlags, g.key!])] })),
    })),
    // every item in exactly one source: these add up to overall (issue 16 item 1)
    by_source: r.by_source
      .filter((g) => !base.source || base.source.split(',').includes(g.key!))
      .map((g) => ({ source: g.key!, label: SOURCE_LABELS[g.key as LeadSource], ...group(g, f({ source: g.key! })) })),
    by_batch: byBatch.map((g) => ({
      batch_id: g.batch_id, file_name: g.file_name, survey: g.survey, imported_at: iso(g.imported_at),
      ...group(g, f({ batch: String(g.batch_id) })),
    })),
    by_outcome: STATUSES.map((s: Status) => ({
      status: s, label: STATUS_LABELS[s], outcome: (OUTCOMES as readonly string[]).includes(s), count: r.overall[s], filter: f({ status: s }),
    })),
    by_reason: r.by_reason.map((x) => ({
      reason: x.reason,
      label: (DISMISS_REASON_LABELS as Record<string, { zh: string; en: string }>)[x.reason] ?? { zh: '未记录', en: 'Not recorded' },
      count: x.count,
      filter: f({ status: 'dismissed', reason: x.reason }),
    })),
    evidence: {
      evidence_available: r.evidence_available,
      verified: r.evidence.verified,
      with_photo: r.evidence.with_photo,
      share: r.evidence.share,
      filter: f({ status: 'verified', evidence: '1' }),
      verified_filter: f({ status: 'verified' }),
    },
    weekly: {
      year: r.year,
      phases: r.phases.map((p) => ({ ...p, from: iso(p.from), to: iso(p.to), label: PHASE_LABELS[p.phase] })),
      deadline: {
        ...r.deadline, to: iso(r.deadline.to),
        filter: f({ status: decided, first_outcome_to: iso(r.deadline.to) }),
      },
      weeks: r.weeks.map((w) => ({
        ...w, from: iso(w.from), to: iso(w.to),
        filter: f({ status: decided, first_outcome_from: iso(w.from), first_outcome_to: iso(w.to) }),
        cumulative_filter: f({ status: decided, first_outcome_to: iso(w.to) }),
      })),
      undated: { count: r.undated, filter: f({ status: decided, first_outcome: 'none' }) },
    },
    pending_age: {
      buckets: r.age_buckets.map((b) => ({
        ...b, imported_from: iso(b.imported_from) ?? null, imported_to: iso(b.imported_to) ?? null,
        filter: f({ status: waiting, imported_from: iso(b.imported_from), imported_to: iso(b.imported_to) }),
      })),
      oldest: r.oldest && {
        ...r.oldest,
        imported_at: iso(r.oldest.imported_at),
        imported_to: iso(r.oldest.imported_to),
        polygons: r.oldest.polygons.map((p) => ({ ...p, imported_at: iso(p.imported_at) })),
        filter: f({ status: waiting, imported_from: iso(r.oldest.imported_at), imported_to: iso(r.oldest.imported_to) }),
      },
    },
  };
}

export type Coverage = Awaited<ReturnType<typeof computeCoverage>>;
