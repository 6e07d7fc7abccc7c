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
import { contentCrs, epsgUri, servedCrs } from '../ogc/crs';
import { OAS30, ogcApiDocument } from '../ogc/api-doc';
import { featureQuery, itemsQuery, metadataQuery } from '../ogc/params';
import { queryablesDoc } from '../ogc/queryables';
import type { TileLayer } from '../tiles/catalog';

const READERS = ['admin', 'analyst', 'reviewer', 'field'] as const;
const GEOJSON = 'application/geo+json';
const QUERYABLES_REL = 'http://www.opengis.net/def/rel/ogc/1.0/queryables';
const Json = z.record(z.string(), z.unknown());

const F = z.enum(['json', 'geojson']).optional().describe('output format: JSON / GeoJSON only');
const FOnly = z.object({ f: F });
/** What /api/openapi.json says of an items request; the handler checks the query itself (ogc/params.ts). */
const ItemsQueryDoc = z.object({
  limit: z.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT).describe(`default ${DEFAULT_LIMIT}; larger than ${MAX_LIMIT} is served as ${MAX_LIMIT}`),
  bbox: z.string().optional().describe('minLon,minLat,maxLon,maxLat (CRS84), or in the axis order of bbox-crs'),
  'bbox-crs': z.string().optional().describe(`CRS of bbox: ${CRS84} (default), EPSG:4490, the work CRS`),
  crs: z.string().optional().describe(`CRS of the output: ${CRS84} (default), EPSG:4490, the work CRS`),
  cursor: z.string().optional().describe('from a next link'),
  f: F,
}).catchall(z.string()).describe('plus the property filters of the collection (see its queryables)');

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
  const workSrid = ctx.config.workSrid;
  const ogc = new OgcService({ db: ctx.db, regionCode: ctx.config.regionCode, workSrid });
  const crsList = servedCrs(workSrid).map((c) => c.uri);
  r.use('/ogc', basicAuth(ctx));

  const collectionJson = async (req: Request, c: TileLayer) => {
    const base = `${baseUrl(req)}/ogc/collections/${encodeURIComponent(c.name)}`;
    const ext = await ogc.extent(c, caller(req));
    return {
      id: c.name,
      title: `${c.title_zh} / ${c.title_en}`,
      description: c.kind === 'survey'
        ? 'Survey change polygons (遥感监测图斑) with their review status; filter with village, status, flags, batch_id, survey (see queryables)'
        : `${c.title_en} (${c.title_zh})`,
      links: [
        { href: base, rel: 'self', type: 'application/json', title: 'this collection' },
        { href: `${base}/items`, rel: 'items', type: GEOJSON, title: 'items' },
        { href: `${base}/queryables`, rel: QUERYABLES_REL, type: 'application/schema+json', title: 'the property filters' },
      ],
      ...(ext ? { extent: { spatial: { bbox: [ext], crs: CRS84 } } } : {}),
      itemType: 'feature',
      crs: crsList,
      storageCrs: epsgUri(workSrid),
    };
  };

  route(r, {
    method: 'get', path: '/ogc', tags: ['ogc'], roles: 'public',
    summary: 'OGC API – Features landing page', summary_zh: 'OGC API – Features 入口',
    query: FOnly, response: Json,
  }, (req, res) => {
    metadataQuery(req.query, 'the landing page');
    const b = baseUrl(req);
    res.json({
      title: 'tuban 图斑 — OGC API – Features',
      description: 'Survey change polygons, parcels and reference layers (read-only). Log in with a bearer token or HTTP Basic.',
      links: [
        { href: `${b}/ogc`, rel: 'self', type: 'application/json', title: 'this document' },
        { href: `${b}/ogc/api`, rel: 'service-desc', type: OAS30, title: 'the API definition (OpenAPI 3.0)' },
        { href: `${b}/ogc/conformance`, rel: 'conformance', type: 'application/json', title: 'conformance classes' },
        { href: `${b}/ogc/collections`, rel: 'data', type: 'application/json', title: 'collections' },
      ],
    });
  });

  route(r, {
    method: 'get', path: '/ogc/api', tags: ['ogc'], roles: 'public',
    summary: 'The OGC API definition (OpenAPI 3.0): limit default and maximum, filters per collection', summary_zh: 'OGC API 定义（OpenAPI 3.0）',
    query: FOnly, responseType: OAS30,
  }, async (req, res) => {
    metadataQuery(req.query, 'the API definition');
    res.type(OAS30).send(JSON.stringify(ogcApiDocument(baseUrl(req), await ogc.collections(), workSrid)));
  });

  route(r, {
    method: 'get', path: '/ogc/conformance', tags: ['ogc'], roles: 'public',
    summary: 'Conformance classes implemented', summary_zh: '符合性类别',
    query: FOnly, response: z.object({ conformsTo: z.array(z.string()) }),
  }, (req, res) => {
    metadataQuery(req.query, 'the conformance classes');
    res.json({ conformsTo: CONFORMANCE });
  });

  route(r, {
    method: 'get', path: '/ogc/collections', tags: ['ogc'], roles: READERS,
    summary: 'Feature collections: survey, parcels, each reference layer', summary_zh: '要素集合列表',
    query: FOnly, response: Json,
  }, async (req, res) => {
    metadataQuery(req.query, 'the collections');
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
    const { collectionId } = CollectionParams.parse(req.params);
    const c = await ogc.collection(collectionId);
    metadataQuery(req.query, 'a collection');
    res.json(await collectionJson(req, c));
  });

  route(r, {
    method: 'get', path: '/ogc/collections/:collectionId/queryables', tags: ['ogc'], roles: READERS,
    summary: 'The property filters of a collection (JSON Schema)', summary_zh: '可筛选的属性',
    params: CollectionParams, query: FOnly, responseType: 'application/schema+json',
  }, async (req, res) => {
    const { collectionId } = CollectionParams.parse(req.params);
    const c = await ogc.collection(collectionId);
    metadataQuery(req.query, 'the queryables');
    const href = `${baseUrl(req)}/ogc/collections/${encodeURIComponent(c.name)}/queryables`;
    res.type('application/schema+json').send(JSON.stringify(queryablesDoc(c.kind, href, `${c.title_zh} / ${c.title_en}`)));
  });

  route(r, {
    method: 'get', path: '/ogc/collections/:collectionId/items', tags: ['ogc'], roles: READERS,
    summary: 'Features of a collection (GeoJSON): bbox, crs, property filters, keyset paging through next links',
    summary_zh: '要素列表（GeoJSON）',
    params: CollectionParams, query: ItemsQueryDoc, responseType: GEOJSON,
  }, async (req: Request, res: Response) => {
    const { collectionId } = CollectionParams.parse(req.params);
    const c = await ogc.collection(collectionId);
    const q = itemsQuery(req.query, c, workSrid);
    const first = req.query.cursor === undefined;
    const page = await ogc.items(c, caller(req), {
      limit: q.limit, after: q.after, bbox: q.bbox, bboxCrs: q.bboxCrs, crs: q.crs, filters: q.filters,
      importedFrom: q.importedFrom, importedTo: q.importedTo, count: first,
    });
    const items = `${baseUrl(req)}/ogc/collections/${encodeURIComponent(c.name)}/items`;
    const links = [
      { href: `${items}${qs({ ...q.echo, cursor: first ? undefined : q.after })}`, rel: 'self', type: GEOJSON, title: 'this document' },
      { href: `${baseUrl(req)}/ogc/collections/${encodeURIComponent(c.name)}`, rel: 'collection', type: 'application/json', title: 'the collection' },
      // the cursor is the last id served: the next page starts after it (issue 17 item 6)
      ...(page.next !== undefined ? [{ href: `${items}${qs({ ...q.echo, cursor: page.next })}`, rel: 'next', type: GEOJSON, title: 'next page' }] : []),
    ];
    res.set('Content-Crs', contentCrs(q.crs));
    res.type(GEOJSON).send(
      `{"type":"FeatureCollection","timeStamp":${JSON.stringify(new Date().toISOString())},` +
      (page.matched !== undefined ? `"numberMatched":${page.matched},` : '') +
      `"numberReturned":${page.returned},"links":${JSON.stringify(links)},"features":[${page.features}]}`,
    );
  });

  route(r, {
    method: 'get', path: '/ogc/collections/:collectionId/items/:featureId', tags: ['ogc'], roles: READERS,
    summary: 'One feature (GeoJSON; crs as for the items)', summary_zh: '单个要素',
    params: FeatureParams, query: z.object({ f: F, crs: z.string().optional() }), responseType: GEOJSON,
  }, async (req, res) => {
    const { collectionId, featureId } = FeatureParams.parse(req.params);
    const c = await ogc.collection(collectionId);
    const { crs } = featureQuery(req.query, workSrid);
    const fid = /^\d{1,15}$/.test(featureId) ? Number(featureId) : NaN;
    if (!Number.isSafeInteger(fid)) throw notFound(`feature ${featureId}`);
    const page = await ogc.items(c, caller(req), { limit: 1, after: 0, fid, crs, count: false });
    if (!page.returned) throw notFound(`feature ${featureId}`);
    const base = `${baseUrl(req)}/ogc/collections/${encodeURIComponent(c.name)}`;
    const links = [
      { href: `${base}/items/${fid}${qs({ crs: req.query.crs })}`, rel: 'self', type: GEOJSON, title: 'this feature' },
      { href: base, rel: 'collection', type: 'application/json', title: 'the collection' },
    ];
    res.set('Content-Crs', contentCrs(crs));
    res.type(GEOJSON).send(`${page.features.slice(0, -1)},"links":${JSON.stringify(links)}}`);
  });

  // unknown /ogc paths answer the JSON error, like /api
  r.use('/ogc', httpNotFound);
  return r;
}
