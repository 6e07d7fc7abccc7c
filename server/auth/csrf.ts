import type { Request } from 'express';
import { AppError } from '../errors';

/**
 * Cross-site request forgery: a change (POST/PUT/PATCH/DELETE) authenticated by the session COOKIE must come
 * from tuban's own pages. The cookie is SameSite=Lax, but a browser that sends no Sec-Fetch-Site still let a
 * cross-site multipart form POST store a photo (issue 12 item 8), so the request's origin is checked too:
 *
 *   1. `Sec-Fetch-Site` (set by the browser, not by page scripts): `same-origin` passes; `cross-site` and
 *      `same-site` (a sibling subdomain is another application) are refused. It is checked first because
 *      it is right even behind a proxy that rewrites Host.
 *   2. Otherwise `Origin`, which browsers send on every POST/PUT/PATCH/DELETE, fetch or form: it must be
 *      this server's origin. `Origin: null` (a sandboxed frame, a data: URL) is refused.
 *   3. No Origin (an older browser): the origin of `Referer`, likewise.
 *   4. Neither: refused. A browser never sends a cookie-carrying change without either, unless its page
 *      set `Referrer-Policy: no-referrer` AND the browser predates Sec-Fetch-Site; tuban's pages
 *      authenticate such requests with the field-link header instead of the cookie.
 *
 * "This server's origin" is the host the request was sent to (Host, or X-Forwarded-Host from a trusted,
 * i.e. loopback, proxy: express's req.host), compared by host and port: a TLS-terminating proxy that does
 * not send X-Forwarded-Proto makes the scheme look like http. Behind a proxy that rewrites Host without
 * X-Forwarded-Host, list the public origin(s) in TUBAN_PUBLIC_ORIGIN.
 *
 * Requests authenticated otherwise (a bearer token, a field link, HTTP Basic) are not affected: a browser
 * never attaches those to a cross-site request by itself.
 */
export function crossSiteRefusal(req: Request, publicOrigins: readonly string[]): AppError | undefined {
  const site = req.get('sec-fetch-site');
  if (site === 'same-origin') return undefined;
  if (site === 'cross-site' || site === 'same-site') return refused('another site (Sec-Fetch-Site)');
  const origin = req.get('origin');
  if (origin !== undefined) return isOwn(req, origin, publicOrigins) ? undefined : refused(`another origin (${origin.slice(0, 100)})`);
  const referer = req.get('referer');
  if (referer !== undefined) return isOwn(req, referer, publicOrigins) ? undefined : refused('another site (Referer)');
  return refused('a page that sent neither Origin nor Referer');
}

function isOwn(req: Request, url: string, publicOrigins: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false; // includes `null`
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  if (publicOrigins.includes(u.origin)) return true;
  const host = req.host; // Host, or X-Forwarded-Host from a trusted proxy; with the port
  if (!host) return false;
  const defaultPort = u.protocol === 'https:' ? '443' : '80';
  const own = host.toLowerCase().replace(new RegExp(`:${defaultPort}$`), '');
  return u.host.toLowerCase() === own;
}

const refused = (from: string) =>
  new AppError('cross_site', `Request from another site refused: a change made with the session cookie must come from this site's pages (${from})`,
    '拒绝来自其他网站的请求：使用登录会话的修改操作必须来自本系统的页面', 403);
