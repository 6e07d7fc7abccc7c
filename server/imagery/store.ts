/**
 * Where imported imagery lives: one row per layer in imagery_layer (both backends), its tiles as files under
 * <dataDir>/imagery/<id>/<z>/<x>/<y>.webp. One store per app: it remembers the current layer of each epoch
 * for a moment (a re-import in this process forgets at once; one in another process is seen within
 * LAYER_TTL_MS) and keeps recently served tiles in memory (lru-cache, byte-bounded like tiles/cache.ts).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { tilePath } from './pyramid';

export const SQL = sqlSet(new URL('./imagery.sql', import.meta.url), [
  'stage_layer', 'retire_current', 'make_current', 'drop_staged', 'stale_staged', 'known_ids', 'current_layers', 'work_extent', 'polygon_chip_geometry',
] as const);

export const EPOCHS = ['before', 'after'] as const;
export type Epoch = (typeof EPOCHS)[number];

export interface ImageryLayer {
  id: number;
  epoch: Epoch;
  acquired_on: string | null;
  date_source: 'option' | 'tiff' | null;
  source_name: string;
  crs: string;
  width_px: number;
  height_px: number;
  resolution_m: number;
  west: number;
  south: number;
  east: number;
  north: number;
  minzoom: number;
  maxzoom: number;
  tiles: number;
  bytes: number;
  created_at: string;
}

const LAYER_TTL_MS = 2000;
const TILE_CACHE_BYTES = 64 * 1024 * 1024;

export const imageryRoot = (dataDir: string) => path.join(dataDir, 'imagery');
export const layerDir = (dataDir: string, id: number) => path.join(imageryRoot(dataDir), String(id));

export class ImageryStore {
  private layers?: { at: number; byEpoch: Map<Epoch, ImageryLayer> };
  private readonly tiles = new LRUCache<string, Buffer | 'none'>({
    maxSize: TILE_CACHE_BYTES,
    sizeCalculation: (v, k) => (v === 'none' ? 0 : v.byteLength) + 2 * k.length + 100,
  });

  constructor(readonly db: Queryable, readonly regionCode: string, readonly dataDir: string) {}

  /** the current layer of each epoch (remembered for LAYER_TTL_MS) */
  async current(): Promise<Map<Epoch, ImageryLayer>> {
    if (this.layers && Date.now() - this.layers.at < LAYER_TTL_MS) return this.layers.byEpoch;
    const r = await this.db.query<ImageryLayer>(SQL.current_layers, [this.regionCode]);
    const byEpoch = new Map(r.rows.map((l) => [l.epoch, { ...l, id: Number(l.id), tiles: Number(l.tiles), bytes: Number(l.bytes), resolution_m: Number(l.resolution_m) }] as const));
    this.layers = { at: Date.now(), byEpoch };
    return byEpoch;
  }

  async layer(epoch: Epoch): Promise<ImageryLayer | undefined> {
    return (await this.current()).get(epoch);
  }

  /** a re-import or a removal in this process: seen by the next request */
  forget(): void {
    this.layers = undefined;
  }

  /** a tile of a layer: its bytes, or null outside the layer's coverage */
  async tileOf(layer: Pick<ImageryLayer, 'id' | 'minzoom' | 'maxzoom'>, z: number, x: number, y: number): Promise<Buffer | null> {
    if (z < layer.minzoom || z > layer.maxzoom) return null;
    const key = `${layer.id}/${z}/${x}/${y}`;
    const hit = this.tiles.get(key);
    if (hit) return hit === 'none' ? null : hit;
    const bytes = await readFile(tilePath(layerDir(this.dataDir, layer.id), z, x, y)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    this.tiles.set(key, bytes ?? 'none');
    return bytes;
  }
}

/** `readImageryTile(store, 'after', z, x, y)`: the current layer's tile, or null (no layer, or outside it). */
export async function readImageryTile(store: ImageryStore, epoch: Epoch, z: number, x: number, y: number): Promise<Buffer | null> {
  const layer = await store.layer(epoch);
  return layer ? store.tileOf(layer, z, x, y) : null;
}
