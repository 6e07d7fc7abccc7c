/**
 * Zod building blocks for what PostgreSQL can hold, so a value it would refuse is refused at the edge with
 * a field name instead of surfacing as a database error (http/errors.ts maps SQLSTATE class 22 to 400 as
 * the net under these):
 *   - ids, versions, batch numbers are int4 columns: 1 … 2³¹−1 (22003 numeric_value_out_of_range);
 *   - timestamps: PostgreSQL has no year 0 and JS dates stop at ±275760 (22008 datetime_field_overflow);
 *   - text never holds NUL (22021 character_not_in_repertoire) — app.ts refuses it in every query and
 *     JSON body up front (refuseNul below), and the multipart wrapper in its fields.
 */
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../errors';

export const INT4_MAX = 2_147_483_647;

/** a row id or a version: 1 … 2³¹−1 (JSON number) */
export const int4Positive = () => z.number().int().positive().max(INT4_MAX);
/** the same from a path or query string */
export const int4PositiveParam = () => z.coerce.number().int().positive().max(INT4_MAX);

/** ISO 8601 instant with an offset, years 1900–2999 (a phone clock reset to 1970 is still a time) */
export const isoInstant = () =>
  z.iso.datetime({ offset: true }).refine((s) => {
    const y = Number(s.slice(0, 4));
    return y >= 1900 && y <= 2999 && Number.isFinite(Date.parse(s));
  }, 'time out of range (years 1900–2999)');

/** where in a parsed query or body the first NUL character is, or undefined */
export function nulAt(v: unknown, path = ''): string | undefined {
  if (typeof v === 'string') return v.includes('\u0000') ? path || '(value)' : undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = nulAt(v[i], `${path}${path ? '.' : ''}${i}`);
      if (p) return p;
    }
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const here = `${path}${path ? '.' : ''}${k}`;
      if (k.includes('\u0000')) return here;
      const p = nulAt(x, here);
      if (p) return p;
    }
  }
  return undefined;
}

export const nulError = (where: string) =>
  new AppError('invalid_input', `Invalid input: ${where} contains a NUL character`, `输入无效：${where} 含有空字符（NUL）`, 400,
    [{ path: where, message: 'NUL character not allowed' }]);

/** 400 for a NUL character anywhere in the query string or a parsed JSON body: no text column can hold one. */
export const refuseNul: RequestHandler = (req, _res, next) => {
  const q = nulAt(req.query);
  if (q) return next(nulError(`query.${q}`));
  const b = nulAt(req.body);
  next(b ? nulError(b === '(value)' ? 'body' : b) : undefined);
};
