import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../db/types';
import { AppError } from '../errors';
import { buildCatalog, workCrsBox, WORLD_BOX, type Catalog, type LayerRow, type LonLatBox, type TileLayer } from './catalog';
import { encoderFor, featureCount, type TileEncoder } from './encoder';
import { TileCache } from './cache';
import { META } from './queries';
import { epochsOf, type EpochCache, type Epochs } from './epochs';
import { BUFFER, intersectBox, isValidTile, pixelGroundMetres, tileLonLatBounds, type TileCoord } from './tile-math';

/** Bump when the content of tiles changes for the same data (columns, encoding): old ETags must not match. */
const TILE_FORMAT = 1;
/**
 * Most features in one tile, largest first (the smallest are dropped): ~80 bytes a feature keeps a tile near
 * the 500 KB budget; a tile still over it is made again with a cap scaled to fit.
 */
export const MAX_FEATURES = 6_000;
/** A tile over this is logged: the tile-size budget of issue 4. */
export const TILE_BUDGET_BYTES = 500 * 1024;

export interface TileRequest {
  layer: string;
  tile: TileCoord;
  /** villages the caller is limited to (undefined = all): survey tiles hold only those */
  villageScope?: string[];
  /** survey: also polygons absent from a later delivery */
  includeRemoved?: boolean;
  /** If-None-Match header */
  ifNoneMatch?: string;
}

export type TileResult =
  | { status: 304; etag: string }
  | { status: 204; etag: string }
  | { status: 200; etag: string; body: Uint8Array };

export interface TileServiceOptions {
  db: Db;
  regionCode: string;
  workSrid: number;
  log?: Logger;
  /** defaults to ST_AsMVT when the database has it, the JS encoder otherwise */
  encoder?: TileEncoder;
  /** finished tiles kept in memory (TUBAN_TILE_CACHE_MB); none: every tile is made again */
  cache?: TileCache;
}


/**
 * Vector tiles for every layer of the catalog, with ETags that change the moment the data does.
 * Per request: the data versions (tile_epoch; from memory while notifications vouch for them, else one tiny
 * query: tiles/epochs.ts), then — unless the client's copy is still current (304) or the tile is cached —
 * the tile query itself. The version is read BEFORE the tile, so a tile is never labelled newer than its
 * data (see migration 004).
 */
export class TileService {
  readonly encoder: TileEncoder;
  private catalog?: { epoch: number; value: Catalog };
  private catalogLoading?: Promise<Catalog>;
  private instance?: string;
  private domain?: LonLatBox;
  private extents = new Map<string, { epoch: number; bounds: LonLatBox | undefined }>();

  readonly cache?: TileCache;
  private readonly versions: EpochCache;

  constructor(private readonly o: TileServiceOptions) {
    this.encoder = o.encoder ?? encoderFor(o.db.hasMvt);
    this.cache = o.cache;
    this.versions = epochsOf(o.db);
  }

  private epochs(fresh = false): Promise<Epochs> {
    return this.versions.get(fresh);
  }

  /** The catalog as of `epochs.layer`; reloaded when the layer table changed. */
  private async catalogAt(epochs: Epochs): Promise<Catalog> {
    const e = epochs.layer ?? 0;
    if (this.catalog && this.catalog.epoch === e) return this.catalog.value;
    this.catalogLoading ??= (async () => {
      try {
        const [rows, inst, crs] = await Promise.all([
          this.o.db.query<LayerRow>(META.catalog),
          this.instance ? undefined : this.o.db.query<{ value: string }>(META.instance),
          this.domain ? undefined : this.o.db.query<{ proj4text: string }>(META.workCrs, [this.o.workSrid]),
        ]);
        if (inst) this.instance = inst.rows[0]?.value ?? 'none';
        if (crs) this.domain = workCrsBox(crs.rows[0]?.proj4text);
        const value = buildCatalog(rows.rows);
        if (value.shadowed.length) {
          this.o.log?.warn({ layers: value.shadowed }, 'custom layers named like a built-in tile layer are not served as tiles');
        }
        this.catalog = { epoch: e, value };
        return value;
      } finally {
        this.catalogLoading = undefined;
      }
    })();
    return this.catalogLoading;
  }

  async layers(): Promise<TileLayer[]> {
    return (await this.catalogAt(await this.epochs())).layers;
  }

  async layer(name: string): Promise<TileLayer> {
    const l = (await this.catalogAt(await this.epochs())).byName.get(name) ?? (await this.latestLayer(name)).layer;
    if (!l) throw unknownLayer(name);
    return l;
  }

  /**
   * A layer the catalog in hand does not know, looked up again with the versions read from the database: it may
   * have been created by another process whose NOTIFY has not reached us yet (tiles/epochs.ts). Only ever on
   * the way to a 404.
   */
  private async latestLayer(name: string): Promise<{ layer?: TileLayer; epochs: Epochs }> {
    const epochs = await this.epochs(true);
    return { layer: (await this.catalogAt(epochs)).byName.get(name), epochs };
  }

  async tile(req: TileRequest): Promise<TileResult> {
    const { tile } = req;
    if (!isValidTile(tile)) {
      throw new AppError('invalid_tile', `No tile ${tile.z}/${tile.x}/${tile.y}`, `瓦片坐标无效：${tile.z}/${tile.x}/${tile.y}`, 400);
    }
    // The data versions must be read no later than the tile (never label old data with a new version).
    // ST_AsMVT reads them in the tile statement itself; otherwise, to answer If-None-Match, or to look the
    // tile up in the cache (whose key holds them), read them first.
    const inline = this.encoder.readsEpochs;
    const cache = this.cache;
    let epochs: Epochs | undefined = !inline || req.ifNoneMatch || !this.catalog || cache ? await this.epochs() : undefined;
    for (let attempt = 0; ; attempt++) {
      const catalog = epochs ? await this.catalogAt(epochs) : this.catalog!.value;
      let layer = catalog.byName.get(req.layer);
      if (!layer) ({ layer, epochs } = await this.latestLayer(req.layer));
      if (!layer) throw unknownLayer(req.layer);
      // only survey tiles depend on the caller's villages (other layers are the same for everyone)
      const scope = layer.kind === 'survey' && req.villageScope ? [...req.villageScope].sort() : undefined;
      const includeRemoved = layer.kind === 'survey' && !!req.includeRemoved;
      const keyOf = (e: Epochs) => this.keyOf(layer, e, tile, scope, includeRemoved);
      const tagOf = (e: Epochs) => etagOf(keyOf(e));
      if (epochs && req.ifNoneMatch && matches(req.ifNoneMatch, tagOf(epochs))) return { status: 304, etag: tagOf(epochs) };
      const hit = cache && epochs ? cache.get(keyOf(epochs)) : undefined;
      if (hit) return hit.body ? { status: 200, etag: hit.etag, body: hit.body } : { status: 204, etag: hit.etag };

      const box = intersectBox(tileLonLatBounds(tile, BUFFER), this.domain ?? WORLD_BOX);
      if (tile.z < layer.minzoom || !box) {
        epochs ??= await this.epochs();
        return { status: 204, etag: tagOf(epochs) };
      }
      const out = await this.render(layer, tile, box, scope, includeRemoved);
      const seen = out.epochs ?? epochs!;
      if (!epochs && (seen.layer ?? 0) !== this.catalog!.epoch && attempt === 0) {
        // the layer table changed under the cached catalog: do it again with the new one
        epochs = seen;
        continue;
      }
      // filed under the versions the tile statement itself saw (newer than `epochs` if a write came between)
      const key = keyOf(seen);
      const etag = etagOf(key);
      cache?.set(key, { etag, body: out.bytes.byteLength ? out.bytes : null });
      return out.bytes.byteLength ? { status: 200, etag, body: out.bytes } : { status: 204, etag };
    }
  }

  /** Encodes one tile within the size budget: over it, again with fewer (the smallest dropped) features. */
  private async render(layer: TileLayer, tile: TileCoord, box: LonLatBox, scope: string[] | undefined, includeRemoved: boolean) {
    // one pixel of the tile, in ground m²: smaller features are invisible at this zoom
    const minArea = pixelGroundMetres(tile) ** 2;
    const shared = [tile.z, tile.x, tile.y, ...box, Math.max((box[2] - box[0]) / 8, 1e-6), this.o.workSrid, this.o.regionCode];
    const kindParams = (limit: number) =>
      layer.kind === 'survey'
        ? [includeRemoved, scope ?? null, minArea, limit]
        : layer.kind === 'parcels'
          ? [minArea, limit]
          : [layer.layerId, minArea, limit];
    let limit = MAX_FEATURES;
    for (let attempt = 0; ; attempt++) {
      const out = await this.encode(layer, tile, [...shared, ...kindParams(limit)]);
      const size = out.bytes.byteLength;
      if (size <= TILE_BUDGET_BYTES) return out;
      if (attempt === 2) {
        this.o.log?.warn({ layer: layer.name, ...tile, bytes: size }, 'vector tile over the 500 KB budget');
        return out;
      }
      limit = Math.floor(featureCount(out.bytes) * (TILE_BUDGET_BYTES / size) * 0.9);
      this.o.log?.info({ layer: layer.name, ...tile, bytes: size, limit }, 'tile over budget: fewer features');
    }
  }

  private async encode(layer: TileLayer, tile: TileCoord, params: unknown[]) {
    try {
      return await this.encoder.encode(this.o.db, layer, tile, params);
    } catch (e) {
      // statement_timeout (PostgreSQL): the server is busy or the tile is unreasonable; the map retries later
      if ((e as { code?: string }).code === '57014') {
        throw new AppError('tile_timeout', 'The tile took too long; try again', '瓦片生成超时，请稍后重试', 503);
      }
      throw e;
    }
  }

  /**
   * Everything a tile's content depends on: the database instance, the data version of the layer's table and
   * of the catalog, the tile, and whatever else selects rows (the caller's village scope, removed polygons
   * shown). The cache's key, and what the ETag hashes.
   */
  private keyOf(layer: TileLayer, epochs: Epochs, t: TileCoord, scope: string[] | undefined, includeRemoved: boolean): string {
    return [
      TILE_FORMAT, this.instance, this.o.regionCode, layer.name, layer.layerId,
      epochs[layer.source] ?? 0, epochs.layer ?? 0, t.z, t.x, t.y,
      scope ? scope.join('\u0001') : '*', includeRemoved ? 1 : 0,
    ].join('\u0000');
  }

  /** lon/lat bounds of the layer's data, cached until its table changes. */
  async bounds(layer: TileLayer): Promise<LonLatBox | undefined> {
    const epoch = (await this.epochs())[layer.source] ?? 0;
    const cached = this.extents.get(layer.name);
    if (cached && cached.epoch === epoch) return cached.bounds;
    const params: unknown[] = [this.o.regionCode, this.o.workSrid];
    if (layer.kind === 'features') params.push(layer.layerId);
    const r = await this.o.db.query<{ west: number; south: number; east: number; north: number }>(META.extent[layer.kind], params);
    const b = r.rows[0];
    const bounds: LonLatBox | undefined = b ? [b.west, b.south, b.east, b.north].map((v) => Math.round(v * 1e6) / 1e6) as LonLatBox : undefined;
    this.extents.set(layer.name, { epoch, bounds });
    return bounds;
  }

  /** TileJSON 3.0.0 for one layer. `tilesUrl` is the URL template up to the layer name, e.g. https://host/tiles */
  async tileJson(name: string, tilesUrl: string, query = ''): Promise<Record<string, unknown>> {
    const layer = await this.layer(name);
    const bounds = (await this.bounds(layer)) ?? WORLD_BOX;
    const center = [
      Math.round(((bounds[0] + bounds[2]) / 2) * 1e6) / 1e6,
      Math.round(((bounds[1] + bounds[3]) / 2) * 1e6) / 1e6,
      Math.max(layer.minzoom, 14),
    ];
    return {
      tilejson: '3.0.0',
      name: layer.name,
      description: `${layer.title_zh} / ${layer.title_en}`,
      version: '1.0.0',
      scheme: 'xyz',
      tiles: [`${tilesUrl}/${layer.name}/{z}/{x}/{y}.mvt${query}`],
      minzoom: layer.minzoom,
      maxzoom: layer.maxzoom,
      bounds,
      center,
      vector_layers: layer.sublayers.map((s) => ({
        id: s.name,
        description: s.geom === 'label' ? `${layer.title_zh} 标注点 / ${layer.title_en} label points` : `${layer.title_zh} / ${layer.title_en}`,
        minzoom: layer.minzoom,
        maxzoom: layer.maxzoom,
        fields: layer.fields,
      })),
    };
  }
}

/**
 * Weak ETag of a tile's key (the bytes of one version may differ between encoders or plans; the features do
 * not).
 */
function etagOf(key: string): string {
  return `W/"${createHash('sha1').update(key).digest('base64url').slice(0, 22)}"`;
}

function unknownLayer(name: string) {
  return new AppError('not_found', `No tile layer '${name}'`, `没有瓦片图层“${name}”`, 404);
}

/** If-None-Match: a list of (weak or strong) tags, or `*`; compared weakly (RFC 9110 §13.1.2). */
export function matches(header: string, etag: string): boolean {
  const opaque = (t: string) => t.trim().replace(/^W\//, '');
  const mine = opaque(etag);
  return header.split(',').some((t) => t.trim() === '*' || opaque(t) === mine);
}
