import type { Db, Queryable } from '../db/types';
import { AppError } from '../errors';

const RETRYABLE = new Set(['40P01', '40001']); // deadlock detected, serialization failure

/**
 * Runs fn in a transaction; retries a few times when PostgreSQL aborts it for a deadlock or a
 * serialization failure (safe: every decision is idempotent by request id, and a failed attempt left
 * nothing behind). Unique violations of the review tables become clear 409s.
 */
export async function inTx<T>(db: Db, fn: (q: Queryable) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.tx(fn);
    } catch (e) {
      const code = (e as { code?: string })?.code;
      if (code && RETRYABLE.has(code) && attempt < 4) {
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 10));
        continue;
      }
      throw mapDbError(e);
    }
  }
}

export function mapDbError(e: unknown): unknown {
  const err = e as { code?: string; constraint?: string; message?: string };
  if (err?.code === '23505' && (err.constraint === 'case_polygon_one_open_idx' || err.message?.includes('case_polygon_one_open_idx'))) {
    return new AppError('polygon_in_open_case', 'The polygon is already in an open case', '该图斑已在一个未结案件中', 409);
  }
  if (err?.code && RETRYABLE.has(err.code)) {
    return new AppError('busy', 'Too many simultaneous changes, try again', '同时修改过多，请重试', 409);
  }
  return e;
}
