/**
 * A small town for the lead and public-report tests, imported like the OGC test town (ogc-fixture.ts
 * importLayer): villages 东村/西村, one parcel, a school, survey polygons TB1…TB3 with TB3 verified, served
 * with a temporary data directory for photos and the settings a test passes. Not a test file itself.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Backend, TestDb } from '../helpers/db';
import { freshDb } from '../helpers/db';
import { startApp, type Client, type TestApp } from '../helpers/api';
import { fc, rect, X0, Y0 } from '../helpers/fixtures';
import { TEST_WORK_SRID } from '../helpers/snapshot';
import { decide, REGION } from './dashboard-fixture';

import { importLayer } from './ogc-fixture';
export { toLonLat } from './ogc-fixture';
/** a JPEG with EXIF: Make 'tuban', Model 'fixture', time 2021-07-21 10:30 +08:00, GPS (test/fixtures/photos) */
export const GPS_PHOTO = new Uint8Array(readFileSync(new URL('../fixtures/photos/gps.jpg', import.meta.url)));

export interface LeadTown {
  db: TestDb;
  app: TestApp;
  analyst: Client;
  ids: Record<string, number>;
  close(): Promise<void>;
}

export async function leadTown(backend: Backend, env: Record<string, string> = {}): Promise<LeadTown> {
  const db = await freshDb(backend);
  // photos are written under the data directory: a temporary one, removed at close
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tuban-leads-'));
  const app = await startApp(db, { env: { TUBAN_REGION_CODE: REGION, TUBAN_WORK_SRID: String(TEST_WORK_SRID), TUBAN_DATA_DIR: dataDir, ...env } });
  const run = importLayer(db);
  await run('village', fc([
    { geometry: rect(0, 0, 500, 500), properties: { 村名: '东村' } },
    { geometry: rect(500, 0, 500, 500), properties: { 村名: '西村' } },
  ]));
  await run('cadastral', fc([
    { geometry: rect(0, 0, 300, 300), properties: { 宗地代码: 'P1', 权利人: '张三', 土地用途: '住宅用地' } },
  ]));
  await run('school', fc([{ geometry: { type: 'Point', coordinates: [X0 + 800, Y0 + 100] }, properties: { 学校名称: '吉安小学' } }]));
  await run('survey', fc([
    { geometry: rect(100, 100, 50, 50), properties: { 图斑编号: 'TB1' } },
    { geometry: rect(300, 100, 50, 50), properties: { 图斑编号: 'TB2' } },
    { geometry: rect(600, 100, 50, 50), properties: { 图斑编号: 'TB3' } },
  ]));
  const ids = Object.fromEntries((await db.query<{ code: string; id: number }>('SELECT code, id FROM survey_polygon')).rows.map((r) => [r.code, Number(r.id)]));
  const analyst = await app.as('analyst');
  await decide(analyst, ids.TB3, 'verify');
  return {
    db, app, analyst, ids,
    async close() {
      await app.close();
      await db.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A public report as the /report page sends it (multipart). */
export function reportForm(f: { lon: number; lat: number; category?: string; description?: string; phone?: string; website?: string; add_to?: number; photos?: Uint8Array[] }) {
  const form = new FormData();
  form.set('lon', String(f.lon));
  form.set('lat', String(f.lat));
  form.set('category', f.category ?? 'construction');
  form.set('description', f.description ?? '村口有人正在建房');
  if (f.phone !== undefined) form.set('phone', f.phone);
  if (f.website !== undefined) form.set('website', f.website);
  if (f.add_to !== undefined) form.set('add_to', String(f.add_to));
  for (const [i, p] of (f.photos ?? []).entries()) form.append('photo', new Blob([p as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), `p${i}.jpg`);
  return form;
}
