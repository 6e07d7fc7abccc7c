import { VectorTile, type VectorTileFeature } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import type { TestDb } from '../helpers/db';
import { startApp, type TestApp, type UserClient } from '../helpers/api';
import { TEST_REGION, TEST_WORK_SRID } from '../helpers/snapshot';
import { TileService } from '../../server/tiles/service';
import type { TileCache } from '../../server/tiles/cache';
import { lonLatToTile, type TileCoord } from '../../server/tiles/tile-math';

/**
 * The small world the vector tile tests share (tiles.test.ts, tiles-cache.test.ts): survey polygons, parcels,
 * a village, a school, the frontage and a custom layer, inserted with SQL near Ji'an (GK zone 35, ~105.96°E
 * 29.4°N); the app over it, and helpers to fetch and decode tiles.
 */

export const X0 = 35593000;
export const Y0 = 3254000;
export const env = (dx: number, dy: number, w = 50, h = 50) =>
  `ST_Multi(ST_MakeEnvelope(${X0 + dx}, ${Y0 + dy}, ${X0 + dx + w}, ${Y0 + dy + h}, ${TEST_WORK_SRID}))`;

async function seed(db: TestDb) {
  const batch = async (layer: string) =>
    (await db.query<{ id: number }>(
      `INSERT INTO import_batch (region_code, layer_id, survey, file_name, sha256, source_layer, report)
       VALUES ($1, (SELECT id FROM layer WHERE name = $2), '2020', $2 || '.zip', md5($2), $2, '{}') RETURNING id`,
      [TEST_REGION, layer],
    )).rows[0].id;
  await db.query(`INSERT INTO layer (name, role, title_zh, title_en) VALUES ('farmland', 'flag', '基本农田', 'Basic farmland')`);
  const [sv, cad, vil, sch, fr, farm] = [
    await batch('survey'), await batch('cadastral'), await batch('village'), await batch('school'),
    await batch('frontage'), await batch('farmland'),
  ];
  const poly = (code: string, geom: string, village: string | null, extra = '') =>
    db.query(
      `INSERT INTO survey_polygon (region_code, survey, code, first_batch_id, batch_id, attrs, geom, area_m2,
         village_name, flags, priority, removed_batch_id)
       SELECT $1, '2020', $2, $3, $3, '{}', g, ST_Area(g), $4, $5::text[], $6, ${extra || 'NULL'}
       FROM (SELECT ${geom} AS g) x`,
      [TEST_REGION, code, sv, village, code === 'TB1' ? ['frontage', 'school'] : [], code === 'TB1' ? 42.5 : 3],
    );
  await poly('TB1', env(0, 0), '东村');
  await poly('TB2', env(120, 0), '西村');
  await poly('TB3', env(0, 120), '东村', String(sv)); // removed by a later delivery
  // a polygon with a hole, and one that straddles a z16 tile edge somewhere to the east
  await poly('TB4', `ST_Multi(ST_Difference(ST_MakeEnvelope(${X0 + 300}, ${Y0}, ${X0 + 420}, ${Y0 + 120}, ${TEST_WORK_SRID}),
    ST_MakeEnvelope(${X0 + 330}, ${Y0 + 30}, ${X0 + 390}, ${Y0 + 90}, ${TEST_WORK_SRID})))`, '西村');
  await poly('TB5', env(-900, 60, 1800, 20), null); // a strip crossing several tiles
  // far away: another part of the zone
  await poly('TBFAR', `ST_Multi(ST_MakeEnvelope(35450000, 3300000, 35450050, 3300050, ${TEST_WORK_SRID}))`, '东村');

  await db.query(
    `INSERT INTO parcel (region_code, batch_id, record, parcel_code, holder, land_use, attrs, geom)
     SELECT $1, $2, i, 'ZD' || i, '权利人' || i, CASE WHEN i = 1 THEN '住宅' END, '{}', g
     FROM (SELECT i, ST_Multi(ST_MakeEnvelope(${X0} + (i - 1) * 40 - 10, ${Y0 - 10}, ${X0} + (i - 1) * 40 + 30, ${Y0 + 60},
                                              ${TEST_WORK_SRID})) AS g
           FROM generate_series(1, 2) i) x`,
    [TEST_REGION, cad],
  );
  const feature = (batchId: number, layer: string, name: string, code: string | null, geom: string) =>
    db.query(
      `INSERT INTO layer_feature (region_code, layer_id, batch_id, name, code, attrs, geom)
       VALUES ($1, (SELECT id FROM layer WHERE name = $2), $3, $4, $5, '{}', ${geom})`,
      [TEST_REGION, layer, batchId, name, code],
    );
  // a village boundary of many vertices (clipped before geojson-vt on the JS path)
  await feature(vil, 'village', '东村', '500118001001',
    `ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(${X0 + 25}, ${Y0 + 25}), ${TEST_WORK_SRID}), 1500, 32))`);
  await feature(sch, 'school', '吉安小学', null, `ST_SetSRID(ST_MakePoint(${X0 + 200}, ${Y0 - 300}), ${TEST_WORK_SRID})`);
  await feature(fr, 'frontage', '吉安大道', null,
    `ST_Buffer(ST_MakeLine(ST_SetSRID(ST_MakePoint(${X0 - 2000}, ${Y0 - 40}), ${TEST_WORK_SRID}),
                             ST_SetSRID(ST_MakePoint(${X0 + 2000}, ${Y0 - 30}), ${TEST_WORK_SRID})), 15)`);
  await feature(farm, 'farmland', '农田1', 'NT1', env(500, -900, 200, 200));
  await feature(farm, 'farmland', '沟渠', 'NT2',
    `ST_MakeLine(ST_SetSRID(ST_MakePoint(${X0 + 500}, ${Y0 - 950}), ${TEST_WORK_SRID}),
                 ST_SetSRID(ST_MakePoint(${X0 + 800}, ${Y0 - 940}), ${TEST_WORK_SRID}))`);
}

/** lon/lat of a point given in the work CRS */
export async function lonLat(db: TestDb, x: number, y: number): Promise<[number, number]> {
  const r = await db.query<{ lon: number; lat: number }>(
    `SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint($1::float8, $2::float8), $3::int), 4326) AS p) x`,
    [x, y, TEST_WORK_SRID],
  );
  return [r.rows[0].lon, r.rows[0].lat];
}

export const decode = (buf: Uint8Array) => new VectorTile(new PbfReader(buf));
export function features(buf: Uint8Array, layer: string): VectorTileFeature[] {
  const l = decode(buf).layers[layer];
  return l ? Array.from({ length: l.length }, (_, i) => l.feature(i)) : [];
}
export const byCode = (fs: VectorTileFeature[]) => new Map(fs.map((f) => [f.properties.code as string, f]));

export const path = (layer: string, t: TileCoord, ext = '.mvt') => `/tiles/${layer}/${t.z}/${t.x}/${t.y}${ext}`;

export interface RawTile {
  status: number;
  etag: string | null;
  type: string | null;
  cache: string | null;
  body: Uint8Array;
}
export async function getTile(app: TestApp, who: UserClient, p: string, headers: Record<string, string> = {}): Promise<RawTile> {
  const r = await fetch(new URL(p, app.url), { headers: { cookie: who.cookie!, ...headers } });
  return {
    status: r.status,
    etag: r.headers.get('etag'),
    type: r.headers.get('content-type'),
    cache: r.headers.get('cache-control'),
    body: new Uint8Array(await r.arrayBuffer()),
  };
}

/** a custom layer with one feature, written straight to the database as another process's import would be */
export async function addCustomLayer(db: TestDb, name: string, titleZh: string, titleEn: string, feature: string) {
  await db.query(`INSERT INTO layer (name, role, title_zh, title_en) VALUES ($1, 'flag', $2, $3)`, [name, titleZh, titleEn]);
  const b = (await db.query<{ id: number }>(
    `INSERT INTO import_batch (region_code, layer_id, file_name, sha256, source_layer, report)
     VALUES ($1, (SELECT id FROM layer WHERE name = $2), $2 || '.zip', $2, $2, '{}') RETURNING id`, [TEST_REGION, name])).rows[0].id;
  await db.query(
    `INSERT INTO layer_feature (region_code, layer_id, batch_id, name, attrs, geom)
     VALUES ($1, (SELECT id FROM layer WHERE name = $2), $3, $4, '{}', ${env(0, 0)})`, [TEST_REGION, name, b, feature]);
}

export interface TilesWorld {
  db: TestDb;
  app: TestApp;
  analyst: UserClient;
  /** a field user limited to 东村 */
  eastOnly: UserClient;
  lon: number;
  lat: number;
  t16: TileCoord;
  t14: TileCoord;
  t12: TileCoord;
}

/** The seeded database and the app over it, tiles served through `cache`. */
export async function openTilesWorld(db: TestDb, cache: TileCache): Promise<TilesWorld> {
  await seed(db);
  const tiles = new TileService({ db, regionCode: TEST_REGION, workSrid: TEST_WORK_SRID, cache });
  const app = await startApp(db, { env: { TUBAN_REGION_CODE: TEST_REGION, TUBAN_WORK_SRID: String(TEST_WORK_SRID) }, tiles });
  const [lon, lat] = await lonLat(db, X0 + 25, Y0 + 25);
  return {
    db, app, lon, lat,
    analyst: await app.as('analyst'),
    eastOnly: await app.as('field', { villages: ['东村'] }),
    t16: lonLatToTile(lon, lat, 16),
    t14: lonLatToTile(lon, lat, 14),
    t12: lonLatToTile(lon, lat, 12),
  };
}
