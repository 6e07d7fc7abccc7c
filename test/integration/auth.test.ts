import { createHash } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { sessionCookie, startApp, type TestApp } from '../helpers/api';
import { TEST_REGION, TEST_WORK_SRID } from '../helpers/snapshot';
import { createUser, DEMO_USERS, ensureAdmin, ensureDemoUsers, updateUser } from '../../server/auth/users';
import { hashPassword, verifyPassword } from '../../server/auth/password';
import { LOGIN_LIMITS } from '../../server/auth/limiter';
import { listRoutes, openApiPath } from '../../server/http/openapi';

const silent = pino({ level: 'silent' });
/** a private address per test, so the per-IP login limiter does not couple tests (trust proxy: loopback) */
let ipSeq = 10;
const fromIp = () => ({ 'x-forwarded-for': `10.0.0.${ipSeq++}` });
const sink = () => {
  const chunks: string[] = [];
  return { chunks, write: (s: string) => void chunks.push(s), text: () => chunks.join('') };
};

function expectError(r: { status: number; body: any }, status: number, code: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body.error).toMatchObject({ code, message: expect.any(String), message_zh: expect.any(String) });
}

describeEachDb('auth', (backend) => {
  let db: TestDb;
  let app: TestApp;
  beforeAll(async () => {
    db = await freshDb(backend);
    app = await startApp(db);
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  async function user(role: 'admin' | 'analyst' | 'field' | 'reviewer', password = 'correct-horse-9', villages: string[] | null = null) {
    const username = `u${Math.random().toString(36).slice(2, 10)}`;
    const { user } = await createUser(db, { username, role, password, villages, mustChangePassword: false });
    return { ...user, password };
  }

  it('creates the first admin once, with a one-time password printed to stdout and not logged', async () => {
    const out = sink();
    const logs = sink();
    const first = await ensureAdmin(db, pino({}, logs), out);
    expect(first.created).toBe(true);
    expect(out.text()).toContain(first.password);
    expect(logs.text()).not.toContain(first.password);
    const again = sink();
    expect((await ensureAdmin(db, silent, again)).created).toBe(false);
    expect(again.text()).toBe('');

    const row = (await db.query<{ password_hash: string; must_change_password: boolean; role: string }>(
      `SELECT password_hash, must_change_password, role FROM app_user WHERE username = 'admin'`)).rows[0];
    expect(row).toMatchObject({ must_change_password: true, role: 'admin' });
    expect(row.password_hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(row.password_hash).not.toContain(first.password!);

    // must change the password before anything else
    const admin = await app.login('admin', first.password!, fromIp());
    expect((await admin.get('/api/auth/me')).body.user).toMatchObject({ username: 'admin', must_change_password: true });
    expectError(await admin.get('/api/users'), 403, 'password_change_required');
    const ch = await admin.post('/api/auth/password', { current_password: first.password, new_password: 'a-new-office-pw-2021' });
    expect(ch.status, ch.text).toBe(200);
    expect(ch.body.user.must_change_password).toBe(false);
    expect((await admin.get('/api/users')).status).toBe(200);
  });

  it('keeps at least one enabled admin', async () => {
    // runs right after the first admin was created: it is the only admin
    const only = (await db.query<{ id: number }>(`SELECT id FROM app_user WHERE username = 'admin'`)).rows[0];
    await expect(updateUser(db, only.id, { role: 'analyst' })).rejects.toMatchObject({ code: 'last_admin', status: 409 });
    await expect(updateUser(db, only.id, { disabled: true })).rejects.toMatchObject({ code: 'last_admin' });
    const { user: second } = await createUser(db, { username: 'second-admin', role: 'admin', password: 'second-pw-4-ok', mustChangePassword: false });
    await updateUser(db, only.id, { role: 'analyst' });
    await expect(updateUser(db, second.id, { disabled: true })).rejects.toMatchObject({ code: 'last_admin' });
    await updateUser(db, only.id, { role: 'admin' });
    await updateUser(db, second.id, { disabled: true });
  });

  it('hashes with scrypt: salted, verified in constant time, wrong password refused', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same', a)).toBe(true);
    expect(await verifyPassword('Same', a)).toBe(false);
    expect(await verifyPassword('same', 'bcrypt$whatever')).toBe(false);
  });

  it('logs in with a session cookie (HttpOnly, SameSite=Lax), answers /me, logs out', async () => {
    const u = await user('analyst');
    const r = await app.post('/api/auth/login', { username: u.username.toUpperCase(), password: u.password }, { headers: fromIp() });
    expect(r.status, r.text).toBe(200);
    expect(r.body.user).toMatchObject({ id: u.id, username: u.username, role: 'analyst' });
    expect(r.body.user.password_hash).toBeUndefined();
    expect(r.body.token).toBeUndefined();
    const setCookie = r.headers.getSetCookie().find((c) => c.startsWith('tuban_session='))!;
    expect(setCookie).toMatch(/; HttpOnly/i);
    expect(setCookie).toMatch(/; SameSite=Lax/i);
    expect(setCookie).toMatch(/; Path=\//i);
    expect(setCookie).not.toMatch(/; Secure/i); // plain http
    const expires = Date.parse(/Expires=([^;]+)/.exec(setCookie)![1]);
    expect(expires - Date.now()).toBeGreaterThan(29 * 86400_000);

    // only the SHA-256 of the token is stored
    const token = sessionCookie(r.headers)!.split('=')[1];
    const rows = (await db.query<{ token_hash: string }>('SELECT token_hash FROM user_session WHERE user_id = $1', [u.id])).rows;
    expect(rows.map((x) => x.token_hash)).toEqual([createHash('sha256').update(token).digest('hex')]);

    const c = app.client({ cookie: sessionCookie(r.headers) });
    expect((await c.get('/api/auth/me')).body.user).toMatchObject({ username: u.username, villages: null });
    const out = await c.post('/api/auth/logout');
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().join()).toMatch(/tuban_session=;/);
    expectError(await c.get('/api/auth/me'), 401, 'unauthenticated');
    expect((await db.query('SELECT 1 FROM user_session WHERE user_id = $1', [u.id])).rowCount).toBe(0);
  });

  it('marks the cookie Secure behind an https proxy', async () => {
    const u = await user('reviewer');
    const r = await app.post('/api/auth/login', { username: u.username, password: u.password },
      { headers: { ...fromIp(), 'x-forwarded-proto': 'https' } });
    expect(r.headers.getSetCookie().join()).toMatch(/; Secure/i);
  });

  it('refuses a wrong password and an unknown user alike', async () => {
    const u = await user('field');
    const h = { headers: fromIp() };
    const wrong = await app.post('/api/auth/login', { username: u.username, password: 'nope-nope' }, h);
    const unknown = await app.post('/api/auth/login', { username: 'no-such-user', password: 'nope-nope' }, h);
    expectError(wrong, 401, 'invalid_credentials');
    expect(unknown.body).toEqual(wrong.body);
    expect(wrong.headers.getSetCookie()).toEqual([]);
    expectError(await app.post('/api/auth/login', { username: u.username }, h), 400, 'invalid_input');
  });

  it(`rate-limits: ${LOGIN_LIMITS.perUsername} failures per username and IP, then 429 with Retry-After`, async () => {
    const u = await user('analyst');
    const ip = fromIp();
    for (let i = 0; i < LOGIN_LIMITS.perUsername; i++) {
      expectError(await app.post('/api/auth/login', { username: u.username, password: `guess-${i}` }, { headers: ip }), 401, 'invalid_credentials');
    }
    const limited = await app.post('/api/auth/login', { username: u.username, password: 'guess-x' }, { headers: ip });
    expectError(limited, 429, 'too_many_attempts');
    const retry = Number(limited.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(LOGIN_LIMITS.windowSeconds);
    expect(limited.body.error.details.retry_after).toBe(retry);
    // the right password does not get through either while limited
    expectError(await app.post('/api/auth/login', { username: u.username, password: u.password }, { headers: ip }), 429, 'too_many_attempts');
    // from another place, or another username from this one, logins work
    expect((await app.post('/api/auth/login', { username: u.username, password: u.password }, { headers: fromIp() })).status).toBe(200);
    const v = await user('analyst');
    expect((await app.post('/api/auth/login', { username: v.username, password: v.password }, { headers: ip })).status).toBe(200);
  });

  it('counts parallel guesses too (never more than the limit reach the password check)', async () => {
    const u = await user('analyst');
    const ip = fromIp();
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      app.post('/api/auth/login', { username: u.username, password: `guess-${i}` }, { headers: ip })));
    // never more than the limit get a password check; under a race on PostgreSQL a few fewer may (an attempt
    // being refused is briefly counted by the others): erring on the strict side
    const checked = rs.filter((r) => r.status === 401).length;
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(LOGIN_LIMITS.perUsername);
    expect(rs.filter((r) => r.status === 429)).toHaveLength(12 - checked);
  });

  it('forgives earlier failures after a successful login', async () => {
    const u = await user('reviewer');
    const ip = fromIp();
    for (let i = 0; i < LOGIN_LIMITS.perUsername - 1; i++) {
      await app.post('/api/auth/login', { username: u.username, password: 'wrong-pw' }, { headers: ip });
    }
    expect((await app.post('/api/auth/login', { username: u.username, password: u.password }, { headers: ip })).status).toBe(200);
    for (let i = 0; i < LOGIN_LIMITS.perUsername; i++) {
      expect((await app.post('/api/auth/login', { username: u.username, password: 'wrong-pw' }, { headers: ip })).status).toBe(401);
    }
  });

  it('refuses a disabled user and ends their sessions', async () => {
    const admin = await app.as('admin');
    const u = await user('field');
    const c = await app.login(u.username, u.password, fromIp());
    expect((await c.get('/api/auth/me')).status).toBe(200);
    const p = await admin.patch(`/api/users/${u.id}`, { disabled: true });
    expect(p.status, p.text).toBe(200);
    expect(p.body.user.disabled).toBe(true);
    expectError(await c.get('/api/auth/me'), 401, 'unauthenticated');
    expectError(await app.post('/api/auth/login', { username: u.username, password: u.password }, { headers: fromIp() }), 403, 'account_disabled');
    // a wrong password says nothing about the account being disabled
    expectError(await app.post('/api/auth/login', { username: u.username, password: 'wrong-pw' }, { headers: fromIp() }), 401, 'invalid_credentials');
    await admin.patch(`/api/users/${u.id}`, { disabled: false });
    expect((await app.post('/api/auth/login', { username: u.username, password: u.password }, { headers: fromIp() })).status).toBe(200);
  });

  it('issues bearer tokens to API clients from the same session table', async () => {
    const u = await user('reviewer');
    const r = await app.post('/api/auth/login', { username: u.username, password: u.password, token: true }, { headers: fromIp() });
    expect(r.status).toBe(200);
    expect(r.headers.getSetCookie()).toEqual([]);
    expect(r.body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const c = app.client({ token: r.body.token });
    expect((await c.get('/api/auth/me')).body.user.username).toBe(u.username);
    expect((await c.get('/api/layers')).status).toBe(200);
    expect((await c.post('/api/auth/logout')).status).toBe(204);
    expectError(await c.get('/api/auth/me'), 401, 'unauthenticated');
    expectError(await app.client({ token: 'x'.repeat(43) }).get('/api/auth/me'), 401, 'unauthenticated');
  });

  it('slides the session expiry and clears an expired cookie', async () => {
    const u = await user('field');
    const c = await app.login(u.username, u.password, fromIp());
    const hash = createHash('sha256').update(c.cookie!.split('=')[1]).digest('hex');
    await db.query(`UPDATE user_session SET last_seen_at = now() - interval '10 days', expires_at = now() + interval '20 days'
                    WHERE token_hash = $1`, [hash]);
    const r = await c.get('/api/auth/me');
    expect(r.status).toBe(200);
    expect(r.headers.getSetCookie().join()).toMatch(/tuban_session=/); // the browser's expiry slides too
    const s = (await db.query<{ days: number }>(
      `SELECT extract(epoch FROM expires_at - now()) / 86400 AS days FROM user_session WHERE token_hash = $1`, [hash])).rows[0];
    expect(s.days).toBeGreaterThan(29.9);
    // a fresh session is not written on every request
    expect((await c.get('/api/auth/me')).headers.getSetCookie()).toEqual([]);

    await db.query(`UPDATE user_session SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, [hash]);
    const gone = await c.get('/api/auth/me');
    expectError(gone, 401, 'unauthenticated');
    expect(gone.headers.getSetCookie().join()).toMatch(/tuban_session=;/);
  });

  it('refuses cookie-authenticated changes sent from another site', async () => {
    const admin = await app.as('admin');
    const r = await admin.post('/api/users', { username: 'xsite', role: 'field' }, { headers: { 'sec-fetch-site': 'cross-site' } });
    expectError(r, 403, 'cross_site');
    expect((await admin.get('/api/users', { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
    expect((await admin.post('/api/users', { username: 'samesite-ok', role: 'field' }, { headers: { 'sec-fetch-site': 'same-origin' } })).status).toBe(201);
  });

  it('changes the own password: checks the current one, ends the other sessions', async () => {
    const u = await user('analyst');
    const a = await app.login(u.username, u.password, fromIp());
    const b = await app.login(u.username, u.password, fromIp());
    expectError(await a.post('/api/auth/password', { current_password: 'wrong-pw', new_password: 'another-pw-42' }), 400, 'wrong_password');
    expectError(await a.post('/api/auth/password', { current_password: u.password, new_password: 'short' }), 400, 'password_too_short');
    expectError(await a.post('/api/auth/password', { current_password: u.password, new_password: `x${u.username}x1` }), 400, 'password_too_weak');
    expect((await a.post('/api/auth/password', { current_password: u.password, new_password: 'another-pw-42' })).status).toBe(200);
    expect((await a.get('/api/auth/me')).status).toBe(200);
    expectError(await b.get('/api/auth/me'), 401, 'unauthenticated');
    await app.login(u.username, 'another-pw-42', fromIp());
  });

  it('lets an admin create, change and reset accounts; the change applies on the next request', async () => {
    const admin = await app.as('admin');
    const created = await admin.post('/api/users', { username: '张三', role: 'field', display_name: '张三', villages: ['吉安社区', ' 五星村 ', '吉安社区'] });
    expect(created.status, created.text).toBe(201);
    expect(created.body.user).toMatchObject({ username: '张三', role: 'field', villages: ['吉安社区', '五星村'], must_change_password: true });
    expect(created.body.password).toMatch(/^[A-Za-z2-9]{4}(-[A-Za-z2-9]{4}){3}$/);
    expectError(await admin.post('/api/users', { username: '张三', role: 'analyst' }), 409, 'username_taken');
    expectError(await admin.post('/api/users', { username: 'x', role: 'analyst' }), 400, 'invalid_username');
    expectError(await admin.post('/api/users', { username: 'nobody', role: 'boss' }), 400, 'invalid_input');

    const id = created.body.user.id;
    const z = await app.login('张三', created.body.password, fromIp());
    await z.post('/api/auth/password', { current_password: created.body.password, new_password: 'zhangsan-field-1' });
    expect((await z.get('/api/auth/me')).body.user.role).toBe('field');
    const p = await admin.patch(`/api/users/${id}`, { role: 'reviewer', villages: null });
    expect(p.body.user).toMatchObject({ role: 'reviewer', villages: null });
    expect((await z.get('/api/auth/me')).body.user).toMatchObject({ role: 'reviewer', villages: null });

    const reset = await admin.patch(`/api/users/${id}`, { reset_password: true });
    expect(reset.body.password).toBeTruthy();
    expect(reset.body.user.must_change_password).toBe(true);
    expectError(await z.get('/api/auth/me'), 401, 'unauthenticated');
    await app.login('张三', reset.body.password, fromIp());

    expect((await admin.get('/api/users')).body.items.map((u: { username: string }) => u.username)).toContain('张三');
    expectError(await admin.patch('/api/users/999999', { role: 'field' }), 404, 'not_found');
    expectError(await admin.patch(`/api/users/${admin.user.id}`, { disabled: true }), 409, 'cannot_disable_self');
  });

  it('limits a village-limited user to their village', async () => {
    const b = (await db.query<{ id: number }>(
      `INSERT INTO import_batch (region_code, layer_id, survey, file_name, sha256, source_layer, report)
       SELECT $1, id, '2020', 't.zip', 'x', 't', '{}' FROM layer WHERE name = 'survey' RETURNING id`, [TEST_REGION])).rows[0].id;
    const ids = (await db.query<{ id: number; village_name: string }>(
      `INSERT INTO survey_polygon (region_code, survey, code, first_batch_id, batch_id, attrs, geom, area_m2, village_name)
       SELECT $1, '2020', 'T' || i, $2, $2, '{}', g, ST_Area(g), v
       FROM (VALUES (1, '吉安社区'), (2, '吉安社区'), (3, '五星村')) AS t(i, v),
            LATERAL (SELECT ST_Multi(ST_Buffer(ST_Transform(ST_SetSRID(ST_MakePoint(105.9 + i * 0.001, 29.4), 4326), $3::int), 10)) AS g) x
       RETURNING id, village_name`, [TEST_REGION, b, TEST_WORK_SRID])).rows;
    const field = await app.as('field', { villages: ['吉安社区'] });
    const analyst = await app.as('analyst');

    const mine = await field.get('/api/polygons');
    expect(mine.status, mine.text).toBe(200);
    expect(mine.body.total).toBe(2);
    expect(mine.body.items.map((p: { village: string }) => p.village)).toEqual(['吉安社区', '吉安社区']);
    // asking for another village does not widen the scope
    expect((await field.get('/api/polygons', { query: { village: '五星村' } })).body.total).toBe(0);
    const other = ids.find((r) => r.village_name === '五星村')!;
    expectError(await field.get(`/api/polygons/${other.id}`), 404, 'not_found');
    expect((await field.get(`/api/polygons/${ids[0].id}`)).status).toBe(200);
    expect((await analyst.get('/api/polygons')).body.total).toBe(3);
  });

  it('creates demo accounts only when asked (sample loaded), flagged and printed', async () => {
    const out = sink();
    const created = await ensureDemoUsers(db, out);
    expect(created.map((c) => c.username)).toEqual(DEMO_USERS.map((d) => d.username));
    expect(out.text()).toContain('demo-field-2020');
    expect(out.text()).toMatch(/SYNTHETIC/);
    const rows = (await db.query<{ username: string; is_demo: boolean; villages: string[] | null; must_change_password: boolean }>(
      `SELECT username, is_demo, villages, must_change_password FROM app_user WHERE username LIKE 'demo-%' ORDER BY username`)).rows;
    expect(rows.every((r) => r.is_demo && !r.must_change_password)).toBe(true);
    expect(rows.find((r) => r.username === 'demo-field')!.villages).toEqual(['吉安社区']);
    expect(await ensureDemoUsers(db, sink())).toEqual([]);
    const f = await app.login('demo-field', 'demo-field-2020', fromIp());
    expect((await f.get('/api/auth/me')).body.user).toMatchObject({ role: 'field', is_demo: true, villages: ['吉安社区'] });
    // and every later start warns while they are enabled
    const logs = sink();
    await ensureAdmin(db, pino({}, logs), sink());
    expect(logs.text()).toMatch(/demo accounts/);
  });

  it('logs the user of each request, never passwords, tokens or cookies', async () => {
    const logs = sink();
    const logged = await startApp(db, { log: pino({ level: 'info' }, logs) });
    try {
      const u = await user('analyst', 'very-secret-pw-77');
      const r = await logged.post('/api/auth/login', { username: u.username, password: u.password, token: true }, { headers: fromIp() });
      const c = logged.client({ token: r.body.token });
      await c.get('/api/auth/me');
      const ck = await logged.login(u.username, u.password, fromIp());
      await ck.post('/api/auth/password', { current_password: u.password, new_password: 'even-more-secret-88' });
      await new Promise((res) => setTimeout(res, 50));
      const text = logs.text();
      for (const secret of [u.password, 'even-more-secret-88', r.body.token, ck.cookie!.split('=')[1]]) {
        expect(text).not.toContain(secret);
      }
      const me = logs.chunks.map((l) => JSON.parse(l)).find((l) => l.req?.url === '/api/auth/me' && l.res);
      expect(me).toMatchObject({ user: u.username, res: { statusCode: 200 } });
      expect(me.req.headers.authorization).toBe('[Redacted]');
    } finally {
      await logged.close();
    }
  });

  it('serves OpenAPI 3.1 generated from the route table', async () => {
    const r = await app.get('/api/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.1.0');
    for (const s of listRoutes()) {
      const op = r.body.paths[openApiPath(s.path)]?.[s.method];
      expect(op, `${s.method} ${s.path}`).toBeTruthy();
      expect(op['x-roles']).toEqual(s.roles);
    }
    const list = r.body.paths['/api/polygons'].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['bbox', 'village', 'limit', 'status']));
    expect(list.parameters.find((p: { name: string }) => p.name === 'limit').schema).toMatchObject({ type: 'integer', maximum: 1000 });
    expect(r.body.paths['/api/polygons/{id}'].get.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true });
    const login = r.body.paths['/api/auth/login'].post;
    expect(login.security).toEqual([]);
    expect(login.requestBody.content['application/json'].schema.required).toEqual(['username', 'password']);
    expect(r.body.paths['/api/imports'].post.requestBody.content).toHaveProperty('multipart/form-data');
    expect(r.body.paths['/api/users'].get.responses).toHaveProperty('403');
  });
});
