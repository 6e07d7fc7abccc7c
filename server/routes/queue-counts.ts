import { z } from 'zod';
import type { AppContext } from '../context';
import { router } from '../http/canonical-path';
import { villageScope } from '../auth/guard';
import { route } from '../http/openapi';
import { polygonWhere, POLYGON_STATUSES, type PolygonFilter } from '../polygons/repo';
import { PolygonListQuery } from './polygons';
import { ReviewFilterQuery } from '../dashboard/review-filters';

const READERS = ['admin', 'analyst', 'reviewer', 'field'] as const;

// with the review filters too: a queue opened from a dashboard figure counts exactly what it lists
export const CountsQuery = PolygonListQuery.pick({
  village: true, flags: true, status: true, batch: true, survey: true, bbox: true, q: true, include_removed: true,
}).extend(ReviewFilterQuery.shape);

const Facet = <T extends z.ZodType>(key: T) => z.array(z.object({ value: key, n: z.number().int() }));
export const CountsOut = z.object({
  total: z.number().int().describe('polygons matching every filter'),
  status: z.record(z.enum(POLYGON_STATUSES), z.number().int())
    .describe('per status, with every filter but status (so the other statuses can be offered)'),
  village: Facet(z.string().nullable()).describe('per village, with every filter but village (null = no village)'),
  flags: Facet(z.string()).describe('per flag, with every filter but flags'),
  batch: Facet(z.number().int()).describe('per import batch, with every filter but batch'),
});

/**
 * Live counts for the analyst's queue (issue 4): facet counts beside the list, so the status chips, village
 * and flag pickers show how many polygons each choice holds. Same filter builder and village scope as the
 * list, so the numbers always agree with it.
 */
export function queueCountRoutes(ctx: AppContext) {
  const r = router();
  route(r, {
    method: 'get', path: '/api/polygons/counts', tags: ['polygons'], roles: READERS,
    summary: 'Facet counts of the polygon queue (per status, village, flag, batch) for the list filters',
    summary_zh: '图斑队列计数（按状态、村、标记、批次）',
    description: 'Each facet is counted with every filter except its own; village-limited users count only their villages.',
    query: CountsQuery, response: CountsOut,
  }, async (req, res) => {
    const qy = CountsQuery.parse(req.query);
    const base: Omit<PolygonFilter, 'sort' | 'limit' | 'offset'> = {
      regionCode: ctx.config.regionCode,
      villageScope: villageScope(req),
      village: qy.village,
      flags: qy.flags,
      status: qy.status,
      batch: qy.batch,
      survey: qy.survey,
      bbox: qy.bbox as [number, number, number, number] | undefined,
      q: qy.q,
      includeRemoved: qy.include_removed === '1' || qy.include_removed === 'true',
      review: qy,
    };
    const srid = ctx.config.workSrid;
    // `value` and `from` are constants of this file, never from the request
    const facet = async <T>(omit: Partial<typeof base>, value: string, from = '') => {
      const { where, params } = polygonWhere({ ...base, ...omit }, srid);
      const rows = await ctx.db.query<{ value: T; n: number }>(
        `SELECT ${value} AS value, count(*)::int AS n FROM survey_polygon p${from}
         WHERE ${where} GROUP BY 1 ORDER BY 2 DESC, 1`,
        params,
      );
      return rows.rows;
    };
    const [byStatus, village, flags, batch] = await Promise.all([
      facet<string>({ status: undefined }, 'p.status'),
      facet<string | null>({ village: undefined }, 'p.village_name'),
      facet<string>({ flags: undefined }, 'f.flag', ', unnest(p.flags) f(flag)'),
      facet<number>({ batch: undefined }, 'p.batch_id'),
    ]);
    const status = Object.fromEntries(POLYGON_STATUSES.map((s) => [s, 0])) as Record<(typeof POLYGON_STATUSES)[number], number>;
    for (const r of byStatus) if (r.value in status) status[r.value as keyof typeof status] = r.n;
    const total = qy.status?.length
      ? qy.status.reduce((a, s) => a + (status[s] ?? 0), 0)
      : Object.values(status).reduce((a, n) => a + n, 0);
    res.json({ total, status, village, flags, batch });
  });
  return r;
}
