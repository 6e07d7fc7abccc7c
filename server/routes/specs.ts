/**
 * Route-table entries for routes mounted with plain express + their own requireRole (they predate
 * server/http/openapi.ts). The roles here must match the guards in those files — the role × route test
 * checks it. When you next touch one of those files, mount the route with `route()` there and delete its
 * entry here. Imported for its side effect by server/routes/auth.ts.
 */
import { z } from 'zod';
import { int4PositiveParam } from '../http/schemas';
import { registerRoute } from '../http/openapi';
import { POLYGON_STATUSES } from '../polygons/repo';
import { PolygonListQuery } from './polygons';
import { ImportFields } from './imports';

const ALL = ['admin', 'analyst', 'reviewer', 'field'] as const;
const IMPORTERS = ['admin', 'analyst'] as const;
const Id = z.object({ id: int4PositiveParam() });
const Row = z.record(z.string(), z.unknown());

registerRoute({
  method: 'get', path: '/api/health', tags: ['meta'], roles: 'public',
  summary: 'Liveness: the database answers', summary_zh: '健康检查',
  description: 'Answers within about 3 s whatever the database does: 200 when it answers, 503 database_unavailable while it does not (no restart needed when it returns).',
  response: z.object({ ok: z.boolean(), db: z.enum(['pglite', 'postgres']) }),
});

const PolygonItem = z.object({
  id: z.number().int(),
  survey: z.string(),
  source: z.enum(['survey', 'patrol', 'report']).describe('卫片 survey | 巡查 patrol | 举报 report'),
  duplicate_of: z.number().int().nullable().describe('a lead within 30 m of (or inside) this item: possibly the same'),
  merged_into: z.number().int().nullable(),
  code: z.string().describe('图斑编号'),
  status: z.enum(POLYGON_STATUSES),
  version: z.number().int().describe('optimistic lock for decisions'),
  village: z.string().nullable(),
  area_m2: z.number(),
  area_mu: z.number().describe('亩'),
  flags: z.array(z.string()),
  priority: z.number(),
  parcel_count: z.number().int(),
  largest_parcel_share: z.number().nullable(),
  school_distance_m: z.number().nullable(),
  batch_id: z.number().int(),
  removed: z.boolean(),
  geometry_changed: z.boolean(),
  field_result: z.string().nullable().describe('the latest field finding (under_construction, completed, demolished …), null when none came back'),
});

registerRoute({
  method: 'get', path: '/api/polygons', tags: ['polygons'], roles: ALL,
  summary: 'List survey polygons (village-limited users see only their villages)', summary_zh: '图斑列表',
  description: 'format=geojson returns a FeatureCollection with `numberMatched` instead of the page object.',
  query: PolygonListQuery,
  response: z.object({ total: z.number().int(), limit: z.number().int(), offset: z.number().int(), items: z.array(PolygonItem) }),
});

registerRoute({
  method: 'get', path: '/api/polygons/:id', tags: ['polygons'], roles: ALL,
  summary: 'One polygon with parcels, layer hits, prior surveys and superseded versions', summary_zh: '图斑详情',
  description: '404 also when the polygon lies outside the caller\'s villages.',
  params: Id,
  response: Row,
});

registerRoute({
  method: 'post', path: '/api/imports', tags: ['imports'], roles: IMPORTERS,
  summary: 'Import a zipped shapefile or GeoJSON into a layer (all or nothing)', summary_zh: '导入图层',
  body: ImportFields.extend({ file: z.string().describe('the file (binary)') }),
  bodyType: 'multipart',
  status: 201,
  response: Row.describe('import report; 200 with duplicate=true when this file was imported before'),
});

registerRoute({
  method: 'get', path: '/api/imports', tags: ['imports'], roles: IMPORTERS,
  summary: 'Import batches, newest first', summary_zh: '导入批次列表',
  response: z.object({ items: z.array(Row) }),
});

registerRoute({
  method: 'get', path: '/api/imports/:id', tags: ['imports'], roles: IMPORTERS,
  summary: 'One import batch with its report', summary_zh: '导入批次详情',
  params: Id,
  response: Row,
});

registerRoute({
  method: 'get', path: '/api/layers', tags: ['layers'], roles: ALL,
  summary: 'Layers and their roles in reconciliation', summary_zh: '图层列表',
  response: z.object({ items: z.array(Row) }),
});
