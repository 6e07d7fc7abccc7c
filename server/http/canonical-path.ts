import { Router, type RequestHandler } from 'express';
import { AppError } from '../errors';

/**
 * One spelling per resource, settled before any path-based decision (the must-change-password gate, the
 * field-link fence, the session cache's tile rule, the web app's fallback) and before routing, so that every
 * such check and the router see the same path (issue 12 item 7: `/API/polygons` was routed — express
 * matched case-insensitively — while the gate's regular expression did not recognise it).
 *
 *   - Routing is case-sensitive (app.ts `case sensitive routing`, and every Router from `router()` below).
 *   - The app's own areas are spelled in lower case: `/API/…`, `/Tiles/…`, `/F/<token>` answer 404 here,
 *     instead of falling through to the web app's index.html.
 *   - Every percent-escape must decode (UTF-8); an escaped NUL, an escaped `/` or `\` in the first segment
 *     (`/api%2Fusers`), and `.`/`..` segments (literal or escaped) are refused with 400 invalid_path.
 *     Browsers resolve dot segments before sending, so only a crafted request has one.
 *   - Repeated slashes collapse and a trailing slash goes (`//api//polygons/` is `/api/polygons`): req.url is
 *     rewritten, so everything after this middleware sees the canonical path.
 */
const AREAS = new Set(['api', 'tiles', 'ogc', 'reports', 'map-files', 'f', 'p', 'field']);

const invalidPath = (why: string) =>
  new AppError('invalid_path', `The request path is not valid: ${why}`, '请求路径无效（编码错误、含 “.” / “..” 段或转义的斜杠）', 400);

/** The canonical form of a raw request path (no query), or an AppError saying why there is none. */
export function canonicalize(raw: string): string | AppError {
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return invalidPath('a % that is not a percent-escape');
  if (/%00/.test(raw)) return invalidPath('an escaped NUL');
  const segments = raw.split('/');
  // the area (`/api`, `/tiles`, …) is what every path-based check keys on: no escaped separator in it.
  // Further down an escaped slash is data (`/reports/village/a%2Fb`): express matches the path as sent and
  // decodes only parameter values, so it never splits a segment in two for the router or a check.
  if (/%(2f|5c)/i.test(segments[1] ?? '') || /%(2f|5c)/i.test((raw.match(/^\/+[^/]*/) ?? [''])[0])) {
    return invalidPath('an escaped slash or backslash in the first segment');
  }
  for (const s of segments) {
    let d: string;
    try {
      d = decodeURIComponent(s);
    } catch {
      return invalidPath('a percent-escape that is not UTF-8');
    }
    if (d === '.' || d === '..') return invalidPath('a "." or ".." segment');
  }
  let path = raw.replace(/\/{2,}/g, '/');
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const first = path.split('/')[1] ?? '';
  if (first !== first.toLowerCase() && AREAS.has(first.toLowerCase())) {
    return new AppError('not_found', `No route ${path}: paths are lower case (/${first.toLowerCase()}/…)`, `没有此路径：${path}（路径须为小写）`, 404);
  }
  return path;
}

export const canonicalPath: RequestHandler = (req, _res, next) => {
  const q = req.url.indexOf('?');
  const raw = q < 0 ? req.url : req.url.slice(0, q);
  const out = canonicalize(raw);
  if (out instanceof AppError) return next(out);
  if (out !== raw) req.url = out + (q < 0 ? '' : req.url.slice(q));
  next();
};

/** Every router of the app: case-sensitive like the app itself (see above). */
export const router = () => Router({ caseSensitive: true });
