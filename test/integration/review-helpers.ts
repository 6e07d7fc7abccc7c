/**
 * Shared by the review tests: the app on port 0 with an injected principal (header x-test-user, JSON),
 * and survey polygons inserted directly with SQL. Not a test file itself.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import pino from 'pino';
import { createApp, listen } from '../../server/app';
import { loadConfig } from '../../server/config';
import type { Principal } from '../../server/auth/guard';
import type { Db, Queryable } from '../../server/db/types';
import { TEST_REGION, TEST_WORK_SRID } from '../helpers/snapshot';

export const REGION = TEST_REGION;

let nextUserId = 100;
export function user(role: Principal['role'], username?: string, villages: string[] | null = null): Principal {
  const id = nextUserId++;
  const name = username ?? `${role}${id}`;
  return { id, username: name, displayName: name, role, villages };
}

/** Trusts the test header; a real deployment uses the session middleware. */
export const testAuthenticate: RequestHandler = (req, _res, next) => {
  const h = req.header('x-test-user');
  if (h) req.principal = JSON.parse(Buffer.from(h, 'base64').toString('utf8')) as Principal;
  next();
};

export interface Api {
  url: string;
  as(p: Principal | null): Client;
  close(): Promise<void>;
}

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Client {
  get<T = any>(path: string): Promise<Reply<T>>;
  post<T = any>(path: string, body?: unknown): Promise<Reply<T>>;
  patch<T = any>(path: string, body?: unknown): Promise<Reply<T>>;
  put<T = any>(path: string, body?: unknown): Promise<Reply<T>>;
}

export async function startApp(db: Db): Promise<Api> {
  const config = loadConfig({
    TUBAN_REGION_CODE: REGION,
    TUBAN_WORK_SRID: String(TEST_WORK_SRID),
    TUBAN_SAMPLE: 'off',
    LOG_LEVEL: 'silent',
  } as NodeJS.ProcessEnv);
  const log = pino({ level: 'silent' });
  const app = createApp({ config, db, log, authenticate: testAuthenticate });
  const server = listen(app, 0, '127.0.0.1');
  // a loaded machine can keep a client's pooled socket idle past Node's 5 s default: avoid ECONNRESET races
  server.keepAliveTimeout = 60_000;
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = (p: Principal | null) => async (method: string, path: string, body?: unknown): Promise<Reply> => {
    const headers: Record<string, string> = {};
    if (p) headers['x-test-user'] = Buffer.from(JSON.stringify(p)).toString('base64');
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  };
  return {
    url,
    as(p) {
      const c = call(p);
      return {
        get: (path) => c('GET', path),
        post: (path, body) => c('POST', path, body ?? {}),
        patch: (path, body) => c('PATCH', path, body ?? {}),
        put: (path, body) => c('PUT', path, body ?? {}),
      };
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}

let batchSeq = 0;
/** Inserts n survey polygons (pending, version 1) in one village; returns their ids in order. */
export async function seedPolygons(q: Queryable, n: number, village: string | null = '吉安村', prefix = 'T'): Promise<number[]> {
  const tag = `${prefix}${++batchSeq}-${randomUUID().slice(0, 8)}`;
  const b = await q.query<{ id: number }>(
    `INSERT INTO import_batch (region_code, layer_id, survey, file_name, sha256, source_layer, report)
     VALUES ($1, (SELECT id FROM layer WHERE name = 'survey'), '2020', 'review-test.zip', $2, 'tb', '{}')
     RETURNING id`,
    [REGION, tag],
  );
  const batch = b.rows[0].id;
  const r = await q.query<{ id: number }>(
    `INSERT INTO survey_polygon (region_code, survey, code, first_batch_id, batch_id, attrs, geom, area_m2, village_name)
     SELECT $1, '2020', $2 || '-' || lpad(g::text, 5, '0'), $3, $3, '{}',
            ST_Multi(ST_MakeEnvelope(35500000 + g * 20, 3250000, 35500010 + g * 20, 3250010, 4523)), 100, $4
     FROM generate_series(1, $5::int) g
     ORDER BY g
     RETURNING id`,
    [REGION, tag, batch, village, n],
  );
  return r.rows.map((x) => x.id).sort((a, b) => a - b);
}

export const uuid = () => randomUUID();

export async function statusOf(q: Queryable, id: number) {
  return (await q.query<{ status: string; version: number }>(
    'SELECT status, version FROM survey_polygon WHERE region_code = $1 AND id = $2', [REGION, id],
  )).rows[0];
}

/**
 * A photo of the case: a new polygon of the village, linked to the case by `client` (a real decision), with
 * an evidence row inserted directly (the photo upload itself is tested in field-evidence). Returns the
 * evidence id, for a step's photo_ids.
 */
export async function casePhoto(q: Queryable, client: Client, caseId: number, village = '吉安村'): Promise<number> {
  const [pid] = await seedPolygons(q, 1, village, 'PH');
  const r = await client.post(`/api/polygons/${pid}/decisions`, { action: 'link', version: 1, case_id: caseId, request_id: uuid() });
  if (r.status !== 200) throw new Error(`casePhoto: link ${r.status} ${JSON.stringify(r.body)}`);
  const e = await q.query<{ id: number }>(
    `INSERT INTO evidence (region_code, polygon_id, sha256, mime, bytes, user_id, username)
     VALUES ($1, $2, $3, 'image/jpeg', 1000, 1, 'test') RETURNING id`,
    [REGION, pid, randomUUID().replaceAll('-', '').padEnd(64, '0')],
  );
  return Number(e.rows[0].id);
}
