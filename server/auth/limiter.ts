import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';

/**
 * Login limiter, kept in the database (login_attempt, login_known_address) so it holds across processes
 * and restarts. An attempt is recorded BEFORE the password is checked and forgotten when it succeeds, so a
 * burst of parallel guesses is counted as well as a slow series. Three limits:
 *   - per (username, IP): one person mistyping does not lock the account for everyone;
 *   - per IP across usernames, looser (password spraying; one office NAT is many people);
 *   - per account across addresses (issue 12 item 8: 30 wrong passwords from 30 addresses got no 429):
 *     after ACCOUNT_BACKOFF.freeFailures failures since the account's last successful login, each further
 *     attempt must wait 1, 2, 4 … seconds after the previous failure, capped at capSeconds (5 min).
 *
 * Why the owner is not locked out by the account backoff: an attacker who keeps failing keeps the account
 * in backoff, so an address that has logged in to this account successfully before (login_known_address,
 * the last KNOWN_ADDRESS_DAYS) is let through it — still under its per-address limit. An attacker would
 * have to guess from the owner's own office or home address. Letting through any address that has no
 * failures yet (the other option) was rejected: every fresh address of a botnet would get a guess, which
 * is exactly the attack the account backoff is for. The cost: the owner on a new address during an attack
 * waits at most capSeconds after the attacker's last failure. A success resets the backoff (failures before
 * app_user.last_login_at no longer count).
 */
export const LOGIN_LIMITS = {
  perUsername: 5, // failed attempts per username from one IP in the window
  perIp: 50, // failed attempts from one IP, any username (one office NAT is many people)
  windowSeconds: 15 * 60,
} as const;

export const ACCOUNT_BACKOFF = {
  freeFailures: 10, // failures on one account (any address) before the backoff starts
  baseSeconds: 1,
  capSeconds: 5 * 60,
} as const;

/** an address that logged in to an account within this many days passes that account's backoff */
export const KNOWN_ADDRESS_DAYS = 90;

/** Seconds an attempt must wait after the previous failure, given `failures` on the account (0 = none). */
export function accountBackoffSeconds(failures: number): number {
  const over = failures - ACCOUNT_BACKOFF.freeFailures;
  if (over < 0) return 0;
  return Math.min(ACCOUNT_BACKOFF.capSeconds, ACCOUNT_BACKOFF.baseSeconds * 2 ** Math.min(over, 30));
}

const SQL = sqlSet(new URL('./auth.sql', import.meta.url), [
  'attempt_insert', 'attempt_counts', 'attempt_retry_after', 'attempt_delete', 'attempts_clear', 'attempts_prune',
  'account_failures', 'known_address', 'known_address_upsert', 'known_addresses_prune',
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
  if (Math.random() < 0.02) {
    await q.query(SQL.attempts_prune, [w]);
    await q.query(SQL.known_addresses_prune, [KNOWN_ADDRESS_DAYS]);
  }
  const id = (await q.query<{ id: number }>(SQL.attempt_insert, [key, ip])).rows[0].id;
  const c = (await q.query<{ key_n: number; ip_n: number }>(SQL.attempt_counts, [key, ip, w])).rows[0];
  if (c.key_n > LOGIN_LIMITS.perUsername || c.ip_n > LOGIN_LIMITS.perIp) {
    // refused before the password was looked at: this one does not count
    await q.query(SQL.attempt_delete, [id]);
    const scope = c.key_n > LOGIN_LIMITS.perUsername ? { key, limit: LOGIN_LIMITS.perUsername } : { key: null, limit: LOGIN_LIMITS.perIp };
    const s = (await q.query<{ seconds: number }>(SQL.attempt_retry_after, [scope.key, ip, w, scope.limit])).rows[0];
    throw new RateLimitedError(s?.seconds ?? 1);
  }
  const a = (await q.query<{ n: number; since_last: number }>(SQL.account_failures, [key, w, id])).rows[0];
  const wait = accountBackoffSeconds(a.n);
  if (wait > a.since_last) {
    const known = (await q.query<{ known: boolean }>(SQL.known_address, [key, ip, KNOWN_ADDRESS_DAYS])).rows[0].known;
    if (!known) {
      await q.query(SQL.attempt_delete, [id]);
      throw new RateLimitedError(Math.max(1, Math.ceil(wait - a.since_last)));
    }
  }
  return { id, key, ip };
}

/**
 * The password was right: forget this attempt and earlier failures for this username from this IP, and
 * remember the address as one this account logs in from (it passes the account's backoff from now on).
 */
export async function attemptSucceeded(q: Queryable, a: Attempt) {
  await q.query(SQL.attempts_clear, [a.key, a.ip]);
  await q.query(SQL.known_address_upsert, [a.key, a.ip]);
}
