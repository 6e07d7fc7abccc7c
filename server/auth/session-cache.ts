/**
 * A short-lived, in-process memory of session lookups, used ONLY for read-only map data (GET/HEAD under
 * /tiles, /map-files and /ogc): one map view fetches dozens of tiles in a second, and the session query was
 * the largest fixed cost of a small tile (a round trip plus planning, 1–2 ms on a 1–4 ms tile); a GIS
 * client pages an OGC collection in tens of thousands of small requests (GDAL 3.6 asks for 10 features a
 * page), where it was one of three round trips per page.
 *
 * Security bound — what a revoked session can still do, and for how long:
 *   - Revoked in THIS process (logout, an admin disabling the account or changing its role/villages, a
 *     password reset or change: everything that goes through server/auth/{session,users}.ts): nothing.
 *     The entries of that token / user are dropped when the change commits, and a lookup that was already
 *     in flight when it happened is not remembered (generation counter below).
 *   - Revoked elsewhere (`npm run users -- disable` in another process, a second server process, SQL by
 *     hand, a session expiring): it can keep reading map tiles and OGC features for at most SESSION_CACHE_MS after this
 *     process last looked it up in the database. Every other request (the API, writes, /api/auth/me, the
 *     page) always asks the database, so such a session can change nothing and read no API data.
 *   - An entry never outlives the session's own expires_at.
 * Only positive lookups are kept; at most MAX_ENTRIES (oldest dropped first).
 */
import type { User } from './users';

export const SESSION_CACHE_MS = 3_000;
const MAX_ENTRIES = 10_000;

/** The session lookup's row (auth.sql session_lookup): the account's fields it selects, and the session's. */
export type SessionRow = Pick<User, 'id' | 'username' | 'display_name' | 'role' | 'villages' | 'must_change_password'> & {
  stale: boolean;
  expires_at: Date;
};

interface Entry {
  /** the database the row came from (several apps may share a process, e.g. in tests) */
  db: object;
  row: SessionRow;
  /** ms epoch: forgotten after this */
  until: number;
}

const entries = new Map<string, Entry>();
/** bumped by every invalidation: a lookup that started before one is not remembered */
let generation = 0;

/** Read-only map data: the only requests served from remembered lookups. */
export const CACHEABLE_PATH = /^\/(tiles|map-files|ogc)(\/|$)/;

export const sessionGeneration = () => generation;

export function cachedSession(db: object, tokenHash: string, now = Date.now()): SessionRow | undefined {
  const e = entries.get(tokenHash);
  if (!e) return undefined;
  if (e.until <= now || e.db !== db) {
    if (e.until <= now) entries.delete(tokenHash);
    return undefined;
  }
  return e.row;
}

/** Remembers a row just read from the database, unless an invalidation happened since `startedAt`. */
export function rememberSession(db: object, tokenHash: string, row: SessionRow, startedAt: number, now = Date.now()) {
  if (startedAt !== generation) return;
  const until = Math.min(now + SESSION_CACHE_MS, new Date(row.expires_at).getTime());
  if (until <= now) return;
  entries.delete(tokenHash);
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  entries.set(tokenHash, { db, row: { ...row, stale: false }, until });
}

/** This session ended (logout, revoked). */
export function forgetSession(tokenHash: string) {
  generation++;
  entries.delete(tokenHash);
}

/**
 * The database no longer knows this token. No generation bump (a stream of made-up tokens must not stop
 * the cache from working): whoever revoked it in this process bumped it already.
 */
export function dropSession(tokenHash: string) {
  entries.delete(tokenHash);
}

/** Everything about this user changed or ended (disabled, role, villages, password). */
export function forgetUserSessions(userId: number) {
  generation++;
  for (const [k, e] of entries) if (e.row.id === userId) entries.delete(k);
}

/** Tests, or anything that changed accounts or sessions behind this module's back. */
export function forgetAllSessions() {
  generation++;
  entries.clear();
}
