import { z } from 'zod';
import { int4PositiveParam } from '../http/schemas';
import type { AppContext } from '../context';
import { router } from '../http/canonical-path';
import { AppError } from '../errors';
import { requireRole, villageScope } from '../auth/guard';
import { getPolygon, listPolygons, POLYGON_STATUSES, SORTS } from '../polygons/repo';
import { ReviewFilterQuery } from '../dashboard/review-filters';
import { route } from '../http/openapi';
import { accessOf } from '../field/access';
import { polygonIdByCode } from '../field/polygons';
import { LEAD_SOURCES } from '../leads/sources';

const csv = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

export const PolygonListQuery = z.object({
  village: csv.optional(),
  flags: csv.pipe(z.array(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/))).optional(),
  status: csv.pipe(z.array(z.enum(POLYGON_STATUSES))).optional(),
  batch: int4PositiveParam().optional(),
  survey: z.string().max(40).optional(),
  source: csv.pipe(z.array(z.enum(LEAD_SOURCES))).optional()
    .describe('survey 卫片 | patrol 巡查 | report 举报 (comma-separated): where the item came from'),
  bbox: csv
    .pipe(z.array(z.string()).length(4))
    .transform((a) => a.map(Number))
    .refine((a) => a.every(Number.isFinite), 'bbox values must be numbers')
    .refine(([a, b, c, d]) => a < c && b < d && a >= -180 && c <= 180 && b >= -90 && d <= 90, 'bbox must be minLon,minLat,maxLon,maxLat')
    .optional(),
  q: z.string().max(100).optional(),
  include_removed: z.enum(['0', '1', 'true', 'false']).optional(),
  sort: z.enum(Object.keys(SORTS) as [keyof typeof SORTS]).default('priority'),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
  format: z.enum(['json', 'geojson']).default('json'),
}).extend(ReviewFilterQuery.shape);

export function polygonRoutes(ctx: AppContext) {
  const r = router();
  const readers = requireRole('admin', 'analyst', 'reviewer', 'field');

  r.get('/api/polygons', readers, async (req, res) => {
    const qy = PolygonListQuery.parse(req.query);
    const { total, items } = await listPolygons(
      ctx.db,
      {
        regionCode: ctx.config.regionCode,
        villageScope: villageScope(req),
        village: qy.village,
        flags: qy.flags,
        status: qy.status,
        batch: qy.batch,
        survey: qy.survey,
        source: qy.source,
        bbox: qy.bbox as [number, number, number, number] | undefined,
        q: qy.q,
        includeRemoved: qy.include_removed === '1' || qy.include_removed === 'true',
        review: qy,
        sort: qy.sort,
        limit: qy.limit,
        offset: qy.offset,
      },
      ctx.config.workSrid,
      qy.format === 'geojson',
    );
    if (qy.format === 'geojson') {
      res.json({
        type: 'FeatureCollection',
        numberMatched: total,
        features: items.map(({ geometry, ...properties }) => ({ type: 'Feature', id: properties.id, geometry, properties })),
      });
      return;
    }
    res.json({ total, limit: qy.limit, offset: qy.offset, items });
  });

  route(r, {
    method: 'get', path: '/api/polygons/by-code/:code', tags: ['polygons'], roles: ['admin', 'analyst', 'reviewer', 'field'],
    summary: 'The polygon a code (图斑编号) names: the latest survey\'s, a delivered one first (links name polygons by code)',
    summary_zh: '按图斑编号查图斑 ID',
    params: z.object({ code: z.string().min(1).max(100) }), response: z.object({ id: z.number().int(), code: z.string() }),
    example: { params: { code: 'T-1' } },
  }, async (req, res) => {
    const code = z.string().trim().min(1).max(100).safeParse(req.params.code);
    if (!code.success) throw new AppError('invalid_input', 'A polygon code is 1–100 characters', '图斑编号须为 1–100 个字符', 400);
    res.json({ id: await polygonIdByCode(ctx.db, ctx.config.regionCode, code.data, accessOf(req)), code: code.data });
  });

  r.get('/api/polygons/:id', readers, async (req, res) => {
    const id = int4PositiveParam().safeParse(req.params.id);
    if (!id.success) throw new AppError('invalid_input', 'Polygon id must be a positive integer', '图斑 ID 必须为正整数', 400);
    const p = await getPolygon(ctx.db, ctx.config.regionCode, id.data);
    const scope = villageScope(req);
    if (!p || (scope && !scope.includes(p.village_name as string))) {
      throw new AppError('not_found', `No polygon ${id.data}`, `没有 ID 为 ${id.data} 的图斑`, 404);
    }
    res.json(p);
  });
  return r;
}
