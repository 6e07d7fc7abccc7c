import { createHash } from 'node:crypto';
import { type Request, type RequestHandler, type Response } from 'express';
import { router } from '../http/canonical-path';
import { z } from 'zod';
import type { AppContext } from '../context';
import { villageScope } from '../auth/guard';
import { authenticate } from '../auth/session';
import { checkLogin, getUser, toPrincipal } from '../auth/users';
import { route } from '../http/openapi';
import { AppError } from '../errors';
import { notFound as httpNotFound } from '../http/errors';
import { CONFORMANCE, CRS84, DEFAULT_LIMIT, MAX_LIMIT, notFound, OgcService, type Caller } from '../ogc/service';
import type { TileLayer } from '../tiles/catalog';

const READERS = ['admin', 'analyst', 'reviewer', 'field'] as const;
const GEOJSON = 'application/geo+json';
const Json = z.record(z.string(), z.unknown());

const F = z.enum(['json', 'geojson']).optional().describe('output format: JSON / GeoJSON only');
const bboxParam = z
  .string()
  .transform((s) => s.split(',').map((x) => Number(x.trim())))
  .refine((a) => (a.length === 4 || a.length === 6) && a.every(Number.isFinite), 'bbox: minLon,minLat,maxLon,maxLat (CRS84)')
  .transform((a) => (a.length === 6 ? [a[0], a[1], a[3], a[4]] : a) as [number, number, number, number])
  .refine(([w, s, e, n]) => w <= e && s <= n && s >= -90 && n <= 90, 'bbox: minLon,minLat,maxLon,maxLat (CRS84)');
export const ItemsQuery = z.object({
  limit: z.coerce.number().int().min(1).default(DEFAULT_LIMIT)
    .transform((n) => Math.min(n, MAX_LIMIT)).describe(`default ${DEFAULT_LIMIT}; larger than ${MAX_LIMIT} is served as ${MAX_LIMIT}`),
  offset: z.coerce.number().int().min(0).max(100_000_000).default(0),
  bbox: bboxParam.optional(),
  'bbox-crs': z.literal(CRS84).optional(),
  status: z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.enum(['pending', 'field_check', 'verified', 'linked', 'dismissed']))).optional()
    .describe('survey polygons only: comma-separated statuses'),
  f: F,
});
const FOnly = z.object({ f: F });

const CollectionParams = z.object({ collectionId: z.string().max(60) });
const FeatureParams = CollectionParams.extend({ featureId: z.string().max(30) });

/** Absolute base URL as the client reached us (`trust proxy` covers a loopback reverse proxy). */
const baseUrl = (req: Request) => `${req.protocol}://${req.get('host')}`;
const caller = (req: Request): Caller => ({ scope: villageScope(req) });

function qs(params: Record<string, unknown>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) u.set(k, Array.isArray(v) ? v.join(',') : String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

/**
 * QGIS can authenticate with HTTP Basic. Accepted as username + a session token (from POST /api/auth/login
 * with `"token": true`) in the password field, or username + the account's password (checked under the
 * login limiter; a verified pair is remembered for a minute, re-checked against the account on every
 * request). Bearer tokens and cookies are handled by the session middleware before this.
 */
function basicAuth(ctx: AppContext): RequestHandler {
  let session: Promise<RequestHandler> | undefined;
  const verified = new Map<string, { id: number; hash: string; until: number }>();
  return async (req, res, next) => {
    if (!req.principal) res.set('WWW-Authenticate', 'Basic realm="tuban OGC API", charset="UTF-8"');
    const h = req.headers.authorization;
    if (req.principal || !h || !/^Basic\s+/i.test(h)) return next();
    const decoded = Buffer.from(h.replace(/^Basic\s+/i, ''), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return next();
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    if (/^[A-Za-z0-9_-]{43}$/.test(password)) {
      // a session token: the session middleware looks it up as if it came as a bearer token
      session ??= authenticate(ctx);
      req.headers.authorization = `Bearer ${password}`;
      return (await session)(req, res, next);
    }
    const key = createHash('sha256').update(`${username}\0${password}`).digest('hex');
    const hit = verified.get(key);
    let user = hit && hit.until > Date.now() ? await getUser(ctx.db, hit.id) : undefined;
    if (!user || user.password_hash !== hit!.hash || user.disabled) {
      verified.delete(key);
      user = await checkLogin(ctx.db, username, password, req.ip ?? '');
      if (verified.size > 1000) verified.clear();
      verified.set(key, { id: user.id, hash: user.password_hash, until: Date.now() + 60_000 });
    }
    if (user.must_change_password) throw new AppError('password_change_required', 'Change your password first', '请先修改密码', 403);
    req.principal = toPrincipal(user);
    next();
  };
}

/** Routes: OGC API – Features at /ogc. */
export function ogcRoutes(ctx: AppContext) {
  const r = router();
  const ogc = new OgcService({ db: ctx.db, regionCode: ctx.config.regionCode, workSrid: ctx.config.workSrid });
  r.use('/ogc', basicAuth(ctx));

  const checkF = (req: Request) => {
    const f = FOnly.safeParse({ f: req.query.f });
    if (!f.success) throw new AppError('invalid_input', 'Only f=json is served', '仅支持 f=json', 400);
  };

  const collectionJson = async (req: Request, c: TileLayer) => {
    const base = `${baseUrl(req)}/ogc/collections/${encodeURIComponent(c.name)}`;
    const ext = await ogc.extent(c, caller(req));
    return {
      id: c.name,
      title: `${c.title_zh} / ${c.title_en}`,
      description: c.kind === 'survey'
        ? 'Survey change polygons (遥感监测图斑) with their review status; filter with status=pending,verified,…'
        : `${c.title_en} (${c.title_zh})`,
      links: [
        { href: base, rel: 'self', type: 'application/json', title: 'this collection' },
        { href: `${base}/items`, rel: 'items', type: GEOJSON, title: 'items' },
      ],
      ...(ext ? { extent: { spatial: { bbox: [ext], crs: CRS84 } } } : {}),
      itemType: 'feature',
      crs: [CRS84],
    };
  };

  route(r, {
    method: 'get', path: '/ogc', tags: ['ogc'], roles: 'public',
    summary: 'OGC API – Features landing page', summary_zh: 'OGC API – Features 入口',
    query: FOnly, response: Json,
  }, (req, res) => {
    checkF(req);
    const b = baseUrl(req);
    res.json({
      title: 'tuban 图斑 — OGC API – Features',
      description: 'Survey change polygons, parcels and reference layers (read-only). Log in with HTTP Basic or a bearer token.',
      links: [
        { href: `${b}/ogc`, rel: 'self', type: 'application/json', title: 'this document' },
        { href: `${b}/api/openapi.json`, rel: 'service-desc', type: 'application/vnd.oai.openapi+json;version=3.1', title: 'the API definition' },
        { href: `${b}/ogc/conformance`, rel: 'conformance', type: 'application/json', title: 'conformance classes' },
        { href: `${b}/ogc/collections`, rel: 'data', type: 'application/json', title: 'collections' },
      ],
    });
  });

  route(r, {
    method: 'get', path: '/ogc/conformance', tags: ['ogc'], roles: 'public',
    summary: 'Conformance classes implemented', summary_zh: '符合性类别',
    query: FOnly, response: z.object({ conformsTo: z.array(z.string()) }),
  }, (req, res) => {
    checkF(req);
    res.json({ conformsTo: CONFORMANCE });
  });

  route(r, {
    method: 'get', path: '/ogc/collections', tags: ['ogc'], roles: READERS,
    summary: 'Feature collections: survey, parcels, each reference layer', summary_zh: '要素集合列表',
    query: FOnly, response: Json,
  }, async (req, res) => {
    checkF(req);
    const cols = await ogc.collections();
    const out = [];
    for (const c of cols) out.push(await collectionJson(req, c));
    res.json({
      links: [{ href: `${baseUrl(req)}/ogc/collections`, rel: 'self', type: 'application/json', title: 'this document' }],
      collections: out,
    });
  });

  route(r, {
    method: 'get', path: '/ogc/collections/:collectionId', tags: ['ogc'], roles: READERS,
    summary: 'One feature collection', summary_zh: '要素集合',
    params: CollectionParams, query: FOnly, response: Json,
  }, async (req, res) => {
    checkF(req);
    const { collectionId } = CollectionParams.parse(req.params);
    res.json(await collectionJson(req, await ogc.collection(collectionId)));
  });

  route(r, {
    method: 'get', path: '/ogc/collections/:collectionId/items', tags: ['ogc'], roles: READERS,
    summary: 'Features of a collection (GeoJSON, CRS84): bbox, limit/offset paging with next links, status (survey)',
    summary_zh: '要素列表（GeoJSON）',
    params: CollectionParams, query: ItemsQuery, responseType: GEOJSON,
  }, async (req: Request, res: Response) => {
    const { collectionId } = CollectionParams.parse(req.params);
    const q = ItemsQuery.parse(req.query);
    const c = await ogc.collection(collectionId);
    const status = c.kind === 'survey' ? q.status : undefined;
    const page = await ogc.items(c, caller(req), { limit: q.limit, offset: q.offset, bbox: q.bbox, status });
    const href = (offset: number) =>
      `${baseUrl(req)}/ogc/collections/${encodeURIComponent(c.name)}/items${qs({ limit: q.limit, offset, bbox: q.bbox, status })}`;
    const links = [
      { href: href(q.offset), rel: 'self', type: GEOJSON, title: 'this document' },
      { href: `${baseUrl(req)}/ogc/collections/${encodeURIComponent(c.name)}`, rel: 'collection', type: 'application/json', title: 'the collection' },
      ...(q.offset + page.returned < page.matched ? [{ href: href(q.offset + q.limit), rel: 'next', type: GEOJSON, title: 'next page' }] : []),
      ...(q.offset > 0 ? [{ href: href(Math.max(0, q.offset - q.limit)), rel: 'prev', type: GEOJSON, title: 'previous page' }] : []),
    ];
    res.type(GEOJSON).send(
      `{"type":"FeatureCollection","timeStamp":${JSON.stringify(new Date().toISOString())},"numberMatched":${page.matched},` +
      `"numberReturned":${page.returned},"links":${JSON.stringify(links)},"features":[${page.features}]}`,
    );
  });

  route(r, {
    method: 'get', path: '/ogc/collections/:collectionId/items/:featureId', tags: ['ogc'], roles: READERS,
    summary: 'One feature (GeoJSON, CRS84)', summary_zh: '单个要素',
    params: FeatureParams, query: FOnly, responseType: GEOJSON,
  }, async (req, res) => {
    checkF(req);
    const { collectionId, featureId } = FeatureParams.parse(req.params);
    const c = await ogc.collection(collectionId);
    const fid = /^\d{1,15}$/.test(featureId) ? Number(featureId) : NaN;
    if (!Number.isSafeInteger(fid)) throw notFound(`feature ${featureId}`);
    const page = await ogc.items(c, caller(req), { limit: 1, offset: 0, fid });
    if (!page.returned) throw notFound(`feature ${featureId}`);
    const base = `${baseUrl(req)}/ogc/collections/${encodeURIComponent(c.name)}`;
    const links = [
      { href: `${base}/items/${fid}`, rel: 'self', type: GEOJSON, title: 'this feature' },
      { href: base, rel: 'collection', type: 'application/json', title: 'the collection' },
    ];
    res.type(GEOJSON).send(`${page.features.slice(0, -1)},"links":${JSON.stringify(links)}}`);
  });

  // unknown /ogc paths answer the JSON error, like /api
  r.use('/ogc', httpNotFound);
  return r;
}
