/**
 * Every route in the route table (server/http/openapi.ts) × anonymous and each role: anonymous gets 401
 * on guarded routes, a role not admitted gets 403, an admitted role gets neither. And the table is
 * complete: every route the app serves is in it, and every route in it is served.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { startApp, type TestApp } from '../helpers/api';
import { ROLES, type Role } from '../../server/auth/guard';
import { createSession, SESSION_COOKIE } from '../../server/auth/session';
import { listRoutes, type RouteSpec } from '../../server/http/openapi';

type Who = Role | 'anonymous';

/** method + path of every route mounted on the express app, nested routers included */
function servedRoutes(app: TestApp['express']): string[] {
  const out: string[] = [];
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] }; rawPath?: unknown };
  const walk = (stack: Layer[], prefix: string) => {
    for (const l of stack) {
      if (l.route) {
        for (const m of Object.keys(l.route.methods)) if (m !== '_all') out.push(`${m.toUpperCase()} ${prefix}${l.route.path}`);
      } else if (l.handle?.stack) {
        walk(l.handle.stack, prefix + (typeof l.rawPath === 'string' && l.rawPath !== '/' ? l.rawPath : ''));
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return out.sort();
}

function requestFor(spec: RouteSpec) {
  const path = spec.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_m, name: string) => encodeURIComponent(spec.example?.params?.[name] ?? '1'));
  const hasBody = spec.method !== 'get' && spec.method !== 'delete';
  return { path, query: spec.example?.query, body: hasBody ? (spec.example?.body ?? {}) : undefined };
}

describeEachDb('role × route table', (backend) => {
  let db: TestDb;
  let app: TestApp;
  const users = {} as Record<Role, number>;

  beforeAll(async () => {
    db = await freshDb(backend);
    app = await startApp(db);
    for (const role of ROLES) {
      // the field user is village-limited, like real field accounts: that must never turn into a 401/403
      users[role] = (await app.as(role, role === 'field' ? { villages: ['吉安社区'] } : {})).user.id;
    }
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  it('serves exactly the routes in the table', () => {
    const table = listRoutes().map((s) => `${s.method.toUpperCase()} ${s.path}`).sort();
    expect(table.length).toBeGreaterThan(10);
    expect(servedRoutes(app.express), 'served but not registered (use route() or registerRoute())').toEqual(table);
  });

  for (const who of ['anonymous', ...ROLES] as Who[]) {
    it(`answers ${who} as the table says on every route`, async () => {
      const wrong: string[] = [];
      for (const spec of listRoutes()) {
        // a fresh session per request: logout or a password change must not affect the next one
        const cookie = who === 'anonymous' ? undefined : `${SESSION_COOKIE}=${(await createSession(db, users[who])).token}`;
        const { path, query, body } = requestFor(spec);
        const r = await app.client({ cookie }).request(spec.method.toUpperCase(), path, { query, body });
        const admitted = spec.roles === 'public' || (who !== 'anonymous' && spec.roles.includes(who));
        const expected = admitted ? 'neither 401 nor 403' : who === 'anonymous' ? 401 : 403;
        const ok = admitted
          ? r.status !== 401 && r.status !== 403
          : r.status === expected &&
            r.body?.error?.code === (who === 'anonymous' ? 'unauthenticated' : 'forbidden') &&
            typeof r.body.error.message === 'string' && typeof r.body.error.message_zh === 'string';
        if (!ok) wrong.push(`${spec.method.toUpperCase()} ${spec.path} as ${who}: got ${r.status} ${r.text.slice(0, 120)}, want ${expected}`);
      }
      expect(wrong).toEqual([]);
    });
  }
});
