/**
 * One spelling per route (issue 12 item 7): upper-case paths, doubled slashes, dot segments and escaped
 * slashes must neither get past the must-change-password gate nor be answered by the web app, and a
 * field-link token never reaches the log in clear, however the path was spelled.
 */
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { startApp, type TestApp } from '../helpers/api';
import { createSession, SESSION_COOKIE } from '../../server/auth/session';
import { createUser } from '../../server/auth/users';
import { createLink } from '../../server/field/links';
import { canonicalize } from '../../server/http/canonical-path';
import { logSafeUrl } from '../../server/http/log-url';
import { REGION, seedPolygons } from './review-helpers';

interface Raw { status: number; type: string; body: any; text: string }

/** node:http, not fetch: fetch would tidy `..`, `%2e` and `//` before the request leaves */
function raw(app: TestApp, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Raw> {
  const u = new URL(app.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers: body ? { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const type = String(res.headers['content-type'] ?? '');
        resolve({ status: res.statusCode ?? 0, type, text, body: type.includes('json') && text ? JSON.parse(text) : text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describeEachDb('canonical paths', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let logged = '';
  let mustChange: Record<string, string>;
  let normal: Record<string, string>;
  let polygonId: number;
  let token: string;

  beforeAll(async () => {
    db = await freshDb(backend);
    const sink = new Writable({ write(chunk, _enc, cb) { logged += String(chunk); cb(); } });
    app = await startApp(db, { log: pino({ level: 'debug' }, sink) });
    [polygonId] = await seedPolygons(db, 1);
    const { user } = await createUser(db, { username: 'otp-user', role: 'admin' }); // one-time password: must change
    mustChange = { cookie: `${SESSION_COOKIE}=${(await createSession(db, user.id)).token}`, origin: app.url };
    const analyst = await app.as('analyst');
    normal = { cookie: analyst.cookie!, origin: app.url };
    token = (await createLink(db, REGION, { id: analyst.user.id, username: analyst.user.username, displayName: '', role: 'analyst', villages: null },
      { polygon_ids: [polygonId] })).token;
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  const expectError = (r: Raw, status: number, code: string) => {
    expect(r.status, r.text.slice(0, 200)).toBe(status);
    expect(r.type).toContain('application/json');
    expect(r.body.error).toMatchObject({ code });
    expect(r.body.error.message_zh).toMatch(/[\u4e00-\u9fff]/);
  };

  it('the canonical spelling is gated for a one-time-password account', async () => {
    for (const p of ['/api/polygons', '/ogc/collections', '/tiles/survey/14/13014/6764.mvt', '/reports/village/吉安村', '/api/exports/ledger.csv']) {
      expectError(await raw(app, 'GET', encodeURI(p), mustChange), 403, 'password_change_required');
    }
    expectError(await raw(app, 'POST', `/api/polygons/${polygonId}/decisions`, mustChange, '{}'), 403, 'password_change_required');
    expect((await raw(app, 'GET', '/api/auth/me', mustChange)).status).toBe(200);
  });

  it('upper-case spellings of the app\'s areas are not routes: 404, never data and never the web app', async () => {
    const variants = ['/API/polygons', '/Api/polygons', '/OGC/collections', '/Ogc/collections/survey/items', '/TILES/survey/14/13014/6764.mvt',
      '/Tiles/survey.json', '/Reports/village/%E5%90%89', '/REPORTS/village/x', '/API/exports/ledger.csv', '/API/exports/polygons.geojson',
      '/MAP-FILES/x.pmtiles', '/P/sheet/x', `/F/${token}`];
    for (const who of [mustChange, normal]) {
      for (const p of variants) expectError(await raw(app, 'GET', p, who), 404, 'not_found');
      expectError(await raw(app, 'POST', `/API/polygons/${polygonId}/decisions`, who, '{}'), 404, 'not_found');
      expectError(await raw(app, 'POST', `/Api/decisions/bulk`, who, '{}'), 404, 'not_found');
    }
    // mixed case further down the path is not a route either (case-sensitive routing), and not the web app
    expectError(await raw(app, 'GET', '/api/Polygons', normal), 404, 'not_found');
    expectError(await raw(app, 'GET', '/api/POLYGONS', mustChange), 403, 'password_change_required');
    // no decision was recorded by any of the above
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM polygon_event')).rows[0].n).toBe(0);
  });

  it('doubled and trailing slashes are the same route, and the same gate', async () => {
    for (const p of ['//api/polygons', '/api//polygons', '/api/polygons/', '//ogc//collections', '///tiles/survey/14/13014/6764.mvt']) {
      expectError(await raw(app, 'GET', p, mustChange), 403, 'password_change_required');
    }
    expectError(await raw(app, 'POST', `//api/polygons/${polygonId}/decisions`, mustChange, '{}'), 403, 'password_change_required');
    const r = await raw(app, 'GET', '//api//polygons/', normal);
    expect(r.status).toBe(200);
    expect(r.body.items.map((i: { id: number }) => i.id)).toEqual([polygonId]);
  });

  it('dot segments, escaped slashes and bad escapes are refused (400 invalid_path)', async () => {
    for (const p of ['/api/./polygons', '/api/../api/polygons', '/tiles/../api/users', '/api/%2e%2e/api/users', '/api/%2E/polygons',
      '/api%2Fpolygons', '/api%5Cpolygons', '//api%2fusers', '/api/polygons/%00', '/api/polygons/%', '/api/polygons/%zz',
      '/api/polygons/%E0%A4%A', '/api/polygons/%FF%FE', '/f/%C0%AF', '/reports/village/%ED%A0%80']) {
      expectError(await raw(app, 'GET', p, mustChange), 400, 'invalid_path');
      expectError(await raw(app, 'GET', p, normal), 400, 'invalid_path');
    }
  });

  it('an escaped slash further down is data, never a separator: no route is reached through it', async () => {
    expectError(await raw(app, 'GET', '/api/polygons%2F1', mustChange), 403, 'password_change_required');
    expectError(await raw(app, 'GET', '/api/polygons%2F1', normal), 404, 'not_found');
    expectError(await raw(app, 'GET', '/api/polygons/1%2F..%2F..%2Fusers', normal), 400, 'invalid_input');
    expectError(await raw(app, 'GET', `/reports/village/${encodeURIComponent('<a/b>')}`, { ...normal, accept: 'application/json' }), 404, 'not_found'); // JSON when asked; a browser gets the HTML 404 page
  });

  it('canonicalize: the rules in one place', () => {
    expect(canonicalize('//api//polygons/')).toBe('/api/polygons');
    expect(canonicalize('/')).toBe('/');
    expect(canonicalize('/p/%E5%90%89')).toBe('/p/%E5%90%89');
    expect(canonicalize('/assets/index-AbC.js')).toBe('/assets/index-AbC.js'); // file names keep their case
    expect(canonicalize('/field/assets/x-Q.js')).toBe('/field/assets/x-Q.js');
    expect(canonicalize('/API/x')).toMatchObject({ code: 'not_found', status: 404 });
    expect(canonicalize('/api%2fb')).toMatchObject({ code: 'invalid_path', status: 400 });
    expect(canonicalize('/reports/village/a%2Fb')).toBe('/reports/village/a%2Fb');
  });

  it('never logs a field-link token, however the path is spelled', async () => {
    logged = '';
    for (const p of [`/f/${token}`, `/F/${token}`, `//f/${token}`, `/f//${token}`, `/f/${token}/`, `/f/${token}?token=${token}`, `/%66/${token}`]) {
      await raw(app, 'GET', p, {});
    }
    await raw(app, 'GET', `/api/field/worklist?access_token=${token}`, { referer: `${app.url}/f/${token}` });
    // the request log line is written when the response finishes, which may be a moment after the client has it
    for (let i = 0; i < 100 && (logged.match(/"url":/g) ?? []).length < 8; i++) await new Promise((r) => setTimeout(r, 20));
    expect((logged.match(/"url":/g) ?? []).length).toBeGreaterThanOrEqual(8);
    expect(logged).toContain('/f/***');
    expect(logged).not.toContain(token);
    expect(logSafeUrl(`/F/${token}?a=1&token=${token}&b=2`)).toBe('/F/***?a=1&token=***&b=2');
    expect(logSafeUrl(`https://h.example/f/${token}#x`)).toBe('https://h.example/f/***#x');
  });
});
