import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';

/**
 * Login limiter, kept in the database (login_attempt) so it holds across processes and restarts.
 * An attempt is recorded BEFORE the password is checked and forgotten when it succeeds, so a burst of
 * parallel guesses is counted as well as a slow series. Limits per (username, IP) — one person mistyping
 * does not lock the account for everyone — and, looser, per IP across usernames (password spraying).
 */
export const LOGIN_LIMITS = {
  perUsername: 5, // failed attempts per username from one IP in the window
  perIp: 50, // failed attempts from one IP, any username (one office NAT is many people)
  windowSeconds: 15 * 60,
} as const;

const SQL = sqlSet(new URL('./auth.sql', import.meta.url), [
  'attempt_insert', 'attempt_counts', 'attempt_retry_after', 'attempt_delete', 'attempts_clear', 'attempts_prune',
] as const);

export interface Attempt {
  id: number;
  key: string;
  ip: string;
}

/** 429; the HTTP layer sends `retryAfterSeconds` as the Retry-After header. */
export class RateLimitedError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    const min = Math.ceil(retryAfterSeconds / 60);
    super('too_many_attempts', `Too many failed attempts; try again in ${min} min`, `尝试次数过多，请 ${min} 分钟后再试`, 429,
      { retry_after: retryAfterSeconds });
    this.name = 'RateLimitedError';
  }
}

/** Records an attempt for (username, ip), or throws RateLimitedError when over a limit. */
export async function beginAttempt(q: Queryable, username: string, ip: string): Promise<Attempt> {
  const key = username.normalize('NFC').trim().toLowerCase().slice(0, 100);
  const w = LOGIN_LIMITS.windowSeconds;
  if (Math.random() < 0.02) await q.query(SQL.attempts_prune, [w]);
  const id = (await q.query<{ id: number }>(SQL.attempt_insert, [key, ip])).rows[0].id;
  const c = (await q.query<{ key_n: number; ip_n: number }>(SQL.attempt_counts, [key, ip, w])).rows[0];
  if (c.key_n <= LOGIN_LIMITS.perUsername && c.ip_n <= LOGIN_LIMITS.perIp) return { id, key, ip };
  // refused before the password was looked at: this one does not count
  await q.query(SQL.attempt_delete, [id]);
  const scope = c.key_n > LOGIN_LIMITS.perUsername ? { key, limit: LOGIN_LIMITS.perUsername } : { key: null, limit: LOGIN_LIMITS.perIp };
  const s = (await q.query<{ seconds: number }>(SQL.attempt_retry_after, [scope.key, ip, w, scope.limit])).rows[0];
  throw new RateLimitedError(s?.seconds ?? 1);
}

/** The password was right: forget this attempt and earlier failures for this username from this IP. */
export async function attemptSucceeded(q: Queryable, a: Attempt) {
  await q.query(SQL.attempts_clear, [a.key, a.ip]);
}
