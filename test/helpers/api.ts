/**
 * The real app on port 0, talked to over HTTP (like stac-server's tests/helpers/api.ts):
 *
 *   const app = await startApp(db);
 *   const anon = await app.get('/api/polygons');                 // anonymous
 *   const field = await app.as('field', { villages: ['吉安社区'] }); // a fresh user + session, no HTTP login
 *   const r = await field.get<{ items: unknown[] }>('/api/polygons', { query: { limit: 5 } });
 *   const admin = await app.login('admin', 'password');           // through POST /api/auth/login
 *   await app.close();
 *
 * Responses are never thrown on: check `status`. Bodies are parsed when JSON.
 */
import type { TileService } from '../../server/tiles/service';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { createApp, listen } from '../../server/app';
import { loadConfig, type Config } from '../../server/config';
import type { Db } from '../../server/db/types';
import type { Role } from '../../server/auth/guard';
import { authenticate, createSession, SESSION_COOKIE } from '../../server/auth/session';
import { createUser, type User } from '../../server/auth/users';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  /** sent as JSON */
  body?: unknown;
  /** sent as multipart (imports) */
  form?: FormData;
  headers?: Record<string, string>;
}

export interface Client {
  /** `tuban_session=…` when the client logged in through the cookie */
  readonly cookie?: string;
  readonly token?: string;
  request<T = any>(method: string, path: string, o?: RequestOptions): Promise<ApiResponse<T>>;
  get<T = any>(path: string, o?: RequestOptions): Promise<ApiResponse<T>>;
  post<T = any>(path: string, body?: unknown, o?: RequestOptions): Promise<ApiResponse<T>>;
  patch<T = any>(path: string, body?: unknown, o?: RequestOptions): Promise<ApiResponse<T>>;
  put<T = any>(path: string, body?: unknown, o?: RequestOptions): Promise<ApiResponse<T>>;
  delete<T = any>(path: string, o?: RequestOptions): Promise<ApiResponse<T>>;
}

export interface UserClient extends Client {
  user: User;
  password: string;
}

export interface TestApp extends Client {
  url: string;
  /** the express app (e.g. to walk its routes) */
  express: ReturnType<typeof createApp>;
  db: Db;
  config: Config;
  /** a client sending this cookie header or bearer token */
  client(auth: { cookie?: string; token?: string }): Client;
  /** logs in through POST /api/auth/login (cookie); throws unless 200 */
  login(username: string, password: string, headers?: Record<string, string>): Promise<Client>;
  /** creates a user (random name unless given) and a session for it directly: fast, no limiter */
  as(role: Role, o?: { villages?: string[]; username?: string; password?: string }): Promise<UserClient>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** environment overrides for loadConfig (defaults: sample off, logs silent) */
  env?: Record<string, string>;
  /** e.g. a pino logger writing to a buffer, to check what gets logged */
  log?: Logger;
  /** where imports run (the owner's connection when `db` is a runtime role); default `db` */
  importDb?: Db;
  /** the app's tile service (to look at its cache); default: the app's own */
  tiles?: TileService;
}

function makeClient(base: string, auth: { cookie?: string; token?: string }): Client {
  const request = async <T>(method: string, path: string, o: RequestOptions = {}): Promise<ApiResponse<T>> => {
    const u = new URL(path, base);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...o.headers };
    if (auth.cookie) {
      headers.cookie = auth.cookie;
      // what a browser sends with a change from our own page (server/auth/csrf.ts refuses a cookie without it)
      if (!['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase()) && !Object.keys(headers).some((h) => h.toLowerCase() === 'origin')) {
        headers.origin = base;
      }
    }
    if (auth.token) headers.authorization = `Bearer ${auth.token}`;
    let body: BodyInit | undefined;
    if (o.form) body = o.form;
    else if (o.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(o.body);
    }
    const res = await fetch(u, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    const json = (res.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text;
    return { status: res.status, headers: res.headers, body: json as T, text };
  };
  return {
    cookie: auth.cookie,
    token: auth.token,
    request,
    get: (p, o) => request('GET', p, o),
    post: (p, b, o) => request('POST', p, { ...o, body: b }),
    patch: (p, b, o) => request('PATCH', p, { ...o, body: b }),
    put: (p, b, o) => request('PUT', p, { ...o, body: b }),
    delete: (p, o) => request('DELETE', p, o),
  };
}

/** `tuban_session=…` from a response's Set-Cookie, or undefined. */
export function sessionCookie(headers: Headers): string | undefined {
  const c = headers.getSetCookie().find((s) => s.startsWith(`${SESSION_COOKIE}=`));
  return c?.split(';')[0];
}

export async function startApp(db: Db, o: StartOptions = {}): Promise<TestApp> {
  const config = loadConfig({ TUBAN_SAMPLE: 'off', LOG_LEVEL: 'silent', ...o.env });
  const log = o.log ?? pino({ level: 'silent' });
  const ctx = { config, db, log, importDb: o.importDb };
  const app = createApp({ ...ctx, authenticate: await authenticate(ctx), tiles: o.tiles });
  const server = listen(app, 0, '127.0.0.1');
  // a loaded machine can keep a client's pooled socket idle past Node's 5 s default: avoid ECONNRESET races
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const anon = makeClient(url, {});
  return {
    ...anon,
    url,
    express: app,
    db,
    config,
    client: (auth) => makeClient(url, auth),
    async login(username, password, headers) {
      const r = await anon.post('/api/auth/login', { username, password }, { headers });
      const cookie = sessionCookie(r.headers);
      if (r.status !== 200 || !cookie) throw new Error(`login ${username}: ${r.status} ${r.text}`);
      return makeClient(url, { cookie });
    },
    async as(role, u = {}) {
      const password = u.password ?? `pw-${randomBytes(8).toString('hex')}`;
      const { user } = await createUser(db, {
        username: u.username ?? `${role}-${randomBytes(4).toString('hex')}`,
        role,
        villages: u.villages ?? null,
        password,
        mustChangePassword: false,
      });
      const { token } = await createSession(db, user.id);
      return Object.assign(makeClient(url, { cookie: `${SESSION_COOKIE}=${token}` }), { user, password });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
