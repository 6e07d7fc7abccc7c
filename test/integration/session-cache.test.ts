import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { startApp, type Client, type TestApp } from '../helpers/api';
import { createSession, hashToken, SESSION_COOKIE } from '../../server/auth/session';
import { SESSION_CACHE_MS } from '../../server/auth/session-cache';
import { createUser } from '../../server/auth/users';

/**
 * Map tiles may be answered from a session lookup remembered for SESSION_CACHE_MS (server/auth/session-cache.ts).
 * These tests pin down the security bound: whatever ends or changes a session in this process shows on the
 * very next tile; a session deleted behind the app's back is refused by the API at once and by tiles within
 * the bound.
 */

/** far from any data and outside the work CRS: 204 for anyone logged in, 401 for anyone else */
const TILE = '/tiles/survey/16/0/0.mvt';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let ipSeq = 40;
const fromIp = () => ({ 'x-forwarded-for': `10.0.1.${ipSeq++}` });

describeEachDb('session cache (map tiles)', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let admin: Client;

  beforeAll(async () => {
    db = await freshDb(backend);
    app = await startApp(db);
    admin = await app.as('admin');
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  const sessionClient = async (userId: number) => app.client({ cookie: `${SESSION_COOKIE}=${(await createSession(db, userId)).token}` });
  const tokenOf = (c: Client) => c.cookie!.split('=')[1];

  it('serves tiles from a remembered lookup, the API never; a session deleted behind its back ends within the bound', async () => {
    const u = await app.as('analyst');
    const other = await sessionClient(u.user.id);
    expect((await u.get(TILE)).status).toBe(204); // looked up, remembered
    expect((await other.get(TILE)).status).toBe(204);
    // out of band (another process, SQL by hand): this process is not told
    await db.query('DELETE FROM user_session WHERE user_id = $1', [u.user.id]);
    const t0 = Date.now();
    expect((await u.get(TILE)).status).toBe(204); // remembered: no database round trip
    // the API asks the database every time
    expect((await other.get('/api/auth/me')).status).toBe(401);
    expect((await other.get(TILE)).status).toBe(401); // …and a refused lookup is not remembered either
    await sleep(Math.max(0, SESSION_CACHE_MS + 100 - (Date.now() - t0)));
    expect((await u.get(TILE)).status).toBe(401);
  });

  it('serves OGC reads from a remembered lookup too (a GIS client pages in thousands of requests), within the same bound', async () => {
    const u = await app.as('reviewer');
    const OGC = '/ogc/collections/parcels/items?limit=1';
    expect((await u.get(OGC)).status).toBe(200);
    await db.query('DELETE FROM user_session WHERE user_id = $1', [u.user.id]);
    const t0 = Date.now();
    expect((await u.get(OGC)).status).toBe(200); // remembered: no database round trip for the session
    await sleep(Math.max(0, SESSION_CACHE_MS + 100 - (Date.now() - t0)));
    expect((await u.get(OGC)).status).toBe(401);
  });

  it('logout ends tile access at once', async () => {
    const u = await app.as('analyst');
    const c = await app.login(u.user.username, u.password, fromIp());
    expect((await c.get(TILE)).status).toBe(204);
    expect((await c.post('/api/auth/logout')).status).toBe(204);
    expect((await c.get(TILE)).status).toBe(401);
    expect((await db.query('SELECT 1 FROM user_session WHERE token_hash = $1', [hashToken(tokenOf(c))])).rowCount).toBe(0);
  });

  it('disabling an account ends its tile access at once', async () => {
    const u = await app.as('field');
    expect((await u.get(TILE)).status).toBe(204);
    expect((await admin.patch(`/api/users/${u.user.id}`, { disabled: true })).status).toBe(200);
    expect((await u.get(TILE)).status).toBe(401);
  });

  it('a role or village change shows on the next tile', async () => {
    const u = await app.as('field', { villages: ['东村'] });
    const first = await u.get(TILE);
    expect(first.status).toBe(204);
    // survey tile ETags carry the village scope
    expect((await admin.patch(`/api/users/${u.user.id}`, { villages: ['西村'] })).status).toBe(200);
    const second = await u.get(TILE);
    expect(second.status).toBe(204);
    expect(second.headers.get('etag')).not.toBe(first.headers.get('etag'));
    expect((await u.get(TILE, { headers: { 'if-none-match': first.headers.get('etag')! } })).status).toBe(204);
    expect((await admin.patch(`/api/users/${u.user.id}`, { villages: null })).status).toBe(200);
    expect((await u.get(TILE)).headers.get('etag')).not.toBe(second.headers.get('etag'));
  });

  it('a password reset ends tile access at once; a password change ends the other sessions and lifts must-change', async () => {
    const r = await app.as('reviewer');
    expect((await r.get(TILE)).status).toBe(204);
    expect((await admin.patch(`/api/users/${r.user.id}`, { reset_password: true })).status).toBe(200);
    expect((await r.get(TILE)).status).toBe(401);

    const password = 'old-password-71x';
    const { user } = await createUser(db, { username: `mc${Date.now() % 1e6}`, role: 'analyst', password, mustChangePassword: true });
    const mine = await sessionClient(user.id);
    const elsewhere = await sessionClient(user.id);
    expect((await mine.get(TILE)).body.error?.code).toBe('password_change_required'); // remembered with must-change
    expect((await elsewhere.get(TILE)).status).toBe(403);
    const changed = await mine.post('/api/auth/password', { current_password: password, new_password: 'new-password-82y' }, { headers: fromIp() });
    expect(changed.status, changed.text).toBe(200);
    expect((await mine.get(TILE)).status).toBe(204);
    expect((await elsewhere.get(TILE)).status).toBe(401);
  });
});
