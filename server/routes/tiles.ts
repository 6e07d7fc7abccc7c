import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Request, type Response } from 'express';
import { router } from '../http/canonical-path';
import { z } from 'zod';
import type { AppContext } from '../context';
import { AppError } from '../errors';
import { villageScope } from '../auth/guard';
import { rememberedSession } from '../auth/session';
import { linkTokenOf } from '../field/link-auth';
import { toAppError } from '../http/errors';
import { route, type RouteSpec } from '../http/openapi';
import { TileService, type TileResult } from '../tiles/service';
import { tileCacheOf } from '../tiles/cache';

const READERS = ['admin', 'analyst', 'reviewer', 'field'] as const;
const LayerName = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'layer name: lower-case letters, digits, _');
const TileParams = z.object({
  layer: LayerName,
  z: z.coerce.number().int().min(0).max(30),
  x: z.coerce.number().int().min(0),
  // `/…/{y}` and `/…/{y}.mvt` (or .pbf) are the same tile
  y: z.string().regex(/^\d{1,10}(\.(mvt|pbf))?$/, 'y: a tile row, optionally with .mvt').transform((s) => Number.parseInt(s, 10)),
});
export const TileQuery = z.object({
  include_removed: z.enum(['0', '1', 'true', 'false']).optional()
    .describe('survey: also polygons absent from a later delivery (default: hidden)'),
});

const MVT = 'application/vnd.mapbox-vector-tile';
/**
 * Always revalidate (If-None-Match → 304 costs one tiny query): a decision shows on the next request, and a
 * browser never paints a tile it kept from before. `private`: survey tiles depend on the caller's villages.
 */
const CACHE = 'private, no-cache';

const TileJsonOut = z.object({
  tilejson: z.literal('3.0.0'),
  name: z.string(),
  tiles: z.array(z.string()),
  minzoom: z.number().int(),
  maxzoom: z.number().int(),
  bounds: z.array(z.number()).length(4),
  vector_layers: z.array(z.object({ id: z.string(), fields: z.record(z.string(), z.string()) })),
});

/** Base of the tile URLs as the client reached us (`trust proxy` covers a loopback reverse proxy). */
const tilesBase = (req: Request) => `${req.protocol}://${req.get('host')}/tiles`;

/** One service per app: the tile routes and the fast path share its catalog and caches. */
export const tileServiceFor = (ctx: AppContext) =>
  new TileService({
    db: ctx.db, regionCode: ctx.config.regionCode, workSrid: ctx.config.workSrid, log: ctx.log, cache: tileCacheOf(ctx.config.tileCacheBytes),
  });

/** Plain node calls, not express's helpers: the fast path answers before express has dressed `res`. */
function sendTile(res: ServerResponse, out: TileResult) {
  res.statusCode = out.status;
  res.setHeader('ETag', out.etag);
  res.setHeader('Cache-Control', CACHE);
  if (out.status === 200) {
    res.setHeader('Content-Type', MVT);
    res.setHeader('Content-Length', out.body.byteLength);
    res.end(out.body);
  } else {
    res.end();
  }
}

/** `/tiles/{layer}/{z}/{x}/{y}` with an optional .mvt/.pbf, and the query string */
const TILE_URL = /^\/tiles\/([a-z][a-z0-9_]{0,39})\/(\d{1,2})\/(\d{1,10})\/(\d{1,10})(?:\.(?:mvt|pbf))?(?:\?(.*))?$/;
let fastServed = 0;
/** how many tiles the fast path answered (tests and the benchmark: that it is the one answering) */
export const fastPathServed = () => fastServed;

/**
 * The hot path of a map view, tried before express dispatches the request at all (app.ts): a tile for a
 * browser whose session this process looked up a moment ago (auth/session-cache.ts: the same remembered
 * lookups, and so the same security bound, the session middleware uses for tiles). A view asks for dozens
 * of tiles at once, and on a small tile (1–3 ms of database time) express, the request logger and the
 * routers in front were a third of the answer. It serves only that case and returns true; for everything
 * else — no or unknown session, a field link, a password to change, a role that may not read tiles, a
 * query parameter it does not know or a value it does not parse — it returns false without touching the
 * request, and express answers exactly as the routes below do. A tile the service refuses (coordinates out
 * of range, an unknown layer) or fails on is answered like the error handler would (http/errors.ts); a
 * failure is logged.
 */
export function tileFastPath(ctx: AppContext, tiles: TileService): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !req.url?.startsWith('/tiles/')) return false;
    const m = TILE_URL.exec(req.url);
    if (!m || linkTokenOf(req)) return false;
    let includeRemoved = false;
    if (m[5]) {
      const q = new URLSearchParams(m[5]);
      for (const k of q.keys()) if (k !== 'include_removed') return false;
      const v = q.get('include_removed');
      if (v !== null && !TileQuery.shape.include_removed.safeParse(v).success) return false;
      includeRemoved = v === '1' || v === 'true';
    }
    const s = rememberedSession(ctx.db, req);
    if (!s || s.must_change_password || !(READERS as readonly string[]).includes(s.role)) return false;
    const tile = { z: Number(m[2]), x: Number(m[3]), y: Number(m[4]) };
    const ifNoneMatch = req.headers['if-none-match'];
    tiles.tile({ layer: m[1], tile, villageScope: s.villages ?? undefined, includeRemoved, ifNoneMatch }).then((out) => {
      fastServed++;
      sendTile(res, out);
      if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ url: req.url, status: out.status, user: s.username }, 'tile');
    }, (err: unknown) => {
      const known = toAppError(err);
      const e = known ?? new AppError('internal', 'Internal error', '服务器内部错误', 500);
      if (!known) ctx.log.error({ err, url: req.url, user: s.username }, 'unhandled error');
      res.statusCode = e.status;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ error: e.toJSON() }));
    });
    return true;
  };
}

/**
 * Vector tiles (MVT) of every layer: survey polygons, parcels, frontage, villages (+ label points), schools,
 * compounds, green space and custom layers, with TileJSON. Thin: parse → TileService → respond.
 */
export function tileRoutes(ctx: AppContext, tiles = tileServiceFor(ctx)) {
  const r = router();

  route(r, {
    method: 'get', path: '/tiles', tags: ['tiles'], roles: READERS,
    summary: 'Vector tile layers', summary_zh: '矢量瓦片图层列表',
    response: z.object({ layers: z.array(z.object({ name: z.string(), tilejson: z.string(), tiles: z.string() }).loose()) }),
  }, async (req, res) => {
    const base = tilesBase(req);
    const layers = await tiles.layers();
    res.set('Cache-Control', CACHE).json({
      layers: layers.map((l) => ({
        name: l.name,
        layer: l.layerName,
        title_zh: l.title_zh,
        title_en: l.title_en,
        minzoom: l.minzoom,
        maxzoom: l.maxzoom,
        vector_layers: l.sublayers.map((s) => s.name),
        tilejson: `${base}/${l.name}.json`,
        tiles: `${base}/${l.name}/{z}/{x}/{y}.mvt`,
      })),
    });
  });

  route(r, {
    method: 'get', path: '/tiles/:layer.json', tags: ['tiles'], roles: READERS,
    summary: 'TileJSON 3.0 of a layer', summary_zh: '图层的 TileJSON',
    params: z.object({ layer: LayerName }), query: TileQuery, response: TileJsonOut,
    example: { params: { layer: 'survey' } },
  }, async (req, res) => {
    const { layer } = z.object({ layer: LayerName }).parse(req.params);
    const q = TileQuery.parse(req.query);
    const removed = q.include_removed === '1' || q.include_removed === 'true';
    res.set('Cache-Control', CACHE).json(await tiles.tileJson(layer, tilesBase(req), removed ? '?include_removed=1' : ''));
  });

  const tile = async (req: Request, res: Response) => {
    const p = TileParams.parse(req.params);
    const q = TileQuery.parse(req.query);
    const out = await tiles.tile({
      layer: p.layer,
      tile: { z: p.z, x: p.x, y: p.y },
      villageScope: villageScope(req),
      includeRemoved: q.include_removed === '1' || q.include_removed === 'true',
      ifNoneMatch: req.get('if-none-match'),
    });
    sendTile(res, out);
  };
  const tileSpec: Omit<RouteSpec, 'path'> = {
    method: 'get', tags: ['tiles'], roles: READERS, query: TileQuery,
    summary: 'Vector tile (MVT); 204 when empty, 304 when If-None-Match still matches',
    summary_zh: '矢量瓦片（MVT）；无要素时 204，未变化时 304',
    description: 'Survey tiles hold only the villages of a village-limited user and hide removed polygons unless include_removed=1.',
    responseType: MVT,
    example: { params: { layer: 'survey', z: '14', x: '13014', y: '6764' } },
  };
  route(r, { ...tileSpec, path: '/tiles/:layer/:z/:x/:y.mvt', params: TileParams.extend({ y: z.string() }) }, tile);
  route(r, { ...tileSpec, path: '/tiles/:layer/:z/:x/:y', params: TileParams.extend({ y: z.string() }) }, tile);
  return r;
}
