/**
 * Leads and public reports (issue 16 items 1–7): recording a lead, merging a duplicate, the public report API
 * (no account), the status of a report, the overdue reports, and the admins' view of who reported.
 * Open311 lives in routes/open311.ts, the /report page in routes/report-page.ts.
 */
import type { Request, RequestHandler } from 'express';
import multer from 'multer';
import { z } from 'zod';
import type { AppContext } from '../context';
import { villageScope } from '../auth/guard';
import { router } from '../http/canonical-path';
import { multipart } from '../http/multipart';
import { route } from '../http/openapi';
import { int4Positive, int4PositiveParam } from '../http/schemas';
import { AppError } from '../errors';
import { EVIDENCE_MAX_BYTES } from '../field/evidence';
import { createLead, mergeLead } from '../leads/leads';
import {
  CATEGORY_CODES, MAX_REPORT_PHOTOS, nearbyOpen, overdueReports, REPORT_CATEGORIES, reportContact, reportStatus, submitReport,
} from '../leads/reports';

const Row = z.record(z.string(), z.unknown());
const Lon = z.coerce.number().min(-180).max(180);
const Lat = z.coerce.number().min(-90).max(90);
export const ReceiptCode = z.string().regex(/^[A-Z2-9]{10}$/, 'a receipt code is 10 letters and digits');

/** multipart fields arrive as strings; an empty field is an absent one */
const blankToUndefined = (o: unknown) =>
  Object.fromEntries(Object.entries((o ?? {}) as Record<string, unknown>).filter(([, v]) => v !== '' && v !== undefined));

export const ReportFields = z.object({
  lon: Lon.describe('WGS84 longitude of the place (map tap or GPS)'),
  lat: Lat,
  category: z.enum(CATEGORY_CODES).describe(Object.entries(REPORT_CATEGORIES).map(([k, v]) => `${k} ${v}`).join(' | ')),
  description: z.string().trim().min(2).max(2000).describe('what is being built, where exactly'),
  phone: z.string().max(30).optional().describe('optional; confidential (admins only)'),
  website: z.string().max(200).optional().describe('leave empty (a field people do not see: filled in = a bot)'),
  add_to: int4PositiveParam().optional().describe('add the photos to this open item within 50 m (GET /api/public/reports/nearby) instead of a new report'),
});

export const LeadBody = z.object({
  source: z.literal('patrol').describe('巡查 (public reports come through /api/public/reports)'),
  lon: Lon, lat: Lat,
  polygon: z.object({ type: z.enum(['Polygon', 'MultiPolygon']), coordinates: z.array(z.unknown()).min(1) }).optional()
    .describe('a drawn outline (GeoJSON, WGS84) instead of the 5 m circle around the point'),
  note: z.string().trim().max(2000).optional(),
  category: z.enum(CATEGORY_CODES).optional(),
}).strict();

export const MergeBody = z.object({
  into: int4Positive().describe('the polygon or lead this lead duplicates'),
  version: int4Positive().describe('the lead\'s version the client saw'),
  request_id: z.uuid(),
}).strict();

/** The address a report came from: the socket's, or the loopback proxy's X-Forwarded-For (trust proxy). */
export const reporterIp = (req: Request) => (req.ip ?? req.socket.remoteAddress ?? 'unknown').slice(0, 64);
export const publicBase = (ctx: AppContext, req: Request) => ctx.config.publicUrl ?? `${req.protocol}://${req.get('host')}`;

export function leadRoutes(ctx: AppContext) {
  const r = router();
  const region = ctx.config.regionCode;
  const owner = ctx.importDb ?? ctx.db;

  route(r, {
    method: 'post', path: '/api/leads', tags: ['leads'], roles: ['admin', 'analyst', 'field'],
    summary: 'Record a lead (巡查 patrol finding) at a position: a new item in the queue, village by location, possible duplicate marked',
    summary_zh: '登记线索（巡查发现）',
    body: LeadBody, status: 201, response: Row,
    example: { body: { source: 'patrol', lon: 105.9, lat: 29.3 } },
  }, async (req, res) => {
    const b = LeadBody.parse(req.body ?? {});
    const lead = await createLead(owner, ctx.config, req.principal!, b);
    res.status(201).json(lead);
  });

  route(r, {
    method: 'post', path: '/api/polygons/:id/merge', tags: ['leads'], roles: ['admin', 'analyst'],
    summary: 'Merge a lead into the item it duplicates: the lead is dismissed (its history kept), the item lists it',
    summary_zh: '合并重复线索',
    params: z.object({ id: int4PositiveParam() }), body: MergeBody, response: Row,
    example: { body: { into: 2, version: 1, request_id: '00000000-0000-4000-8000-000000000001' } },
  }, async (req, res) => {
    const id = int4PositiveParam().safeParse(req.params.id);
    if (!id.success) throw new AppError('invalid_input', 'Polygon id must be a positive integer', '图斑 ID 必须为正整数', 400);
    const b = MergeBody.parse(req.body ?? {});
    res.json(await mergeLead(ctx.db, owner, region, req.principal!, id.data, b, villageScope(req)));
  });

  const upload = multer({
    storage: multer.memoryStorage(),
    // the upload cap (item 4): three photos of at most 10 MB, short text fields
    limits: { fileSize: EVIDENCE_MAX_BYTES, files: MAX_REPORT_PHOTOS, fields: 12, fieldSize: 8_000, parts: 15 },
  });
  const photos: RequestHandler = (req, res, next) => {
    multipart(upload.array('photo', MAX_REPORT_PHOTOS))(req, res, (err?: unknown) => {
      const code = (err as { code?: string } | undefined)?.code;
      if (code === 'LIMIT_FILE_SIZE') {
        return next(new AppError('payload_too_large', 'A photo may be at most 10 MB', '照片不能超过 10 MB', 413));
      }
      if (code === 'LIMIT_FILE_COUNT' || code === 'LIMIT_UNEXPECTED_FILE') {
        return next(new AppError('too_many_photos', `At most ${MAX_REPORT_PHOTOS} photos, in the field 'photo'`, `最多 ${MAX_REPORT_PHOTOS} 张照片（字段 photo）`, 400));
      }
      next(err);
    });
  };

  route(r, {
    method: 'post', path: '/api/public/reports', tags: ['public'], roles: 'public',
    summary: 'Report suspected illegal building (no account): position, category, description, up to 3 photos, optional phone',
    summary_zh: '公众举报（无需账号）',
    description: 'multipart: lon, lat, category, description, phone (optional, confidential), website (honeypot: leave empty), add_to ' +
      '(optional: an open item within 50 m to add the photos to), photo (0–3 files, JPEG/PNG/WebP ≤ 10 MB each; resized, device ' +
      'identifiers removed, time and position kept). Answers the receipt: code + secret (the status page is /report/<code>#<secret>). ' +
      '429 rate_limited per address (hour, day) and per phone (day).',
    body: ReportFields.extend({ photo: z.string().optional().describe('a photo (binary), up to 3') }),
    bodyType: 'multipart', status: 201, response: Row,
  }, photos, async (req, res) => {
    const f = ReportFields.parse(blankToUndefined(req.body));
    const files = (req.files as Express.Multer.File[] | undefined) ?? [];
    const receipt = await submitReport(ctx, {
      lon: f.lon, lat: f.lat, category: f.category, description: f.description, phone: f.phone, website: f.website, addTo: f.add_to,
      photos: files.map((x) => x.buffer as Uint8Array), via: 'web', ip: reporterIp(req),
    }, publicBase(ctx, req));
    res.status(201).json(receipt);
  });

  route(r, {
    method: 'get', path: '/api/public/reports/nearby', tags: ['public'], roles: 'public',
    summary: 'Open items within 50 m of a place (已有人举报 / 已在处理), to add a photo to instead of reporting again',
    summary_zh: '附近 50 米内正在处理的事项',
    query: z.object({ lon: Lon, lat: Lat }),
    response: z.object({ items: z.array(Row) }),
    example: { query: { lon: '105.9', lat: '29.3' } },
  }, async (req, res) => {
    const q = z.object({ lon: Lon, lat: Lat }).parse(req.query);
    res.set('Cache-Control', 'no-store');
    res.json({ items: await nearbyOpen(ctx, q.lon, q.lat) });
  });

  route(r, {
    method: 'get', path: '/api/public/reports/:code', tags: ['public'], roles: 'public',
    summary: 'The status of one\'s own report: 已受理 / 核查中 / 已处理 with its date (the secret from the receipt is needed)',
    summary_zh: '举报办理状态',
    params: z.object({ code: ReceiptCode }), query: z.object({ secret: z.string().max(100).optional() }), response: Row,
    example: { params: { code: 'ABCDEFGH23' } },
  }, async (req, res) => {
    const code = ReceiptCode.safeParse(req.params.code);
    if (!code.success) throw new AppError('invalid_input', 'A receipt code is 10 letters and digits', '回执编号为 10 位字母和数字', 400);
    const secret = z.object({ secret: z.string().max(100).optional() }).parse(req.query).secret ?? req.get('x-report-secret') ?? undefined;
    res.set('Cache-Control', 'no-store');
    res.json(await reportStatus(ctx, code.data, secret));
  });

  route(r, {
    method: 'get', path: '/api/reports/overdue', tags: ['dashboard'], roles: ['admin', 'analyst', 'reviewer'],
    summary: 'Public reports past their response deadline (N working days, TUBAN_REPORT_RESPONSE_WORKDAYS) with no response yet',
    summary_zh: '超期未响应的举报',
    query: z.object({ as_of: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional() }),
    response: z.object({ as_of: z.string(), response_workdays: z.number().int(), overdue: z.number().int(), items: z.array(Row) }),
  }, async (req, res) => {
    const q = z.object({ as_of: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).refine((d) => !Number.isNaN(Date.parse(d)), 'not a date').optional() }).parse(req.query);
    res.json(await overdueReports(ctx, villageScope(req), q.as_of));
  });

  route(r, {
    method: 'get', path: '/api/admin/reports/:code/contact', tags: ['admin'], roles: ['admin'],
    summary: 'Who made a public report: phone and address (confidential: admins only, never in any other response)',
    summary_zh: '举报人联系方式（仅管理员）',
    params: z.object({ code: ReceiptCode }), response: Row,
    example: { params: { code: 'ABCDEFGH23' } },
  }, async (req, res) => {
    const code = ReceiptCode.safeParse(req.params.code);
    if (!code.success) throw new AppError('invalid_input', 'A receipt code is 10 letters and digits', '回执编号为 10 位字母和数字', 400);
    req.log?.info({ report: code.data }, 'reporter contact read');
    res.set('Cache-Control', 'no-store');
    res.json(await reportContact(ctx, code.data));
  });

  return r;
}
