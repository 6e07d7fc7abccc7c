import { type Request } from 'express';
import { router } from '../http/canonical-path';
import { z } from 'zod';
import type { AppContext } from '../context';
import { villageScope, type Principal } from '../auth/guard';
import { route } from '../http/openapi';
import { CoverageQuery, computeCoverage } from '../dashboard/coverage';
import { toQuery, weekRange, type BaseFilter, type ReviewFilterQuery } from '../dashboard/filters';
import { overdue } from '../dashboard/overdue';
import { createSample, getSample, listSamples, NewSample, recordVerdict, VerdictBody } from '../dashboard/qc';
import { reportErrorPage, villageReport } from '../dashboard/report';
import { imageryStoreOf } from './imagery';
import { villageChoropleth, villageOutlines } from '../dashboard/villages';
import { IdParam } from '../review/schemas';
import { DateString } from '../review/schemas';
import { today } from '../review/workdays';
import { AppError, isAppError } from '../errors';

/** who reads the dashboard figures */
const DASHBOARD = ['admin', 'analyst', 'reviewer'] as const;
/** who checks decisions (a return is a reviewer's action in the review workflow) */
const CHECKERS = ['admin', 'reviewer'] as const;
const ALL = ['admin', 'analyst', 'reviewer', 'field'] as const;

const Row = z.record(z.string(), z.unknown());
const Filter = z.record(z.string(), z.string()).describe('GET /api/polygons query parameters listing exactly this figure\'s polygons');
const Figure = z.object({
  total: z.number().int(), decided: z.number().int(), share: z.number().nullable(),
  verified: z.number().int(), linked: z.number().int(), dismissed: z.number().int(), pending: z.number().int(), field_check: z.number().int(),
  filter: Filter, decided_filter: Filter,
}).loose();
const CoverageOut = z.object({
  as_of: z.string(),
  filter: Filter,
  overall: Figure,
  by_village: z.array(Figure),
  by_flag: z.array(Figure),
  by_source: z.array(Figure).describe('卫片 survey / 巡查 patrol / 举报 report: each item in exactly one, they add up to overall'),
  by_batch: z.array(Figure),
  by_outcome: z.array(Row),
  by_reason: z.array(Row),
  evidence: Row.describe('evidence_available: false until photo evidence exists (then share of verified polygons with a photo)'),
  weekly: Row.describe('phases, deadline (10/30), weeks [{week, from, to, phase, decided, cumulative, share, filter, cumulative_filter}], undated'),
  pending_age: Row.describe('buckets [{min_days, max_days, count, filter}] and the oldest'),
}).loose();

const OverdueQuery = CoverageQuery.omit({ year: true }).extend({
  as_of_date: DateString.optional().describe('the day case deadlines are judged on (default today, Beijing)'),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('how many of the oldest polygons and of the cases to list'),
});

const ChoroplethQuery = CoverageQuery.extend({
  figures: z.enum(['0', '1']).optional().describe('0: outlines and label points only (default 1: with the coverage figures)'),
});

const Id = z.object({ id: IdParam });
const principal = (req: Request): Principal => req.principal!;

function idOf(req: Request, what: string): number {
  const r = IdParam.safeParse(req.params.id);
  if (!r.success) throw new AppError('invalid_input', `The ${what} id must be a positive integer`, 'ID 必须为正整数', 400);
  return r.data;
}

/** The dashboard's filter: the caller's villages, then GET /api/polygons's filters (removed polygons never count). */
function baseOf(ctx: AppContext, req: Request, q: CoverageQuery | z.infer<typeof OverdueQuery>): { base: BaseFilter; baseQuery: Record<string, string>; review: ReviewFilterQuery } {
  // a clicked week: the polygons first decided that week (the curve's week figure), as review filters so
  // every figure's link carries the same bounds to the queue
  const wk = q.week ? weekRange(q.week) : null;
  const review: ReviewFilterQuery = wk ? { first_outcome_from: wk.from, first_outcome_to: wk.to } : {};
  return {
    review,
    base: {
      regionCode: ctx.config.regionCode,
      villageScope: villageScope(req),
      village: q.village, flags: q.flags, batch: q.batch, survey: q.survey, source: q.source,
      bbox: q.bbox as BaseFilter['bbox'], q: q.q,
    },
    baseQuery: toQuery({ village: q.village, flags: q.flags, batch: q.batch, survey: q.survey, source: q.source, bbox: q.bbox?.map(String), q: q.q, ...review }),
  };
}

/**
 * The reviewer's dashboard (issue 6): coverage figures, the village choropleth, overdue work, quality-check
 * samples and the printable village report. Every figure respects the caller's villages.
 */
export function dashboardRoutes(ctx: AppContext) {
  const r = router();
  const region = ctx.config.regionCode;
  const srid = ctx.config.workSrid;

  route(r, {
    method: 'get', path: '/api/coverage', tags: ['dashboard'], roles: DASHBOARD,
    summary: 'Verification coverage: overall, by village, priority flag, batch, ISO week (campaign phases), outcome, dismissal reason; evidence share; age of waiting polygons',
    summary_zh: '核查覆盖率：总体、分村、分整治重点、分批次、分周（整治阶段）、处理结果、排除原因、照片佐证、待处理时长',
    description:
      'Every figure carries `filter`: GET /api/polygons query parameters listing exactly its polygons (share figures also ' +
      '`decided_filter`). Removed polygons never count. Accepts the dashboard subset of GET /api/polygons filters.',
    query: CoverageQuery, response: CoverageOut,
  }, async (req, res) => {
    const qy = CoverageQuery.parse(req.query);
    const { base, baseQuery, review } = baseOf(ctx, req, qy);
    res.json(await computeCoverage(ctx.db, {
      base, baseQuery, review, workSrid: srid,
      asOf: qy.as_of ? new Date(qy.as_of) : new Date(),
      year: qy.year ?? ctx.config.campaignYear,
    }));
  });

  route(r, {
    method: 'get', path: '/api/coverage/villages.geojson', tags: ['dashboard'], roles: DASHBOARD,
    summary: 'Village outlines (EPSG:4326) with their coverage figures, for a choropleth', summary_zh: '分村核查覆盖率专题图数据',
    description: 'figures=0: the outlines and label points only (no coverage computed); the filters then do not apply.',
    query: ChoroplethQuery, responseType: 'application/geo+json',
  }, async (req, res) => {
    const qy = ChoroplethQuery.parse(req.query);
    if (qy.figures === '0') {
      res.type('application/geo+json').send(await villageOutlines(ctx.db, region, villageScope(req)));
      return;
    }
    const { base, baseQuery, review } = baseOf(ctx, req, qy);
    const body = await villageChoropleth(ctx.db, {
      base, baseQuery, review, workSrid: srid, asOf: qy.as_of ? new Date(qy.as_of) : new Date(), year: qy.year ?? ctx.config.campaignYear,
    });
    res.type('application/geo+json').send(body);
  });

  route(r, {
    method: 'get', path: '/api/overdue', tags: ['dashboard'], roles: DASHBOARD,
    summary: 'Overdue: cases with a step past its deadline, polygons waiting longer than TUBAN_PENDING_DAYS since first import',
    summary_zh: '逾期：处置步骤超期的案件、超过期限仍未处理的图斑',
    query: OverdueQuery, response: Row,
  }, async (req, res) => {
    const qy = OverdueQuery.parse(req.query);
    const { base, baseQuery, review } = baseOf(ctx, req, qy);
    res.json(await overdue(ctx.db, {
      base, baseQuery, review, workSrid: srid, pendingDays: ctx.config.pendingDays, limit: qy.limit,
      asOf: qy.as_of ? new Date(qy.as_of) : new Date(), asOfDate: qy.as_of_date ?? today(),
    }));
  });

  route(r, {
    method: 'post', path: '/api/qc/samples', tags: ['qc'], roles: CHECKERS,
    summary: 'Draw a quality-check sample: N decided polygons per village (seeded, stored)', summary_zh: '抽查：每村随机抽取 N 个已处理图斑',
    body: NewSample, response: Row, status: 201,
  }, async (req, res) => {
    const body = NewSample.parse(req.body ?? {});
    res.status(201).json(await createSample(ctx.db, region, principal(req), body, villageScope(req)));
  });

  route(r, {
    method: 'get', path: '/api/qc/samples', tags: ['qc'], roles: DASHBOARD,
    summary: 'Quality-check samples, newest first', summary_zh: '抽查列表',
    response: z.object({ items: z.array(Row) }),
  }, async (req, res) => {
    res.json({ items: await listSamples(ctx.db, region, villageScope(req)) });
  });

  route(r, {
    method: 'get', path: '/api/qc/samples/:id', tags: ['qc'], roles: DASHBOARD,
    summary: 'A sample: its items, reviewed share and agreement rate per village and per analyst', summary_zh: '抽查详情：评议进度与一致率（分村、分认定人）',
    params: Id, response: Row,
  }, async (req, res) => {
    res.json(await getSample(ctx.db, region, idOf(req, 'sample'), villageScope(req)));
  });

  route(r, {
    method: 'post', path: '/api/qc/items/:id', tags: ['qc'], roles: CHECKERS,
    summary: 'Verdict on a sampled decision: approve, or return it to the queue with a comment (review workflow `return`)',
    summary_zh: '评议抽查项：通过，或退回（须填写意见，图斑回到待核查）',
    description: '409 already_reviewed; 409 decision_changed when the polygon changed since it was drawn.',
    params: Id, body: VerdictBody, response: Row,
  }, async (req, res) => {
    const id = idOf(req, 'item');
    const body = VerdictBody.parse(req.body ?? {});
    res.json(await recordVerdict(ctx.db, region, principal(req), id, body, villageScope(req)));
  });

  route(r, {
    method: 'get', path: '/reports/village/:name', tags: ['dashboard'], roles: ALL,
    summary: 'Printable village report (HTML, A4): figures, SVG map of the polygons by status, polygon table',
    summary_zh: '村（社区）核查情况报告（可打印为 PDF）',
    params: z.object({ name: z.string().min(1).max(100) }), responseType: 'text/html',
  }, async (req, res) => {
    const name = z.string().trim().min(1).max(100).parse(req.params.name);
    // the imagery chips are images of this server, fetched with the session that opened the report
    res.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:");
    res.set('Cache-Control', 'private, no-store');
    let html: string;
    try {
      // the imported imagery's dates: the report prints each polygon's chips (issue 15 item 4)
      const layers = await imageryStoreOf(ctx).current();
      const epoch = (e: 'before' | 'after') => {
        const l = layers.get(e);
        return l ? { date: l.acquired_on, version: String(l.id) } : null;
      };
      html = await villageReport(ctx.db, {
        regionCode: region, village: name, scope: villageScope(req), workSrid: srid, asOf: new Date(), year: ctx.config.campaignYear,
        imagery: layers.size ? { before: epoch('before'), after: epoch('after') } : undefined,
      });
    } catch (e) {
      // a person opened the page: an unknown village is an HTML page in both languages (a JSON client,
      // Accept: application/json, still gets the error shape)
      if (!isAppError(e) || e.status !== 404 || req.accepts(['html', 'json']) !== 'html') throw e;
      res.status(404).type('html').send(reportErrorPage(e));
      return;
    }
    res.type('html').send(html);
  });

  return r;
}
