/**
 * Issue 12 item 8 (and the pixel-limit answer of item 10):
 *   - a change carrying the session cookie must come from tuban's own origin (auth/csrf.ts): Sec-Fetch-Site,
 *     else Origin, else Referer; neither → refused. Bearer tokens are not affected;
 *   - login backoff per account across addresses (auth/limiter.ts), which the owner's known address passes.
 */
import { rgbPng } from '../helpers/png';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import { startApp, type TestApp, type UserClient } from '../helpers/api';
import { fieldEnv, photoForm, type FieldEnv } from './field-helpers';
import { createSession } from '../../server/auth/session';
import { createUser } from '../../server/auth/users';
import { ACCOUNT_BACKOFF, accountBackoffSeconds } from '../../server/auth/limiter';

const PHOTO: Uint8Array = new Uint8Array(readFileSync('test/fixtures/photos/gps.jpg'));
const EVIL = 'https://evil.example';

let ipSeq = 1;
const fromIp = () => ({ 'x-forwarded-for': `10.77.${Math.floor(ipSeq / 250)}.${(ipSeq++ % 250) + 1}` });

function expectError(r: { status: number; body: any }, status: number, code: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body.error).toMatchObject({ code, message: expect.any(String), details: null });
  expect(r.body.error.message_zh).toMatch(/[\u4e00-\u9fff]/);
}

/** a PNG whose header claims width × height (no real pixel data): sharp refuses it at the header */
function bigPng(width: number, height: number): Uint8Array {
  return new Uint8Array(rgbPng(width, height, Buffer.alloc(64)));
}

describeEachDb('cross-site requests and login backoff', (backend) => {
  let env: FieldEnv;
  let field: UserClient;
  let photos = 0;

  beforeAll(async () => {
    env = await fieldEnv(backend);
    field = await env.app.as('field', { villages: ['吉安村'] });
  });
  afterAll(async () => {
    await env?.close();
  });

  const evidenceRows = async () => (await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM evidence')).rows[0].n;
  /** a cookie-authenticated photo upload with exactly these headers (no Origin added by the helper) */
  const upload = (headers: Record<string, string>, bytes = PHOTO) =>
    env.app.request('POST', '/api/evidence', { form: photoForm(bytes, { polygon_id: env.jian[photos++ % 4] }), headers: { cookie: field.cookie!, ...headers } });

  it('refuses a cross-site multipart POST with the cookie whatever the browser sends, and stores nothing', async () => {
    const before = await evidenceRows();
    for (const h of [
      { origin: EVIL }, // the reported case: no Sec-Fetch-Site
      { origin: EVIL, 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site', origin: 'https://other.127.0.0.1.nip.io' },
      { origin: 'null' },
      { referer: `${EVIL}/page.html` },
      {}, // neither Origin nor Referer
      { origin: `${env.app.url.replace('http:', 'https:')}.evil.example` },
    ] as Record<string, string>[]) {
      expectError(await upload(h), 403, 'cross_site');
    }
    expect(await evidenceRows()).toBe(before);
  });

  it('admits the app\'s own pages: same origin, Referer from this origin, Sec-Fetch-Site same-origin', async () => {
    expect((await upload({ origin: env.app.url })).status).toBeLessThan(300);
    expect((await upload({ referer: `${env.app.url}/p/X` })).status).toBeLessThan(300);
    expect((await upload({ 'sec-fetch-site': 'same-origin', origin: 'null' })).status).toBeLessThan(300);
    // JSON changes too, and reads need no origin at all
    const fid = await field.post(`/api/polygons/${env.jian[0]}/findings`, { finding: 'nothing_found', client_id: crypto.randomUUID() });
    expect(fid.status).toBe(201);
    expectError(await env.app.request('POST', `/api/polygons/${env.jian[0]}/findings`,
      { body: { finding: 'nothing_found', client_id: crypto.randomUUID() }, headers: { cookie: field.cookie! } }), 403, 'cross_site');
    expect((await env.app.request('GET', '/api/field/worklist', { headers: { cookie: field.cookie! } })).status).toBe(200);
  });

  it('a bearer token is not a cookie: API clients need no Origin', async () => {
    const { token } = await createSession(env.db, field.user.id);
    const r = await env.app.request('POST', `/api/polygons/${env.jian[1]}/findings`,
      { body: { finding: 'nothing_found', client_id: crypto.randomUUID() }, headers: { authorization: `Bearer ${token}`, origin: EVIL } });
    expect(r.status).toBe(201);
  });

  it('behind a proxy: X-Forwarded-Host from a loopback proxy, or TUBAN_PUBLIC_ORIGIN when the Host is rewritten', async () => {
    const pub = 'https://tuban.example.gov.cn';
    expect((await upload({ origin: pub, 'x-forwarded-host': 'tuban.example.gov.cn', 'x-forwarded-proto': 'https' })).status).toBeLessThan(300);
    expectError(await upload({ origin: pub }), 403, 'cross_site');
    let app: TestApp | undefined;
    try {
      app = await startApp(env.db, { env: { TUBAN_DATA_DIR: env.dataDir, TUBAN_PUBLIC_ORIGIN: `${pub}, http://10.1.2.3:8080` } });
      const r = await app.request('POST', '/api/evidence', { form: photoForm(PHOTO, { polygon_id: env.jian[2] }), headers: { cookie: field.cookie!, origin: pub } });
      expect(r.status).toBeLessThan(300);
      expectError(await app.request('POST', '/api/evidence', { form: photoForm(PHOTO, { polygon_id: env.jian[2] }), headers: { cookie: field.cookie!, origin: EVIL } }), 403, 'cross_site');
    } finally {
      await app?.close();
    }
  });

  it('a photo over the pixel limit is 413 image_too_large, not unreadable', async () => {
    const r = await upload({ origin: env.app.url }, bigPng(20_000, 20_000));
    expect(r.status, r.text).toBe(413);
    expect(r.body.error.code).toBe('image_too_large');
    expect(r.body.error.message_zh).toMatch(/[\u4e00-\u9fff]/);
  });

  // ---- login backoff ----

  const login = (username: string, password: string, headers: Record<string, string>) =>
    env.app.post('/api/auth/login', { username, password, token: true }, { headers });

  it('backs off per account across addresses: 30 wrong passwords from 30 addresses meet 429s', async () => {
    const { user } = await createUser(env.db, { username: 'spray-target', role: 'analyst', password: 'correct-horse-9', mustChangePassword: false });
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await login(user.username, `guess-${i}`, fromIp());
      statuses.push(r.status);
      if (r.status === 429) {
        expect(r.body.error.code).toBe('too_many_attempts');
        expect(r.body.error.message_zh).toMatch(/[\u4e00-\u9fff]/);
        const retry = Number(r.headers.get('retry-after'));
        expect(retry).toBeGreaterThan(0);
        expect(retry).toBeLessThanOrEqual(ACCOUNT_BACKOFF.capSeconds);
      }
    }
    expect(statuses.slice(0, ACCOUNT_BACKOFF.freeFailures).every((s) => s === 401)).toBe(true);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(15);
    // the right password from yet another address does not get through the backoff either
    expect((await login(user.username, 'correct-horse-9', fromIp())).status).toBe(429);
  });

  it('the owner\'s known address passes the backoff; a success resets it; the wait is capped', async () => {
    const { user } = await createUser(env.db, { username: 'owner-ok', role: 'analyst', password: 'correct-horse-9', mustChangePassword: false });
    const home = fromIp();
    expect((await login(user.username, 'correct-horse-9', home)).status).toBe(200);
    await env.db.query(`UPDATE app_user SET last_login_at = now() - interval '20 minutes' WHERE id = $1`, [user.id]);
    // an attacker's long series of failures from many addresses over the last ten minutes
    await env.db.query(
      `INSERT INTO login_attempt (username_key, ip, at)
       SELECT 'owner-ok', '10.99.0.' || g, now() - make_interval(secs => 505 - g * 10) FROM generate_series(1, 50) g`);
    const stranger = await login(user.username, 'correct-horse-9', fromIp());
    expect(stranger.status).toBe(429);
    expect(stranger.body.error.details.retry_after).toBeLessThanOrEqual(ACCOUNT_BACKOFF.capSeconds);
    expect(stranger.body.error.details.retry_after).toBeGreaterThan(ACCOUNT_BACKOFF.capSeconds - 30);
    // the owner, from where they logged in before, gets in (a wrong password there is still just a 401)
    expect((await login(user.username, 'wrong-here', home)).status).toBe(401);
    expect((await login(user.username, 'correct-horse-9', home)).status).toBe(200);
    // and that success reset the account's backoff: a new address is judged on its own again
    expect((await login(user.username, 'wrong-elsewhere', fromIp())).status).toBe(401);
  });

  it('accountBackoffSeconds: free failures, then doubling, capped', () => {
    const f = ACCOUNT_BACKOFF.freeFailures;
    expect(accountBackoffSeconds(0)).toBe(0);
    expect(accountBackoffSeconds(f - 1)).toBe(0);
    expect(accountBackoffSeconds(f)).toBe(ACCOUNT_BACKOFF.baseSeconds);
    expect(accountBackoffSeconds(f + 3)).toBe(ACCOUNT_BACKOFF.baseSeconds * 8);
    expect(accountBackoffSeconds(f + 100)).toBe(ACCOUNT_BACKOFF.capSeconds);
  });
});
