import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import type { TestApp, UserClient } from '../helpers/api';
import { TEST_REGION, TEST_WORK_SRID } from '../helpers/snapshot';
import { TileService } from '../../server/tiles/service';
import { TileCache, tileCacheOf } from '../../server/tiles/cache';
import type { TileCoord } from '../../server/tiles/tile-math';
import type { Db } from '../../server/db/types';
import { addCustomLayer, byCode, features, getTile, openTilesWorld, path } from './tiles-fixture';

/**
 * The tile cache and the data versions it is keyed by (issue 17 item 4): a repeat tile is the database's tile
 * byte for byte, a decision is seen on the next tile, the versions stay in memory only while notifications
 * vouch for them, village scopes never share a tile, the byte budget holds. Both backends.
 */
describeEachDb('vector tile cache', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let analyst: UserClient;
  let eastOnly: UserClient;
  let t16: TileCoord;
  let t14: TileCoord;
  let t12: TileCoord;
  const cache = new TileCache(64 * 1024 * 1024);

  beforeAll(async () => {
    db = await freshDb(backend);
    ({ app, analyst, eastOnly, t16, t14, t12 } = await openTilesWorld(db, cache));
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  it('answers a repeat tile from the cache, byte for byte the tile the database makes', async () => {
    const uncached = new TileService({ db, regionCode: TEST_REGION, workSrid: TEST_WORK_SRID });
    for (const [layer, t] of [['survey', t16], ['parcels', t16], ['villages', t14]] as const) {
      cache.clear();
      const misses = cache.misses;
      const cold = await getTile(app, analyst, path(layer, t));
      expect(cold.status, layer).toBe(200);
      expect(cache.misses, layer).toBe(misses + 1);
      expect(cache.entries, layer).toBe(1);
      const hits = cache.hits;
      const warm = await getTile(app, analyst, path(layer, t));
      expect(cache.hits, layer).toBe(hits + 1);
      expect(warm, layer).toEqual(cold);
      const direct = await uncached.tile({ layer, tile: t });
      expect(direct.status).toBe(200);
      expect(direct.etag, layer).toBe(cold.etag);
      expect(Buffer.from(warm.body).equals(Buffer.from((direct as { body: Uint8Array }).body)), layer).toBe(true);
    }
  });

  it('shows a decision on the next tile: the decision moves the data version, the cached tile is not served', async () => {
    const p = path('survey', t16);
    const before = await getTile(app, analyst, p);
    expect((await getTile(app, analyst, p)).etag).toBe(before.etag); // cached
    const tb1 = (await db.query<{ id: number; version: number; status: string }>(
      `SELECT id, version, status FROM survey_polygon WHERE code = 'TB1'`)).rows[0];
    expect(tb1.status).toBe('pending');
    const d = await analyst.post(`/api/polygons/${tb1.id}/decisions`, { action: 'verify', version: tb1.version, request_id: randomUUID() });
    expect(d.status, d.text).toBe(200);
    const misses = cache.misses;
    const after = await getTile(app, analyst, p);
    expect(cache.misses).toBe(misses + 1);
    expect(after.etag).not.toBe(before.etag);
    expect(byCode(features(after.body, 'survey')).get('TB1')!.properties.status).toBe('verified');
    const back = await analyst.post(`/api/polygons/${tb1.id}/decisions`, { action: 'reopen', version: tb1.version + 1, note: '测试', request_id: randomUUID() });
    expect(back.status, back.text).toBe(200);
    expect(byCode(features((await getTile(app, analyst, p)).body, 'survey')).get('TB1')!.properties.status).toBe('pending');
  });

  it('keeps the data versions in memory while notifications vouch for them: a repeat tile makes no query', async () => {
    let queries = 0;
    const counting: Db = {
      kind: db.kind, hasMvt: db.hasMvt, copyFrom: db.copyFrom, tx: db.tx, listen: db.listen, close: async () => undefined,
      query: (sql, params, o) => {
        queries++;
        return db.query(sql, params, o);
      },
    };
    const svc = new TileService({ db: counting, regionCode: TEST_REGION, workSrid: TEST_WORK_SRID, cache: new TileCache(1 << 24) });
    const req = { layer: 'survey', tile: t16 };
    const queriesOf = async () => {
      const n = queries;
      const out = await svc.tile(req);
      return { n: queries - n, etag: out.etag };
    };
    // once LISTEN is up, a repeat tile is answered from memory alone
    await expect.poll(async () => (await queriesOf()).n, { timeout: 5000 }).toBe(0);
    const before = (await queriesOf()).etag;
    // a write by another connection (not through this app): its NOTIFY makes the versions be read again
    // (well before the 5 s a remembered value may live)
    await db.query(`UPDATE survey_polygon SET priority = priority WHERE code = 'TB2'`);
    await expect.poll(async () => (await queriesOf()).etag, { timeout: 3000, interval: 20 }).not.toBe(before);
    await expect.poll(async () => (await queriesOf()).n, { timeout: 5000 }).toBe(0);
  });

  it('serves a layer another process just created, before its NOTIFY arrives: an unknown layer reads the versions again before a 404', async () => {
    // a listener that is up but whose notifications are late (here: never delivered)
    const deaf: Db = {
      kind: db.kind, hasMvt: db.hasMvt, copyFrom: db.copyFrom, tx: db.tx, query: db.query, close: async () => undefined,
      listen: async (_channel, subscriber) => {
        subscriber.live(true);
        return () => undefined;
      },
    };
    const svc = new TileService({ db: deaf, regionCode: TEST_REGION, workSrid: TEST_WORK_SRID, cache: new TileCache(1 << 24) });
    await svc.tile({ layer: 'survey', tile: t16 }); // the versions are now remembered and trusted
    await addCustomLayer(db, 'canal', '水渠', 'Canals', '东干渠');
    expect((await svc.layer('canal')).name).toBe('canal');
    const out = await svc.tile({ layer: 'canal', tile: t16 });
    expect(out.status).toBe(200);
    expect(features((out as { body: Uint8Array }).body, 'canal').map((f) => f.properties.name)).toEqual(['东干渠']);
    await expect(svc.tile({ layer: 'nosuch', tile: t16 })).rejects.toMatchObject({ status: 404 });
  });

  it('keeps its own copy of a tile whose bytes are a view of a shared buffer', () => {
    const c = new TileCache(1 << 20);
    const slab = Buffer.alloc(8192, 7); // what pg hands back: a Buffer (whose slice() is a view, not a copy)
    c.set('k', { etag: '"e"', body: slab.subarray(100, 200) });
    slab.fill(0);
    const got = c.get('k')!.body!;
    expect(got.byteLength).toBe(100);
    expect(got.buffer.byteLength).toBe(100);
    expect([...got].every((x) => x === 7)).toBe(true);
  });

  it('shows every decision on the tile asked for right after it (read your writes, twenty in a row)', async () => {
    const p = path('survey', t16);
    const tb2 = (await db.query<{ id: number; version: number }>(`SELECT id, version FROM survey_polygon WHERE code = 'TB2'`)).rows[0];
    let version = tb2.version;
    for (let i = 0; i < 20; i++) {
      const verify = i % 2 === 0;
      const d = await analyst.post(`/api/polygons/${tb2.id}/decisions`,
        verify ? { action: 'verify', version, request_id: randomUUID() } : { action: 'reopen', version, note: '测试', request_id: randomUUID() });
      expect(d.status, d.text).toBe(200);
      version++;
      const status = byCode(features((await getTile(app, analyst, p)).body, 'survey')).get('TB2')!.properties.status;
      expect(status, `round ${i}`).toBe(verify ? 'verified' : 'pending');
    }
  });

  if (backend === 'postgres') {
    it('listens again after its connection is killed, and meanwhile reads the versions every time', async () => {
      const svc = new TileService({ db, regionCode: TEST_REGION, workSrid: TEST_WORK_SRID, cache: new TileCache(1 << 24) });
      const req = { layer: 'survey', tile: t16 };
      await svc.tile(req);
      const listeners = async () => (await db.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`)).rows.map((r) => r.pid);
      await expect.poll(listeners, { timeout: 5000 }).not.toEqual([]);
      const old = await listeners();
      await db.query(`SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid`, [old]);
      await expect.poll(async () => (await listeners()).some((p) => !old.includes(p)), { timeout: 10_000 }).toBe(true);
      const before = (await svc.tile(req)).etag;
      await db.query(`UPDATE survey_polygon SET priority = priority WHERE code = 'TB2'`);
      await expect.poll(async () => (await svc.tile(req)).etag, { timeout: 3000, interval: 20 }).not.toBe(before);
    });
  }

  it('never hands one village scope the cached tile of another', async () => {
    const westOnly = await app.as('field', { villages: ['西村'] });
    const alsoEast = await app.as('reviewer', { villages: ['东村'] });
    const p = path('survey', t14);
    cache.clear();
    // each order, twice: whoever asked first, the others get their own tile
    for (const round of [0, 1]) {
      for (const [who, codes] of [[eastOnly, ['TB1']], [analyst, ['TB1', 'TB2', 'TB4', 'TB5']], [westOnly, ['TB2', 'TB4']],
        [alsoEast, ['TB1']]] as const) {
        const r = await getTile(app, who, p);
        expect([...byCode(features(r.body, 'survey')).keys()].sort(), `round ${round}`).toEqual(codes);
      }
    }
    // three scopes, three entries (the two users limited to 东村 share theirs)
    expect(cache.entries).toBe(3);
  });

  it('keeps the cache within its byte budget, the least recently used tile dropped first', async () => {
    const one = (await new TileService({ db, regionCode: TEST_REGION, workSrid: TEST_WORK_SRID }).tile({ layer: 'survey', tile: t16 })) as { body: Uint8Array };
    const small = new TileCache(Math.floor(one.body.byteLength * 2.5) + 1000);
    const svc = new TileService({ db, regionCode: TEST_REGION, workSrid: TEST_WORK_SRID, cache: small });
    const ask = (layer: string, t: TileCoord) => svc.tile({ layer, tile: t });
    await ask('survey', t16);
    await ask('survey', t14);
    await ask('survey', t12);
    await ask('villages', t14);
    expect(small.bytes).toBeGreaterThan(0);
    expect(small.bytes).toBeLessThanOrEqual(small.maxBytes);
    expect(small.entries).toBeLessThan(4);
    // the first one asked is the one gone
    const misses = small.misses;
    await ask('survey', t16);
    expect(small.misses).toBe(misses + 1);
    expect(small.bytes).toBeLessThanOrEqual(small.maxBytes);
    // a budget of 0 bytes is no cache at all (TUBAN_TILE_CACHE_MB=0)
    expect(tileCacheOf(0)).toBeUndefined();
    expect(tileCacheOf(1024)?.maxBytes).toBe(1024);
  });
});
