/**
 * Idempotent writes: the client sends a request id (uuid); the first request with it claims the id in
 * the transaction that does the work and stores the answer; a retry (a lost response, a double click)
 * gets that answer back instead of doing the work twice. Used by decisions and by opening a case.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';

const SQL = sqlSet(new URL('./idempotency.sql', import.meta.url), ['claim_request', 'find_request', 'store_response'] as const);

/** What was asked, minus the request id: the same id with another question is refused. */
export function fingerprint(kind: string, body: object): string {
  const { request_id: _r, ...rest } = body as { request_id?: string };
  return createHash('sha256').update(JSON.stringify([kind, rest])).digest('hex');
}

/**
 * Claims (user, request id) for this transaction. Returns the stored answer when the request was
 * already answered (or was being answered by a concurrent twin, which this call waited for).
 */
export async function claim(q: Queryable, regionCode: string, userId: number, requestId: string, fp: string): Promise<unknown | null> {
  const c = await q.query(SQL.claim_request, [regionCode, userId, requestId, fp]);
  if (c.rows.length) return null;
  const prior = (await q.query<{ fingerprint: string; response: unknown }>(SQL.find_request, [regionCode, userId, requestId])).rows[0];
  if (!prior || prior.response == null) {
    throw new AppError('busy', 'The same request is still being processed, try again', '相同请求正在处理中，请重试', 409);
  }
  if (prior.fingerprint !== fp) {
    throw new AppError(
      'request_id_reused',
      'This request_id was already used for a different request',
      '此 request_id 已用于另一个请求',
      422,
    );
  }
  return prior.response;
}

/** Stores the answer under the claimed id; returns it as a retry will see it (through JSON). */
export async function store<T>(q: Queryable, regionCode: string, userId: number, requestId: string, response: T): Promise<T> {
  const json = JSON.stringify(response);
  await q.query(SQL.store_response, [regionCode, userId, requestId, json]);
  return JSON.parse(json) as T;
}
