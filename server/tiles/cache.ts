import { LRUCache } from 'lru-cache';

/** A finished tile: its ETag and bytes (null: the tile is empty, a 204). */
export interface CachedTile {
  etag: string;
  body: Uint8Array | null;
}

/** What an entry costs beside its bytes: the key string (UTF-16), the ETag, the object and the LRU's node. */
const ENTRY_OVERHEAD = 160;

/**
 * Finished tiles in memory, least recently used evicted first once their bytes pass the budget (issue 17
 * item 4). The key is everything the tile's rows depend on — layer, z/x/y, the data version of its table and
 * of the catalog, the caller's village scope, removed polygons shown (TileService.keyOf, the same string the
 * ETag hashes) — so a decision, which bumps the version, simply makes the old entries unreachable; they age
 * out. lru-cache rather than a Map of our own: its byte accounting (maxSize + sizeCalculation) and O(1)
 * eviction are what a budget needs, and it is the most used and maintained LRU on npm.
 */
export class TileCache {
  private readonly lru: LRUCache<string, CachedTile>;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number) {
    this.lru = new LRUCache<string, CachedTile>({
      maxSize: maxBytes,
      sizeCalculation: (v, k) => (v.body?.byteLength ?? 0) + 2 * k.length + 2 * v.etag.length + ENTRY_OVERHEAD,
    });
  }

  get(key: string): CachedTile | undefined {
    const v = this.lru.get(key);
    if (v) this.hits++;
    else this.misses++;
    return v;
  }

  /** A tile larger than the whole budget is not kept (lru-cache refuses it: maxEntrySize = maxSize). */
  set(key: string, tile: CachedTile): void {
    // a small bytea comes back as a view of node's shared 8 KB pool: keep a copy, or the budget would count
    // a few hundred bytes and hold the whole slab. `new Uint8Array(view)` copies into a buffer of its own
    // (Buffer#slice, like Buffer.from, would give a view or a pooled copy again).
    const b = tile.body;
    this.lru.set(key, b && b.buffer.byteLength > b.byteLength ? { ...tile, body: new Uint8Array(b) } : tile);
  }

  /** bytes held, as counted against the budget */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  get entries(): number {
    return this.lru.size;
  }

  clear(): void {
    this.lru.clear();
  }
}

/** `TUBAN_TILE_CACHE_MB` → a cache, or none when it is 0. */
export const tileCacheOf = (bytes: number) => (bytes > 0 ? new TileCache(bytes) : undefined);
