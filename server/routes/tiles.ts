import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import { villageScope } from '../auth/guard';
import { hashToken, sessionToken } from '../auth/session';
import { cachedSession } from '../auth/session-cache';
import { linkTokenOf } from '../field/link-auth';
import { route, type RouteSpec } from '../http/openapi';
import { TileService, type TileResult } from '../tiles/service';
import { isValidTile } from '../tiles/tile-math';

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
  new TileService({ db: ctx.db, regionCode: ctx.config.regionCode, workSrid: ctx.config.workSrid, log: ctx.log });

function sendTile(res: Response, out: TileResult) {
  res.set({ ETag: out.etag, 'Cache-Control': CACHE });
  if (out.status === 200) {
    res.status(200).type(MVT).set('Content-Length', String(out.body.byteLength)).end(out.body);
  } else {
    res.status(out.status).end();
  }
}

/** `/tiles/{layer}/{z}/{x}/{y}` with an optional .mvt/.pbf, and the query string */
const TILE_URL = /^\/tiles\/([a-z][a-z0-9_]{0,39})\/(\d{1,2})\/(\d{1,10})\/(\d{1,10})(?:\.(?:mvt|pbf))?(?:\?(.*))?$/;
let fastServed = 0;
/** how many tiles the fast path answered (tests: that it is the one answering) */
export const fastPathServed = () => fastServed;

/**
 * The hot path of a map view, mounted before everything else (request logger, JSON parser, session
 * middleware, routers): a tile for a browser whose session this process looked up a moment ago
 * (auth/session-cache.ts, the same remembered lookups and security bound the session middleware uses for
 * tiles). A view asks for dozens of tiles at once, and on a small tile (1–3 ms of database time) that chain
 * was a third of the answer. It serves only that case; everything else — no or unknown session, a field
 * link, a password to change, a role that may not read tiles, coordinates out of range, a query it does not
 * know — goes on to the full chain, which answers exactly as the routes below do. Errors too: a failed tile
 * goes to the error handler.
 */
export function tileFastPath(ctx: AppContext, tiles: TileService): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const m = TILE_URL.exec(req.url);
    if (!m || linkTokenOf(req)) return next();
    let includeRemoved = false;
    if (m[5]) {
      const q = new URLSearchParams(m[5]);
      for (const k of q.keys()) if (k !== 'include_removed') return next();
      const v = q.get('include_removed');
      if (v !== null && !TileQuery.shape.include_removed.safeParse(v).success) return next();
      includeRemoved = v === '1' || v === 'true';
    }
    const t = sessionToken(req);
    const s = t && cachedSession(ctx.db, hashToken(t.token));
    if (!s || s.must_change_password || !(READERS as readonly string[]).includes(s.role)) return next();
    const tile = { z: Number(m[2]), x: Number(m[3]), y: Number(m[4]) };
    if (!isValidTile(tile)) return next();
    tiles.tile({
      layer: m[1],
      tile,
      villageScope: s.villages ?? undefined,
      includeRemoved,
      ifNoneMatch: req.headers['if-none-match'],
    }).then((out) => {
      fastServed++;
      sendTile(res, out);
      if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ url: req.url, status: out.status, user: s.username }, 'tile');
    }, (e: unknown) => {
      // answered by the error handler like any other route; the request logger never saw this request
      (req as { log?: unknown }).log ??= ctx.log;
      next(e);
    });
  };
}

/**
 * Vector tiles (MVT) of every layer: survey polygons, parcels, frontage, villages (+ label points), schools,
 * compounds, green space and custom layers, with TileJSON. Thin: parse → TileService → respond.
 */
export function tileRoutes(ctx: AppContext, tiles = tileServiceFor(ctx)) {
  const r = Router();

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
