/**
 * Requests made with a signed field link: `Authorization: FieldLink <token>` (what the field page sends:
 * the request log already redacts Authorization, and the session middleware ignores a non-Bearer scheme)
 * or `X-Field-Token: <token>`.
 *
 * Such a request gets a restricted pseudo-principal — role `field`, user id 0, named after the link, with
 * an EMPTY village list so any village-scoped query outside the field routes finds nothing — and
 * req.fieldLink, which the field routes use to limit every query to the link's polygons. It is admitted to
 * an allow-list of routes only (view the link's polygons and their photos, upload photos, report findings);
 * anything else under /api, /tiles or /map-files is refused with 403 field_link_scope, never passed on.
 * An unknown token is 401 field_link_invalid; a revoked or expired one is 410 (field_link_revoked /
 * field_link_expired), with the reason in Chinese and English.
 *
 * The normal session middleware (auth/session.ts) is untouched: this one runs after it and only acts when
 * a link token is present, in which case the link — not any session cookie also sent — decides.
 */
import type { Request, RequestHandler } from 'express';
import type { AppContext } from '../context';
import { AppError } from '../errors';
import { checkToken } from './links';
import { tileNearLink } from './link-area';

const DATA_PATH = /^\/(api|tiles|map-files)(\/|$)/;

/** What a link holder may call (method, path). Everything else is refused. */
export const LINK_ROUTES: readonly { method: 'GET' | 'POST'; path: RegExp }[] = [
  { method: 'GET', path: /^\/api\/field\/worklist$/ },
  { method: 'GET', path: /^\/api\/field\/polygons\/[^/]+$/ },
  { method: 'GET', path: /^\/api\/field\/by-code\/[^/]+$/ },
  { method: 'GET', path: /^\/api\/polygons\/[^/]+\/evidence$/ },
  // the imagery chips of the link's polygons: what to look for on site (issue 15 item 4)
  { method: 'GET', path: /^\/api\/polygons\/[^/]+\/chips\/(before|after)$/ },
  { method: 'POST', path: /^\/api\/polygons\/[^/]+\/findings$/ },
  { method: 'POST', path: /^\/api\/evidence$/ },
  { method: 'GET', path: /^\/api\/evidence\/[^/]+\/(thumb|full|captioned\.jpg)$/ },
  // the imagery under the polygon on the field map (issue 16 item 12): an <img> cannot carry the link, the page fetches it
  // (only the tiles around the link's polygons: see the check below)
  { method: 'GET', path: /^\/tiles\/imagery\/(before|after)\/\d+\/\d+\/\d+(\.webp)?$/ },
];

const IMAGERY_TILE = /^\/tiles\/imagery\/(?:before|after)\/(\d+)\/(\d+)\/(\d+)(?:\.webp)?$/;

export function linkTokenOf(req: Pick<Request, 'headers'>): string | undefined {
  const auth = req.headers.authorization;
  if (auth) {
    const m = /^FieldLink\s+(\S+)$/i.exec(auth);
    if (m) return m[1];
  }
  const h = req.headers['x-field-token'];
  return typeof h === 'string' && h.trim() ? h.trim() : undefined;
}

export function fieldLinkAuth(ctx: AppContext): RequestHandler {
  return async (req, _res, next) => {
    const token = linkTokenOf(req);
    if (!token || !DATA_PATH.test(req.path)) return next();
    // whatever else the request carried, a link request acts as the link only
    req.principal = undefined;
    const c = await checkToken(ctx.db, ctx.config.regionCode, token);
    if (!c.ok) return next(c.error);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (!LINK_ROUTES.some((r) => r.method === method && r.path.test(req.path))) {
      return next(new AppError(
        'field_link_scope',
        'A field link may only view its polygons and report what was found; log in for anything else',
        '外业链接只能查看链接中的图斑并上报核查结果；其他操作请登录',
        403,
      ));
    }
    const g = c.grant;
    const tile = IMAGERY_TILE.exec(req.path);
    if (tile && !(await tileNearLink(ctx.db, ctx.config.regionCode, g, Number(tile[1]), Number(tile[2]), Number(tile[3])))) {
      return next(new AppError(
        'field_link_scope',
        'A field link shows the imagery around its polygons only',
        '外业链接只能查看其图斑周边的影像',
        403,
      ));
    }
    req.fieldLink = g;
    req.principal = {
      id: 0,
      username: `link#${g.id}${g.label ? ` ${g.label}` : ''}`.slice(0, 80),
      displayName: g.label ?? `外业链接 #${g.id}`,
      role: 'field',
      villages: [],
    };
    next();
  };
}
