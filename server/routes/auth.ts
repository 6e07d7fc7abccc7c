import { readFileSync } from 'node:fs';
import { type ErrorRequestHandler } from 'express';
import { router } from '../http/canonical-path';
import { z } from 'zod';
import { int4PositiveParam } from '../http/schemas';
import type { AppContext } from '../context';
import { AppError } from '../errors';
import { ROLES } from '../auth/guard';
import { RateLimitedError } from '../auth/limiter';
import { PASSWORD_MAX } from '../auth/password';
import {
  clearSessionCookie, createSession, hashToken, revokeSession, sessionToken, setSessionCookie,
} from '../auth/session';
import {
  changePassword, checkLogin, checkOwnPassword, createUser, DEMO_DISABLED_NOTICE, DEMO_DISABLED_REASON, getUser, listUsers, resetPassword,
  toPrincipal, toUser, updateUser,
} from '../auth/users';
import { openApiDocument, route } from '../http/openapi';
import './specs';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

// ---- schemas (exported: the web client and tests use the same shapes) ----

const Villages = z.array(z.string().trim().min(1).max(60)).min(1).max(500).nullable()
  .describe('村（社区） names the user is limited to; null = all villages');

export const UserOut = z.object({
  id: z.number().int(),
  username: z.string(),
  display_name: z.string(),
  role: z.enum(ROLES),
  villages: z.array(z.string()).nullable(),
  must_change_password: z.boolean(),
  disabled: z.boolean(),
  is_demo: z.boolean().describe('demo account of the synthetic sample town (published password)'),
  disabled_reason: z.string().nullable().describe("why the system disabled the account: 'real_data_imported' (a demo account, once real data was imported); null otherwise"),
  created_at: z.iso.datetime(),
  last_login_at: z.iso.datetime().nullable(),
});

export const LoginBody = z.object({
  username: z.string().trim().min(1).max(100),
  password: z.string().min(1).max(1024),
  token: z.boolean().optional().describe('true: return a bearer token in the body and set no cookie (API clients)'),
});
const LoginOut = z.object({ user: UserOut, expires_at: z.iso.datetime(), token: z.string().optional() });

export const PasswordBody = z.object({
  current_password: z.string().min(1).max(1024),
  new_password: z.string().min(1).max(PASSWORD_MAX),
});

export const NewUserBody = z.object({
  username: z.string().min(1).max(40),
  role: z.enum(ROLES),
  display_name: z.string().trim().max(60).optional(),
  villages: Villages.optional(),
});

export const UserPatchBody = z.object({
  display_name: z.string().trim().max(60).optional(),
  role: z.enum(ROLES).optional(),
  villages: Villages.optional(),
  disabled: z.boolean().optional(),
  reset_password: z.literal(true).optional().describe('issue a one-time password (returned once) and end all sessions'),
});
const UserWithPassword = z.object({
  user: UserOut,
  password: z.string().optional().describe('one-time password: shown once, must be changed at first login'),
});
const UserId = z.object({ id: int4PositiveParam() });

/** Login, logout, own account; admin user management; the OpenAPI document. */
export function authRoutes(ctx: AppContext) {
  const r = router();
  const { db } = ctx;
  const ANY = ROLES;

  route(r, {
    method: 'post', path: '/api/auth/login', tags: ['auth'], roles: 'public',
    summary: 'Log in: sets the session cookie (or returns a bearer token)', summary_zh: '登录',
    description: '5 failed attempts per username and IP in 15 minutes → 429 with Retry-After.',
    body: LoginBody, response: LoginOut,
  }, async (req, res) => {
    const b = LoginBody.parse(req.body ?? {});
    const ip = req.ip ?? 'unknown';
    let u: Awaited<ReturnType<typeof checkLogin>>;
    try {
      u = await checkLogin(db, b.username, b.password, ip);
    } catch (e) {
      if (e instanceof AppError) req.log?.info({ username: b.username, ip, code: e.code }, 'login refused');
      throw e;
    }
    // a new login replaces the session this browser had
    const old = sessionToken(req);
    if (old?.via === 'cookie') await revokeSession(db, old.token);
    const s = await createSession(db, u.id, req.get('user-agent'));
    req.principal = toPrincipal(u); // for the request log line
    req.log?.info({ username: u.username, ip, bearer: !!b.token }, 'login');
    if (b.token) {
      res.json({ user: toUser(u), expires_at: s.expiresAt, token: s.token });
    } else {
      setSessionCookie(req, res, s.token, s.expiresAt);
      res.json({ user: toUser(u), expires_at: s.expiresAt });
    }
  });

  route(r, {
    method: 'post', path: '/api/auth/logout', tags: ['auth'], roles: 'public', status: 204,
    summary: 'Log out: ends this session (cookie or bearer token); idempotent', summary_zh: '退出登录',
  }, async (req, res) => {
    const t = sessionToken(req);
    if (t) await revokeSession(db, t.token);
    if (t?.via !== 'bearer') clearSessionCookie(req, res);
    res.status(204).end();
  });

  route(r, {
    method: 'get', path: '/api/auth/me', tags: ['auth'], roles: ANY,
    summary: 'The logged-in account', summary_zh: '当前用户',
    response: z.object({ user: UserOut }),
  }, async (req, res) => {
    const u = await getUser(db, req.principal!.id);
    if (!u) throw new AppError('unauthenticated', 'Log in first', '请先登录', 401);
    res.json({ user: toUser(u) });
  });

  route(r, {
    method: 'post', path: '/api/auth/password', tags: ['auth'], roles: ANY,
    summary: 'Change own password; ends the account\'s other sessions', summary_zh: '修改密码',
    body: PasswordBody, response: z.object({ user: UserOut }),
  }, async (req, res) => {
    const b = PasswordBody.parse(req.body ?? {});
    const u = await getUser(db, req.principal!.id);
    if (!u) throw new AppError('unauthenticated', 'Log in first', '请先登录', 401);
    // under the login limiter: a borrowed session must not be able to guess the current password either
    await checkOwnPassword(db, u, b.current_password, req.ip ?? 'unknown');
    if (b.new_password === b.current_password) {
      throw new AppError('password_unchanged', 'Choose a password different from the current one', '新密码不能与当前密码相同', 400);
    }
    const t = sessionToken(req);
    await changePassword(db, u, b.new_password, t ? hashToken(t.token) : null);
    req.log?.info({ username: u.username }, 'password changed');
    res.json({ user: toUser((await getUser(db, u.id))!) });
  });

  // ---- admin: accounts ----

  route(r, {
    method: 'get', path: '/api/users', tags: ['users'], roles: ['admin'],
    summary: 'All accounts', summary_zh: '用户列表',
    response: z.object({
      items: z.array(UserOut),
      notices: z.array(z.object({ code: z.string(), message: z.string(), message_zh: z.string(), accounts: z.array(z.string()) }))
        .describe('what the system did to accounts by itself, e.g. demo accounts disabled when real data was imported'),
    }),
  }, async (_req, res) => {
    const items = await listUsers(db);
    const demoOff = items.filter((u) => u.is_demo && u.disabled_reason === DEMO_DISABLED_REASON).map((u) => u.username);
    res.json({ items, notices: demoOff.length ? [{ ...DEMO_DISABLED_NOTICE, accounts: demoOff }] : [] });
  });

  route(r, {
    method: 'post', path: '/api/users', tags: ['users'], roles: ['admin'], status: 201,
    summary: 'Create an account; returns its one-time password once', summary_zh: '新建用户',
    body: NewUserBody, response: UserWithPassword,
  }, async (req, res) => {
    const b = NewUserBody.parse(req.body ?? {});
    const { user, password } = await createUser(db, { username: b.username, role: b.role, displayName: b.display_name, villages: b.villages });
    req.log?.info({ by: req.principal!.username, username: user.username, role: user.role, villages: user.villages }, 'user created');
    res.status(201).json({ user, password });
  });

  route(r, {
    method: 'patch', path: '/api/users/:id', tags: ['users'], roles: ['admin'],
    summary: 'Change role, villages, display name, disabled; or reset the password', summary_zh: '修改用户',
    description: 'Takes effect on the user\'s next request. Disabling or resetting ends their sessions. ' +
      'The last enabled admin cannot be demoted or disabled (409 last_admin).',
    params: UserId, body: UserPatchBody, response: UserWithPassword,
  }, async (req, res) => {
    const { id } = UserId.parse(req.params);
    const b = UserPatchBody.parse(req.body ?? {});
    if (id === req.principal!.id && b.disabled) {
      throw new AppError('cannot_disable_self', 'You cannot disable your own account', '不能停用自己的账号', 409);
    }
    let user = await updateUser(db, id, { displayName: b.display_name, role: b.role, villages: b.villages, disabled: b.disabled });
    let password: string | undefined;
    if (b.reset_password) {
      password = await resetPassword(db, id);
      user = toUser((await getUser(db, id))!);
    }
    const { reset_password: _r, ...changes } = b;
    req.log?.info({ by: req.principal!.username, username: user.username, changes, reset_password: !!b.reset_password }, 'user changed');
    res.json(password ? { user, password } : { user });
  });

  route(r, {
    method: 'get', path: '/api/openapi.json', tags: ['meta'], roles: 'public',
    summary: 'This API as OpenAPI 3.1, generated from the route table', summary_zh: '接口说明（OpenAPI）',
  }, (_req, res) => {
    res.json(openApiDocument({ version: VERSION }));
  });

  // 429s from the login limiter carry Retry-After; the app's error handler writes the body
  const retryAfter: ErrorRequestHandler = (err, _req, res, next) => {
    if (err instanceof RateLimitedError) res.set('Retry-After', String(err.retryAfterSeconds));
    next(err);
  };
  r.use(retryAfter);
  return r;
}
