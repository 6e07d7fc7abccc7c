/**
 * Issue 12, item 1: a database that stops answering must not wedge the server. PostgreSQL only — the
 * embedded PGlite lives in the server's own process and has no wire to lose; without TEST_DATABASE_URL
 * the suite reports itself skipped (CI sets it).
 *
 * The app talks to PostgreSQL through a TCP proxy the test owns (test/helpers/black-hole-proxy.ts):
 * relaying → health 200; black hole (accept, read, relay nothing) → health and other requests answer 503
 * database_unavailable instead of hanging; relaying again → health 200 again, with no restart.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../server/db/postgres';
import type { Db } from '../../server/db/types';
import { DatabaseUnavailableError } from '../../server/db/unavailable';
import { startApp, type TestApp, type UserClient } from '../helpers/api';
import { BlackHoleProxy } from '../helpers/black-hole-proxy';
import { templateDbName } from '../helpers/snapshot';

const SERVER_URL = process.env.TEST_DATABASE_URL;

/**
 * A request that never answers fails here instead of at the test timeout; generous (the app's own bounds
 * are a few seconds), it only tells "answered" from "hung".
 */
const HANG = 60_000;

interface Answer {
  status: number;
  body: { error?: { code: string; message: string; message_zh: string; details: unknown }; ok?: boolean; db?: string };
}

async function get(base: string, path: string, cookie?: string): Promise<Answer> {
  const res = await fetch(new URL(path, base), {
    headers: cookie ? { cookie } : {},
    signal: AbortSignal.timeout(HANG),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

function expectUnavailable(a: Answer) {
  expect(a.status).toBe(503);
  expect(a.body.error?.code).toBe('database_unavailable');
  expect(a.body.error?.message).toMatch(/PostgreSQL/);
  expect(a.body.error?.message_zh).toMatch(/数据库/);
  expect(a.body.error?.details).toMatchObject({ db: 'postgres' });
}

/** polls until the health check answers 200 (each poll is itself bounded by the app) */
async function healthyAgain(base: string, attempts = 40): Promise<Answer> {
  let last: Answer = { status: 0, body: {} };
  for (let i = 0; i < attempts; i++) {
    last = await get(base, '/api/health');
    if (last.status === 200) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  return last;
}

describe.runIf(SERVER_URL)('a database that stops answering [postgres] (skipped: set TEST_DATABASE_URL)', () => {
  let proxy: BlackHoleProxy;
  let db: Db;
  let app: TestApp;
  let analyst: UserClient;
  let name: string;

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: SERVER_URL });
    await admin.connect();
    name = `tuban_t_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${templateDbName()}`);
    await admin.end();
    const target = new URL(SERVER_URL!);
    proxy = new BlackHoleProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const port = await proxy.start();
    const via = new URL(SERVER_URL!);
    via.hostname = '127.0.0.1';
    via.port = String(port);
    via.pathname = `/${name}`;
    // the server's own bounds, small so the test is quick (production: 30 s statements, 5 s to connect)
    db = await openPostgres({ url: via.toString(), max: 4, statementTimeoutMs: 2000, connectTimeoutMs: 2000, queryTimeoutMs: 3000 });
    app = await startApp(db);
    analyst = await app.as('analyst');
  });

  afterAll(async () => {
    proxy?.relay();
    await app?.close();
    await db?.close();
    await proxy?.stop();
    if (name) {
      const a = new pg.Client({ connectionString: SERVER_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    }
  });

  it('answers 503 database_unavailable while the database is a black hole, and 200 again once it is back', async () => {
    // relaying: all well, and through the proxy
    const before = await get(app.url, '/api/health');
    expect(before).toEqual({ status: 200, body: { ok: true, db: 'postgres' } });
    for (const path of ['/api/polygons', '/api/polygons/counts', '/api/layers', '/api/cases']) {
      expect((await get(app.url, path, analyst.cookie)).status, path).toBe(200);
    }
    expect(proxy.accepted).toBeGreaterThan(0);

    proxy.blackHole();
    // more requests at once than the pool has connections: every pooled connection ends up on a dead wire
    const down = await Promise.all([
      get(app.url, '/api/health'),
      get(app.url, '/api/health'),
      get(app.url, '/api/polygons', analyst.cookie),
      get(app.url, '/api/polygons', analyst.cookie),
      get(app.url, '/api/polygons/counts', analyst.cookie),
      get(app.url, '/api/layers', analyst.cookie),
      get(app.url, '/api/cases', analyst.cookie),
    ]);
    for (const a of down) expectUnavailable(a);
    // a transaction on a dead wire fails the same way, and its connection is not handed back to the pool
    await expect(db.tx((q) => q.query('SELECT 1'))).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await expect(db.query('SELECT 1')).rejects.toBeInstanceOf(DatabaseUnavailableError);
    // still down: still a prompt 503, never a hang
    expectUnavailable(await get(app.url, '/api/health'));

    proxy.relay();
    expect(await healthyAgain(app.url)).toEqual({ status: 200, body: { ok: true, db: 'postgres' } });
    // the rest of the app too, and transactions: no connection left over from the outage is reused
    expect((await get(app.url, '/api/polygons', analyst.cookie)).status).toBe(200);
    const n = await Promise.all(Array.from({ length: 8 }, () => db.tx(async (q) => (await q.query<{ n: number }>('SELECT 1 AS n')).rows[0].n)));
    expect(n).toEqual(Array(8).fill(1));
  });
});
