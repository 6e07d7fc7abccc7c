import { phoneExif } from '../field/exif';
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import { router } from '../http/canonical-path';
import multer from 'multer';
import { z } from 'zod';
import type { AppContext } from '../context';
import { AppError } from '../errors';
import { multipart } from '../http/multipart';
import { int4Positive, int4PositiveParam, isoInstant } from '../http/schemas';
import { route } from '../http/openapi';
import { accessOf, actorOf } from '../field/access';
import {
  captioned, EVIDENCE_MAX_BYTES, getEvidence, polygonEvidence, readOriginal, storeEvidence, thumbnail,
} from '../field/evidence';
import { FINDING_LABELS, FINDINGS, FindingBody, polygonFindings, recordFinding } from '../field/findings';
import { fieldLinkAuth } from '../field/link-auth';
import { checkToken, createLink, DEFAULT_LINK_DAYS, LINK_TOKEN_RE, listLinks, MAX_LINK_DAYS, MAX_LINK_POLYGONS, revokeLink } from '../field/links';
import { fieldCsp, fieldDirOf, sendRefusal, sendShell, sheetPage } from '../field/pages';
import { assertVisible, fieldPolygon, flagTitles, polygonIdByCode, SHEET_LIMIT, sheetPolygons, worklist } from '../field/polygons';
import { importedSource, parseMapSource } from './web';
import { imageryStoreOf } from './imagery';
import QRCode from 'qrcode';

const ALL = ['admin', 'analyst', 'reviewer', 'field'] as const;
const REPORTERS = ['admin', 'analyst', 'field'] as const;
const ISSUERS = ['admin', 'analyst'] as const;
const IdParam = int4PositiveParam();
const Id = z.object({ id: IdParam });
const Row = z.record(z.string(), z.unknown());

function idOf(req: Request, what: string): number {
  const r = IdParam.safeParse(req.params.id);
  if (!r.success) throw new AppError('invalid_input', `The ${what} id must be a positive integer`, `${what === 'photo' ? '照片' : what === 'link' ? '链接' : '图斑'} ID 必须为正整数`, 400);
  return r.data;
}

/** multipart fields arrive as strings; an empty field is an absent one */
const blankToUndefined = (o: unknown) =>
  Object.fromEntries(Object.entries((o ?? {}) as Record<string, unknown>).filter(([, v]) => v !== '' && v !== undefined));

export const EvidenceFields = z
  .object({
    polygon_id: int4PositiveParam(),
    client_id: z.uuid().optional().describe('the phone\'s id for this photo; a retry with the same id answers the first upload'),
    captured_at: isoInstant().optional().describe('phone clock when the photo was taken'),
    lat: z.coerce.number().min(-90).max(90).optional().describe('phone position at capture (WGS84)'),
    lon: z.coerce.number().min(-180).max(180).optional(),
    accuracy: z.coerce.number().min(0).max(100_000).optional().describe('metres'),
    position_at: isoInstant().optional().describe('time of that position fix'),
    exif: z.string().max(16_000).optional().describe('JSON: EXIF tags read on the phone from the original, before resizing'),
  })
  .refine((f) => (f.lat === undefined) === (f.lon === undefined), { message: 'lat and lon go together', path: ['lon'] });

export const LinkBody = z.object({
  polygon_ids: z.array(int4Positive()).min(1).max(MAX_LINK_POLYGONS),
  label: z.string().trim().max(60).optional().describe('who the link is for, e.g. 张三（石竹村）'),
  expires_in_days: z.number().min(1 / 24, 'at least an hour (1/24 day)').max(MAX_LINK_DAYS).optional().describe(`default ${DEFAULT_LINK_DAYS}; at least 1/24 (an hour)`),
});

const LinkOutSchema = z.object({
  id: z.number().int(),
  polygon_ids: z.array(z.number().int()),
  codes: z.array(z.string()).optional(),
  label: z.string().nullable(),
  created_by: z.string(),
  created_at: z.string(),
  expires_at: z.string(),
  revoked_at: z.string().nullable(),
  revoked_by: z.string().nullable(),
  state: z.enum(['active', 'expired', 'revoked']),
});

const Photo = Row.describe('evidence: id, sha256, mime, bytes, width, height, captured_at, taken_at (EXIF), position, exif_position, distance_m, urls');

/**
 * Field work (issue 5): the field page and its data, photo evidence, findings, signed links and the
 * printable village sheet. Mounted right after the session middleware, so the signed-link middleware sees
 * (and fences) every data request made with a link.
 */
export function fieldRoutes(ctx: AppContext) {
  const r = router();
  const region = ctx.config.regionCode;
  const dir = fieldDirOf(ctx.config);
  const basemap = parseMapSource(ctx.config.map.basemapUrl, ctx.config.dataDir);
  const imagery = {
    before: parseMapSource(ctx.config.map.imageryBeforeUrl, ctx.config.dataDir),
    after: parseMapSource(ctx.config.map.imageryAfterUrl, ctx.config.dataDir),
  };
  const csp = fieldCsp([basemap, imagery.before, imagery.after].flatMap((p) => (p.origin ? [p.origin] : [])));

  r.use(fieldLinkAuth(ctx));
  // links and QR codes carry the configured public address (issue 16 item 13); the request's host only without one
  const publicBase = (req: Request) => ctx.config.publicUrl ?? `${req.protocol}://${req.get('host')}`;

  // ---- the page: built assets under /field/, the shell for /p, /p/<code>, /f/<token> ----
  // scripts and styles have a gzip twin made by the build (the app has no compression middleware)
  r.use('/field/assets', (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !/^\/[\w.-]+\.(js|css)$/.test(req.path)) return next();
    const gz = path.join(dir, 'assets', `${req.path.slice(1)}.gz`);
    if (!req.acceptsEncodings('gzip') || !existsSync(gz)) return next();
    res.set({
      'Content-Encoding': 'gzip',
      'Content-Type': req.path.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8',
      'Cache-Control': 'public, max-age=31536000, immutable',
      'X-Content-Type-Options': 'nosniff',
      Vary: 'Accept-Encoding',
    });
    res.sendFile(gz);
  });
  r.use('/field', express.static(dir, {
    index: false,
    redirect: false,
    setHeaders: (res, file) => {
      res.set('X-Content-Type-Options', 'nosniff');
      if (/[\\/]sw\.js$/.test(file)) {
        // one worker for /p/ and /f/ pages; always revalidated so a new build replaces it
        res.set({ 'Service-Worker-Allowed': '/', 'Cache-Control': 'no-cache' });
      } else {
        res.set('Cache-Control', /[\\/]assets[\\/]/.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache');
      }
    },
  }));

  route(r, {
    method: 'get', path: '/p', tags: ['field'], roles: 'public', responseType: 'text/html',
    summary: 'Field page: the polygons to visit (login form when not logged in)', summary_zh: '外业页面：待核查图斑列表',
  }, (_req, res) => sendShell(res, dir, csp));

  route(r, {
    method: 'get', path: '/p/sheet/:village', tags: ['field'], roles: ALL, responseType: 'text/html',
    summary: 'Printable sheet of the polygons to visit in a village, each with a QR code to /p/<code>',
    summary_zh: '村外业核查清单（可打印，含二维码）',
    example: { params: { village: '吉安社区' } },
  }, async (req, res) => {
    const village = String(req.params.village).slice(0, 100);
    const scope = req.principal!.villages;
    if (scope && !scope.includes(village)) {
      return sendRefusal(res, {
        status: 404, code: 'not_found', title_zh: '没有此村的清单', title_en: 'No such sheet',
        message_zh: `您的账号不负责“${village}”，或没有此村（社区）。`,
        message_en: `Your account does not cover “${village}”, or there is no such village.`,
      });
    }
    const rows = await sheetPolygons(ctx.db, region, village);
    const html = await sheetPage({
      village,
      origin: publicBase(req),
      rows: rows.slice(0, SHEET_LIMIT),
      truncated: rows.length > SHEET_LIMIT,
      flagTitles: await flagTitles(ctx.db),
      generatedBy: req.principal!.displayName || req.principal!.username,
    });
    res.set({
      'Cache-Control': 'private, no-cache',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
      'X-Content-Type-Options': 'nosniff',
    }).type('html').send(html);
  });

  route(r, {
    method: 'get', path: '/p/:code', tags: ['field'], roles: 'public', responseType: 'text/html',
    summary: 'Field page of one polygon, by its code (图斑编号): position, facts, finding form, photos',
    summary_zh: '外业页面：单个图斑（按图斑编号）',
  }, (_req, res) => sendShell(res, dir, csp));

  route(r, {
    method: 'get', path: '/f/:token', tags: ['field'], roles: 'public', responseType: 'text/html',
    summary: 'Field page opened with a signed link (no account): its polygons only; 404/410 page when invalid, revoked or expired',
    summary_zh: '外业链接页面（无需账号）',
  }, async (req, res) => {
    const token = String(req.params.token);
    const c = LINK_TOKEN_RE.test(token) ? await checkToken(ctx.db, region, token) : null;
    if (!c || !c.ok) {
      const code = c && !c.ok ? c.error.code : 'field_link_invalid';
      const revoked = code === 'field_link_revoked';
      const expired = code === 'field_link_expired';
      return sendRefusal(res, {
        status: revoked || expired ? 410 : 404,
        code,
        title_zh: revoked ? '链接已撤销' : expired ? '链接已过期' : '链接无效',
        title_en: revoked ? 'Link withdrawn' : expired ? 'Link expired' : 'Link not valid',
        message_zh: c && !c.ok ? c.error.message_zh : '此外业链接无效：可能复制不完整或输入有误，请向镇综合行政执法办索取新链接',
        message_en: c && !c.ok ? c.error.message : 'This field link is not valid: it may be mistyped or cut short; ask the town office for a new link',
      });
    }
    sendShell(res, dir, csp, { noReferrer: true });
  });

  // ---- data for the page ----
  // the field map draws the imagery under the polygon (issue 16 item 12) and the page shows its chips (issue 15):
  // as the analyst's map config, an epoch configured by URL, else its imported imagery
  const store = imageryStoreOf(ctx);
  const mapOf = async (req: Request) => {
    const imported = await store.current();
    const base = `${req.protocol}://${req.get('host')}`;
    return {
      basemap: basemap.source,
      imagery: {
        before: imagery.before.source ?? importedSource(base, imported.get('before')),
        after: imagery.after.source ?? importedSource(base, imported.get('after')),
      },
    };
  };

  route(r, {
    method: 'get', path: '/api/field/worklist', tags: ['field'], roles: ALL,
    summary: 'Polygons for the field page to list and keep offline: a link\'s polygons, or those to visit (pending/field_check) in the caller\'s villages',
    summary_zh: '外业待核查图斑（链接内图斑，或本人负责村的待核查图斑）',
    query: z.object({ village: z.string().max(100).optional() }),
    response: z.object({ who: Row, map: Row, total: z.number().int(), limit: z.number().int(), items: z.array(Row) }),
  }, async (req, res) => {
    const village = z.string().max(100).optional().parse(req.query.village) ?? null;
    const a = accessOf(req);
    const list = await worklist(ctx.db, region, a, a.link ? null : village);
    const p = req.principal!;
    const who = a.link
      ? { kind: 'link', link_id: a.link.id, label: a.link.label, expires_at: a.link.expiresAt.toISOString(), created_by: a.link.createdByName }
      : { kind: 'user', username: p.username, display_name: p.displayName, role: p.role, villages: p.villages };
    res.set('Cache-Control', 'private, no-cache').json({ who, map: await mapOf(req), ...list });
  });

  route(r, {
    method: 'get', path: '/api/field/polygons/:id', tags: ['field'], roles: ALL,
    summary: 'One polygon for the field page: facts, parcels and holders, history (with findings and photos), photos',
    summary_zh: '外业图斑详情（含权利人、处理记录、现场照片）',
    params: Id, response: z.object({ polygon: Row, history: z.array(Row), evidence: z.array(Photo), findings: z.array(Row) }),
  }, async (req, res) => {
    res.set('Cache-Control', 'private, no-cache').json(await fieldPolygon(ctx.db, region, idOf(req, 'polygon'), accessOf(req)));
  });

  route(r, {
    method: 'get', path: '/api/field/by-code/:code', tags: ['field'], roles: ALL,
    summary: 'The same, found by the polygon code (图斑编号) of the link /p/<code>; the latest survey wins',
    summary_zh: '按图斑编号查外业图斑详情',
    params: z.object({ code: z.string().max(100) }),
    response: z.object({ polygon: Row, history: z.array(Row), evidence: z.array(Photo), findings: z.array(Row) }),
  }, async (req, res) => {
    const code = String(req.params.code).slice(0, 100);
    const a = accessOf(req);
    const id = await polygonIdByCode(ctx.db, region, code, a);
    res.set('Cache-Control', 'private, no-cache').json(await fieldPolygon(ctx.db, region, id, a));
  });

  route(r, {
    method: 'get', path: '/api/polygons/:id/evidence', tags: ['field'], roles: ALL,
    summary: 'Photos and field findings of a polygon (for the analyst\'s detail)', summary_zh: '图斑的现场照片与实地核查结果',
    params: Id, response: z.object({ polygon_id: z.number().int(), evidence: z.array(Photo), findings: z.array(Row) }),
  }, async (req, res) => {
    const id = idOf(req, 'polygon');
    const a = accessOf(req);
    await assertVisible(ctx.db, region, id, a);
    const [evidence, findings] = await Promise.all([polygonEvidence(ctx.db, region, id), polygonFindings(ctx.db, region, id)]);
    res.json({ polygon_id: id, evidence, findings });
  });

  route(r, {
    method: 'post', path: '/api/polygons/:id/findings', tags: ['field'], roles: REPORTERS,
    summary: 'Report what was found on site (with photo evidence ids); idempotent by client_id; never changes the status',
    summary_zh: '上报实地核查结果（不改变图斑处理状态）',
    description:
      `finding: ${FINDINGS.map((f) => `${f} (${FINDING_LABELS[f].zh})`).join(', ')}; 'other' needs a note. The same client_id ` +
      'answers the first result again (200, replayed: true, header Idempotent-Replayed); another finding under it: 422 client_id_reused. ' +
      'photos must be evidence of this polygon (POST /api/evidence first). Signed-link holders may report on their polygons.',
    params: Id, body: FindingBody, status: 201,
    response: z.object({ finding: Row, event: Row.optional(), replayed: z.boolean() }),
  }, async (req, res) => {
    const id = idOf(req, 'polygon');
    const body = FindingBody.parse(req.body ?? {});
    const out = await recordFinding(ctx.db, region, accessOf(req), actorOf(req), id, body);
    if (out.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(out.replayed ? 200 : 201).json(out);
  });

  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: EVIDENCE_MAX_BYTES, files: 1, fields: 20, fieldSize: 32_000, parts: 22 },
  });
  const photoUpload: RequestHandler = (req, res, next) => {
    multipart(upload.single('file'))(req, res, (err?: unknown) => {
      const code = (err as { code?: string } | undefined)?.code;
      if (code === 'LIMIT_FILE_SIZE') {
        const mb = EVIDENCE_MAX_BYTES / 1024 / 1024;
        return next(new AppError('payload_too_large', `A photo may be at most ${mb} MB`, `照片不能超过 ${mb} MB`, 413));
      }
      next(err);
    });
  };

  route(r, {
    method: 'post', path: '/api/evidence', tags: ['field'], roles: REPORTERS,
    summary: 'Upload a photo of a polygon (JPEG/PNG/WebP by magic bytes, ≤ 10 MB); stored by SHA-256, thumbnail made, EXIF read',
    summary_zh: '上传现场照片',
    description:
      'multipart: file + polygon_id, and what the phone knew: client_id, captured_at, lat/lon/accuracy/position_at (device position at ' +
      'capture), exif (JSON of the original\'s EXIF, read before resizing). The same photo again for the same polygon answers the first ' +
      'upload (200, duplicate: true): one file, one row, one history event. 415 unsupported_type, 413 payload_too_large, 422 image_unreadable.',
    body: EvidenceFields.and(z.object({ file: z.string().describe('the photo (binary)') })),
    bodyType: 'multipart', status: 201,
    response: z.object({ evidence: Photo, duplicate: z.boolean() }),
  }, photoUpload, async (req, res) => {
    if (!req.file) throw new AppError('file_missing', "Send the photo as multipart field 'file'", '请以 multipart 字段“file”上传照片', 400);
    const f = EvidenceFields.parse(blankToUndefined(req.body));
    const clientExif = phoneExif(f.exif);
    const b = req.file.buffer;
    const out = await storeEvidence(ctx.db, region, ctx.config.dataDir, accessOf(req), actorOf(req),
      new Uint8Array(b.buffer, b.byteOffset, b.byteLength), {
        polygonId: f.polygon_id,
        clientId: f.client_id,
        capturedAt: f.captured_at,
        device: f.lat !== undefined ? { lat: f.lat, lon: f.lon!, accuracy: f.accuracy, at: f.position_at } : undefined,
        clientExif,
      });
    res.status(out.duplicate ? 200 : 201).json(out);
  });

  const image = (kind: 'thumb' | 'full' | 'captioned') => async (req: Request, res: express.Response) => {
    const e = await getEvidence(ctx.db, region, idOf(req, 'photo'), accessOf(req));
    const etag = `"${e.sha256.slice(0, 32)}-${kind}"`;
    res.set({ ETag: etag, 'Cache-Control': 'private, max-age=31536000, immutable', 'X-Content-Type-Options': 'nosniff' });
    if (req.get('if-none-match') === etag) return void res.status(304).end();
    if (kind === 'thumb') return void res.type('image/jpeg').send(await thumbnail(ctx.config.dataDir, e));
    if (kind === 'captioned') return void res.type('image/jpeg').send(await captioned(ctx.config.dataDir, e));
    res.type(e.mime).send(await readOriginal(ctx.config.dataDir, e));
  };
  const imageSpec = (suffix: string, summary: string, summary_zh: string) => ({
    method: 'get' as const, path: `/api/evidence/:id/${suffix}`, tags: ['field'], roles: ALL, params: Id,
    responseType: 'image/jpeg', summary, summary_zh,
  });
  route(r, imageSpec('thumb', 'Thumbnail of a photo (≤ 400 px JPEG)', '照片缩略图'), image('thumb'));
  route(r, imageSpec('full', 'The photo as uploaded', '照片原图'), image('full'));
  route(r, imageSpec('captioned.jpg', 'The photo with its caption burnt in (polygon, time, position) for exports', '带水印说明的照片（图斑、时间、位置）'), image('captioned'));

  // ---- signed links ----
  route(r, {
    method: 'post', path: '/api/field-links', tags: ['field'], roles: ISSUERS,
    summary: 'Issue a signed field link (/f/<token>) to chosen polygons: view and report only, expiring (default 7 days), revocable',
    summary_zh: '生成外业链接（无需账号，仅可查看与上报，到期失效，可撤销）',
    description: 'The token is returned once (url); only its hash is kept. Polygons outside the issuer\'s villages: 404.',
    body: LinkBody, status: 201,
    response: z.object({
      link: LinkOutSchema, token: z.string(), url: z.string().describe('on TUBAN_PUBLIC_URL when configured'),
      qr: z.string().describe('the url as a QR code: data:image/svg+xml URL, for the phone to scan'),
    }),
  }, async (req, res) => {
    const b = LinkBody.parse(req.body ?? {});
    const { token, link } = await createLink(ctx.db, region, req.principal!, b);
    req.log?.info({ link: link.id, polygons: link.polygon_ids.length, expires_at: link.expires_at }, 'field link issued');
    const url = `${publicBase(req)}/f/${token}`;
    const svg = await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
    res.status(201).json({ link, token, url, qr: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` });
  });

  route(r, {
    method: 'get', path: '/api/field-links', tags: ['field'], roles: ISSUERS,
    summary: 'Field links, newest first (active=1: only those still usable)', summary_zh: '外业链接列表',
    query: z.object({ active: z.enum(['0', '1', 'true', 'false']).optional(), limit: z.coerce.number().int().min(1).max(500).optional() }),
    response: z.object({ items: z.array(LinkOutSchema) }),
  }, async (req, res) => {
    const q = z.object({ active: z.enum(['0', '1', 'true', 'false']).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) })
      .parse(req.query);
    res.json({ items: await listLinks(ctx.db, region, req.principal!, { active: q.active === '1' || q.active === 'true', limit: q.limit }) });
  });

  route(r, {
    method: 'delete', path: '/api/field-links/:id', tags: ['field'], roles: ISSUERS,
    summary: 'Revoke a field link (idempotent): it answers 410 from then on', summary_zh: '撤销外业链接',
    params: Id, response: z.object({ link: LinkOutSchema }),
  }, async (req, res) => {
    const link = await revokeLink(ctx.db, region, req.principal!, idOf(req, 'link'));
    req.log?.info({ link: link.id }, 'field link revoked');
    res.json({ link });
  });

  // A browser asking for the sheet without a session gets a page that sends it to the login, not JSON.
  const pageErrors: ErrorRequestHandler = (err, req, res, next) => {
    if (req.method === 'GET' && req.path.startsWith('/p/sheet/') && err instanceof AppError && (err.status === 401 || err.status === 403)
      && req.accepts(['json', 'html']) === 'html') {
      const next_ = encodeURIComponent(req.originalUrl);
      return sendRefusal(res, {
        status: err.status, code: err.code,
        title_zh: err.status === 401 ? '请先登录' : '无权查看', title_en: err.status === 401 ? 'Log in first' : 'Not allowed',
        message_zh: err.message_zh, message_en: err.message,
        link: err.status === 401 ? { href: `/p?next=${next_}`, zh: '登录', en: 'Log in' } : undefined,
      });
    }
    next(err);
  };
  r.use(pageErrors);
  return r;
}
