/**
 * Shared by the field tests (not a test file itself): the real app with a temporary data directory (photos
 * are written there), survey polygons in two villages, and a client that acts with a signed link.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDb, type Backend, type TestDb } from '../helpers/db';
import { startApp, type Client, type RequestOptions, type TestApp } from '../helpers/api';
import { seedPolygons } from './review-helpers';

export interface FieldEnv {
  db: TestDb;
  app: TestApp;
  dataDir: string;
  /** 4 polygons in 吉安村, 2 in 红旗村 (pending, 10 m squares 20 m apart near 105.0°E 29.36°N) */
  jian: number[];
  hongqi: number[];
  close(): Promise<void>;
}

export async function fieldEnv(backend: Backend): Promise<FieldEnv> {
  const db = await freshDb(backend);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tuban-field-'));
  const app = await startApp(db, { env: { TUBAN_DATA_DIR: dataDir } });
  const jian = await seedPolygons(db, 4, '吉安村', 'FA');
  const hongqi = await seedPolygons(db, 2, '红旗村', 'FB');
  return {
    db, app, dataDir, jian, hongqi,
    async close() {
      await app.close();
      await db.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A client sending `Authorization: FieldLink <token>` (what the field page sends). */
export function linkClient(app: TestApp, token: string, header: 'authorization' | 'x-field-token' = 'authorization'): Client {
  const h: Record<string, string> = header === 'authorization' ? { authorization: `FieldLink ${token}` } : { 'x-field-token': token };
  const withAuth = (o: RequestOptions = {}) => ({ ...o, headers: { ...h, ...o.headers } });
  const request: Client['request'] = (method, p, o) => app.request(method, p, withAuth(o));
  return {
    request,
    get: (p, o) => request('GET', p, o),
    post: (p, b, o) => request('POST', p, { ...o, body: b }),
    patch: (p, b, o) => request('PATCH', p, { ...o, body: b }),
    put: (p, b, o) => request('PUT', p, { ...o, body: b }),
    delete: (p, o) => request('DELETE', p, o),
  };
}

/** multipart body of POST /api/evidence */
export function photoForm(bytes: Uint8Array, fields: Record<string, string | number | undefined>, name = 'photo.jpg', type = 'image/jpeg') {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) f.set(k, String(v));
  f.set('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type }), name);
  return f;
}

/** every file under dir (recursively), relative paths */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** The centre of a seeded polygon in WGS84, from the field API. */
export async function targetOf(c: Client, id: number): Promise<{ lon: number; lat: number }> {
  const r = await c.get(`/api/field/polygons/${id}`);
  if (r.status !== 200) throw new Error(`field polygon ${id}: ${r.status} ${r.text}`);
  const [lon, lat] = r.body.polygon.target.coordinates as [number, number];
  return { lon, lat };
}
