import { createHash, randomBytes } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AppContext } from '../context';
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';
import { crossSiteRefusal } from './csrf';
import { toPrincipal } from './users';
import {
  CACHEABLE_PATH, cachedSession, dropSession, forgetSession, rememberSession, sessionGeneration, type SessionRow,
} from './session-cache';

/**
 * Sessions: a random 256-bit token, sent as an HTTP-only cookie (browsers) or `Authorization: Bearer`
 * (API clients, benchmarks); the database keeps only its SHA-256. Expiry slides: a session unused for
 * SESSION_TTL_SECONDS ends, one in use lives on — field phones stay logged in through a campaign.
 */
export const SESSION_COOKIE = 'tuban_session';
export const SESSION_TTL_SECONDS = 30 * 24 * 3600;
/** last_seen_at / expires_at are written at most this often per session, not on every request */
const TOUCH_AFTER_SECONDS = 5 * 60;

const SQL = sqlSet(new URL('./auth.sql', import.meta.url), [
  'session_insert', 'session_lookup', 'session_touch', 'session_delete', 'sessions_prune',
] as const);

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/; // 32 bytes, base64url

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export async function createSession(q: Queryable, userId: number, userAgent?: string) {
  const token = randomBytes(32).toString('base64url');
  const r = await q.query<{ expires_at: Date }>(SQL.session_insert, [
    hashToken(token), userId, SESSION_TTL_SECONDS, userAgent?.slice(0, 300) ?? null,
  ]);
  return { token, expiresAt: new Date(r.rows[0].expires_at) };
}

export async function revokeSession(q: Queryable, token: string) {
  const hash = hashToken(token);
  await q.query(SQL.session_delete, [hash]);
  forgetSession(hash);
}

/** The caller's token and how it came: `Authorization: Bearer` wins over the cookie. */
export function sessionToken(req: Pick<Request, 'headers'>): { token: string; via: 'bearer' | 'cookie' } | undefined {
  const auth = req.headers.authorization;
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    return m && TOKEN_RE.test(m[1]) ? { token: m[1], via: 'bearer' } : undefined;
  }
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const v = part.slice(eq + 1).trim();
      return TOKEN_RE.test(v) ? { token: v, via: 'cookie' } : undefined;
    }
  }
  return undefined;
}

export function setSessionCookie(req: Request, res: Response, token: string, expiresAt: Date) {
  res.cookie(SESSION_COOKIE, token, {
    httpOnly: true, // page scripts never see it (an XSS cannot carry the session away)
    // Lax, not Strict: links to a polygon are shared in WeChat/DingTalk and opened in the phone's browser;
    // that first navigation comes from another site, and with Strict the cookie would not be sent, so a
    // logged-in field officer would land on the login screen. Lax still withholds the cookie from
    // cross-site POST/PATCH/DELETE and sub-requests, which is what guards against CSRF.
    sameSite: 'lax',
    // behind a TLS proxy on loopback, X-Forwarded-Proto: https makes req.secure true (trust proxy)
    secure: req.secure,
    path: '/',
    expires: expiresAt,
  });
}

export function clearSessionCookie(req: Request, res: Response) {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/' });
}

/** What a user who must change their password may still call. */
const WHILE_MUST_CHANGE = new Set(['/api/auth/me', '/api/auth/password', '/api/auth/logout', '/api/auth/login', '/api/health', '/api/openapi.json']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** what a user who must change their password may not reach (beyond WHILE_MUST_CHANGE) */
const MUST_CHANGE_GATED = /^\/(api|tiles|ogc|reports|map-files)(\/|$)/i;

/**
 * Middleware that sets req.principal from the session, or leaves it unset (anonymous: guarded routes
 * answer 401). An unknown or expired cookie is cleared.
 *
 * Map data (GET/HEAD under /tiles, /map-files, /ogc) may be answered from a lookup made in the last
 * SESSION_CACHE_MS (session-cache.ts: what that means for a revoked session); everything else asks the
 * database every time.
 */
export async function authenticate(ctx: AppContext): Promise<RequestHandler> {
  await ctx.db.query(SQL.sessions_prune);
  return async (req, res, next) => {
    const t = sessionToken(req);
    if (!t) return next();
    const hash = hashToken(t.token);
    let s = SAFE_METHODS.has(req.method) && CACHEABLE_PATH.test(req.path) ? cachedSession(ctx.db, hash) : undefined;
    if (s) return admit(req, s, next);
    const generation = sessionGeneration();
    s = (await ctx.db.query<SessionRow>(SQL.session_lookup, [hash, TOUCH_AFTER_SECONDS])).rows[0];
    if (!s) {
      dropSession(hash);
      if (t.via === 'cookie') clearSessionCookie(req, res);
      return next();
    }
    // Beside SameSite=Lax: a cookie-authenticated change must come from our own pages (auth/csrf.ts). A
    // request that also names a field link (a custom header: never sent cross-site without a CORS
    // preflight, which tuban never grants) acts as the link, not as this session.
    if (t.via === 'cookie' && !SAFE_METHODS.has(req.method) && req.headers['x-field-token'] === undefined) {
      const refusal = crossSiteRefusal(req, ctx.config.publicOrigins);
      if (refusal) return next(refusal);
    }
    if (s.stale) {
      const r = await ctx.db.query<{ expires_at: Date }>(SQL.session_touch, [hash, SESSION_TTL_SECONDS]);
      if (r.rows[0]) {
        s = { ...s, stale: false, expires_at: r.rows[0].expires_at };
        // the browser's cookie expiry slides with the session
        if (t.via === 'cookie') setSessionCookie(req, res, t.token, new Date(r.rows[0].expires_at));
      }
    }
    rememberSession(ctx.db, hash, s, generation);
    admit(req, s, next);
  };
}

/**
 * The caller's session as looked up by this process within SESSION_CACHE_MS, if it was; never asks the
 * database. For read-only map data only (the tile fast path, routes/tiles.ts), under the same bound.
 */
export function rememberedSession(db: object, req: Pick<Request, 'headers'>): SessionRow | undefined {
  const t = sessionToken(req);
  return t && cachedSession(db, hashToken(t.token));
}

function admit(req: Request, s: SessionRow, next: NextFunction) {
  req.principal = toPrincipal(s);
  // data routes only (/api, /tiles, …): the page itself and its assets must still load to show the form.
  // req.path is canonical by now (http/canonical-path.ts: lower case, no //, no dot segments), so this test
  // and the router agree; the `i` flag is defence in depth should a route ever be mounted before that.
  if (s.must_change_password && MUST_CHANGE_GATED.test(req.path) && !WHILE_MUST_CHANGE.has(req.path)) {
    return next(new AppError('password_change_required', 'Change your password first', '请先修改密码', 403));
  }
  next();
}
