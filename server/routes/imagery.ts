import type { Request, Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import { AppError } from '../errors';
import { router } from '../http/canonical-path';
import { route, type RouteSpec } from '../http/openapi';
import { int4PositiveParam } from '../http/schemas';
import { accessOf } from '../field/access';
import { assertVisible } from '../field/polygons';
import { renderChip, type ChipGeometry } from '../imagery/chips';
import { validTile } from '../imagery/mercator';
import { EPOCHS, ImageryStore, SQL, type Epoch } from '../imagery/store';

const READERS = ['admin', 'analyst', 'reviewer', 'field'] as const;
const WEBP = 'image/webp';
/** the tiles of one import never change: a URL naming it (?v=<import id>) is cached for good */
const IMMUTABLE = 'private, max-age=31536000, immutable';
const REVALIDATE = 'private, no-cache';

const Epoch = z.enum(EPOCHS);
const TileParams = z.object({
  epoch: Epoch,
  z: z.coerce.number().int().min(0).max(24),
  x: z.coerce.number().int().min(0),
  // `/…/{y}` and `/…/{y}.webp` are the same tile
  y: z.string().regex(/^\d{1,10}(\.webp)?$/, 'y: a tile row, optionally with .webp').transform((s) => Number.parseInt(s, 10)),
});
const TileQuery = z.object({ v: int4PositiveParam().optional().describe('the import id, from the map config: the URL of one import, cached for good') });

export const noImagery = (epoch: string) =>
  new AppError('imagery_missing', `No imagery imported for the ${epoch} epoch`, `尚未导入${epoch === 'before' ? '前' : '后'}时相影像`, 404, { epoch });

/** One store per app (its caches are shared by the tile and chip routes and the map config). */
const stores = new WeakMap<AppContext, ImageryStore>();
export function imageryStoreOf(ctx: AppContext): ImageryStore {
  let s = stores.get(ctx);
  if (!s) stores.set(ctx, (s = new ImageryStore(ctx.db, ctx.config.regionCode, ctx.config.dataDir)));
  return s;
}

/**
 * Imported imagery (issue 15 items 2 and 4): its web-mercator tiles, and a chip per polygon. Tiles are
 * read by every reader role, like the vector tiles; imagery is not limited by village (it shows land, not
 * decisions). A chip is served to whoever may read its polygon, a field-link holder included.
 */
export function imageryRoutes(ctx: AppContext) {
  const r = router();
  const store = imageryStoreOf(ctx);
  const region = ctx.config.regionCode;

  const tile = async (req: Request, res: Response) => {
    const p = TileParams.parse(req.params);
    const q = TileQuery.parse(req.query);
    if (!validTile(p.z, p.x, p.y)) {
      throw new AppError('invalid_input', `No tile ${p.z}/${p.x}/${p.y}: x and y must be below 2^z`, `瓦片 ${p.z}/${p.x}/${p.y} 不存在：x、y 须小于 2^z`, 400);
    }
    const layer = await store.layer(p.epoch);
    if (!layer) throw noImagery(p.epoch);
    const etag = `"img-${layer.id}-${p.z}-${p.x}-${p.y}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', q.v === layer.id ? IMMUTABLE : REVALIDATE);
    if (req.get('if-none-match') === etag) return res.status(304).end();
    const body = await store.tileOf(layer, p.z, p.x, p.y);
    if (!body) return res.status(204).end();
    res.status(200).type(WEBP).setHeader('Content-Length', body.byteLength);
    res.end(body);
  };
  const tileSpec: Omit<RouteSpec, 'path'> = {
    method: 'get', tags: ['tiles'], roles: READERS, query: TileQuery, params: TileParams.extend({ y: z.string() }),
    summary: 'Imported imagery tile (WebP, 256 px, transparent outside the image); 204 outside coverage, 404 when the epoch has no imagery',
    summary_zh: '导入影像瓦片（WebP）；范围外 204，未导入该时相时 404',
    description: 'With ?v=<import id> (as the map config gives it) the tile is cached for a year: a re-import changes the id.',
    responseType: WEBP,
    example: { params: { epoch: 'after', z: '17', x: '104092', y: '54328' } },
  };
  route(r, { ...tileSpec, path: '/tiles/imagery/:epoch/:z/:x/:y.webp' }, tile);
  route(r, { ...tileSpec, path: '/tiles/imagery/:epoch/:z/:x/:y' }, tile);

  route(r, {
    method: 'get', path: '/api/polygons/:id/chips/:epoch', tags: ['imagery'], roles: READERS,
    summary: 'Image chip of a polygon: a 320 × 240 WebP crop of the epoch\'s imagery with the outline drawn; 404 without imagery',
    summary_zh: '图斑影像切片（前/后时相，320×240 WebP，含图斑轮廓）',
    description: 'Also served to a field-link holder for the link\'s polygons. ETag: the import and the polygon geometry.',
    params: z.object({ id: int4PositiveParam(), epoch: Epoch }), responseType: WEBP,
    example: { params: { id: '1', epoch: 'after' } },
  }, async (req, res) => {
    const { id, epoch } = z.object({ id: int4PositiveParam(), epoch: Epoch }).parse(req.params);
    await assertVisible(ctx.db, region, id, accessOf(req));
    const layer = await store.layer(epoch as Epoch);
    if (!layer) throw noImagery(epoch);
    const g = (await ctx.db.query<ChipGeometry>(SQL.polygon_chip_geometry, [region, id])).rows[0];
    if (!g) throw new AppError('not_found', `No polygon ${id}`, `没有图斑 ${id}`, 404);
    const chip = await renderChip(store, layer, id, { ...g, xmin: Number(g.xmin), ymin: Number(g.ymin), xmax: Number(g.xmax), ymax: Number(g.ymax) });
    res.setHeader('ETag', chip.etag);
    res.setHeader('Cache-Control', REVALIDATE);
    if (req.get('if-none-match') === chip.etag) return res.status(304).end();
    res.status(200).type(WEBP).setHeader('Content-Length', chip.body.byteLength);
    res.end(chip.body);
  });
  return r;
}
