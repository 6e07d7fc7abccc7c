/**
 * A small imported town for the OGC API tests (ogc-conformance, ogc-gdal): two villages 东村/西村, two
 * parcels, a school, six survey polygons TB1…TB6 (TB6 outside every village), TB1 verified. Coordinates are
 * in the test work CRS (EPSG:4523) around X0/Y0 of test/helpers/fixtures.ts.
 */
import proj4 from 'proj4';
import type { Backend, TestDb } from '../helpers/db';
import { freshDb } from '../helpers/db';
import { startApp, type Client, type TestApp } from '../helpers/api';
import { bytesOf, fc, rect, X0, Y0 } from '../helpers/fixtures';
import { TEST_WORK_SRID } from '../helpers/snapshot';
import { LIMITS } from '../helpers/ingest';
import { importFile } from '../../server/ingest/import';
import { proj4ForEpsg } from '../../server/shapefile/prj';
import { decide, REGION } from './dashboard-fixture';

/** Imports one layer of a small test town as a GeoJSON delivery, through the real importer (and reconciliation). */
export const importLayer = (db: TestDb) => {
  const settings = { regionCode: REGION, workSrid: TEST_WORK_SRID, schoolDistanceM: 200, limits: LIMITS };
  return (layer: string, data: unknown) => importFile(db, settings, { layer, bytes: bytesOf(data), fileName: `${layer}-2021.geojson` });
};

export const toLonLat = (x: number, y: number) => proj4(proj4ForEpsg(4523), 'EPSG:4326', [X0 + x, Y0 + y]) as [number, number];

export interface OgcTown {
  db: TestDb;
  app: TestApp;
  analyst: Client;
  /** survey code → id */
  ids: Record<string, number>;
  close(): Promise<void>;
}

export async function ogcTown(backend: Backend): Promise<OgcTown> {
  const db = await freshDb(backend);
  const app = await startApp(db, { env: { TUBAN_REGION_CODE: REGION, TUBAN_WORK_SRID: String(TEST_WORK_SRID) } });
  const run = importLayer(db);
  await run('village', fc([
    { geometry: rect(0, 0, 500, 500), properties: { 村名: '东村' } },
    { geometry: rect(500, 0, 500, 500), properties: { 村名: '西村' } },
  ]));
  await run('cadastral', fc([
    { geometry: rect(0, 0, 300, 300), properties: { 宗地代码: 'P1', 权利人: '张三', 土地用途: '住宅用地' } },
    { geometry: rect(600, 0, 300, 300), properties: { 宗地代码: 'P2', 权利人: '李四', 土地用途: '工业用地' } },
  ]));
  await run('school', fc([{ geometry: { type: 'Point', coordinates: [X0 + 800, Y0 + 100] }, properties: { 学校名称: '吉安小学' } }]));
  await run('survey', fc([
    { geometry: rect(100, 100, 50, 50), properties: { 图斑编号: 'TB1' } },
    { geometry: rect(300, 100, 50, 50), properties: { 图斑编号: 'TB2' } },
    { geometry: rect(600, 100, 50, 50), properties: { 图斑编号: 'TB3' } },
    { geometry: rect(800, 300, 50, 50), properties: { 图斑编号: 'TB4' } },
    { geometry: rect(100, 400, 50, 50), properties: { 图斑编号: 'TB5' } },
    { geometry: rect(2000, 2000, 50, 50), properties: { 图斑编号: 'TB6' } },
  ]));
  const ids = Object.fromEntries((await db.query<{ code: string; id: number }>('SELECT code, id FROM survey_polygon')).rows.map((r) => [r.code, Number(r.id)]));
  const analyst = await app.as('analyst');
  await decide(analyst, ids.TB1, 'verify');
  return {
    db, app, analyst, ids,
    async close() {
      await app.close();
      await db.dispose();
    },
  };
}
