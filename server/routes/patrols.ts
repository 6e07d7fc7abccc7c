/**
 * Daily patrol (issue 16 items 8–10): the phone's two idempotent writes — a finding while patrolling, the
 * whole patrol when it ends — and the reads: villages to patrol, one patrol, the list. The 巡查登记台账
 * export is in routes/exports.ts, the weekly figures in routes/dashboard.ts.
 */
import { phoneExif } from '../field/exif';
import type { RequestHandler } from 'express';
import multer from 'multer';
import { z } from 'zod';
import type { AppContext } from '../context';
import { villageScope } from '../auth/guard';
import { router } from '../http/canonical-path';
import { multipart } from '../http/multipart';
import { route } from '../http/openapi';
import { isoInstant } from '../http/schemas';
import { AppError } from '../errors';
import { EVIDENCE_MAX_BYTES, storeEvidence } from '../field/evidence';
import { CATEGORY_CODES, REPORT_CATEGORIES } from '../leads/reports';
import { fieldCsp, fieldDirOf, sendShell } from '../field/pages';
import { parseMapSource } from './web';
import { getPatrol, listPatrols, patrolWeeks, recordFinding, savePatrol, villageNames } from '../patrol/patrol';

/** who patrols: field accounts and the office (reviewers read the ledger, they do not patrol) */
const PATROLLERS = ['admin', 'analyst', 'field'] as const;
const READERS = ['admin', 'analyst', 'reviewer', 'field'] as const;
const Row = z.record(z.string(), z.unknown());
export const MAX_FINDING_PHOTOS = 3;
/** 28 hours of a point every 10 s: a day's patrol with room to spare, well inside the 1 MB JSON body */
export const MAX_TRACK_POINTS = 10_000;
/** a phone's clock may run a little ahead of the server's; a time later than this is refused */
const CLOCK_SLACK_MS = 10 * 60_000;
/** a phone whose clock was reset (1970) would date a case decades back: the calendar of working days starts here */
const EARLIEST = Date.parse('2000-01-01T00:00:00+08:00');
function checkClock(iso: string, path: string) {
  const t = Date.parse(iso);
  if (t > Date.now() + CLOCK_SLACK_MS) {
    throw new AppError('invalid_input', `${path} is in the future: check the phone's clock`, `${path} 晚于当前时间，请检查手机时间`, 400, [{ path, message: 'in the future' }]);
  }
  if (t < EARLIEST) {
    throw new AppError('invalid_input', `${path} is before 2000: check the phone's clock`, `${path} 早于 2000 年，请检查手机时间`, 400, [{ path, message: 'before 2000' }]);
  }
}

const Uuid = z.uuid();
const ClientParam = z.object({ clientId: Uuid });
const FindingParams = z.object({ clientId: Uuid, findingId: Uuid });
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** multipart fields arrive as strings; an empty field is an absent one */
const blankToUndefined = (o: unknown) =>
  Object.fromEntries(Object.entries((o ?? {}) as Record<string, unknown>).filter(([, v]) => v !== '' && v !== undefined));

export const FindingFields = z.object({
  lon: z.coerce.number().min(-180).max(180).describe('WGS84 position of the finding (the phone\'s at the time)'),
  lat: z.coerce.number().min(-90).max(90),
  accuracy: z.coerce.number().min(0).max(100_000).optional().describe('metres'),
  found_at: isoInstant().describe('phone clock when the finding was recorded; its day (Beijing) starts the 1-working-day report clock'),
  category: z.enum(CATEGORY_CODES).describe(Object.entries(REPORT_CATEGORIES).map(([k, v]) => `${k} ${v}`).join(' | ')),
  note: z.string().trim().max(2000).optional(),
  under_construction: bool.describe('在建: construction in progress'),
  open_case: bool.optional().describe('with under_construction: open a case with the stop order at once (实施方案 六(二)1)'),
  party: z.string().trim().min(1).max(200).optional().describe('当事人, when known (default 待查明)'),
  address: z.string().trim().min(1).max(500).optional(),
  exif: z.string().max(16_000).optional().describe('JSON: EXIF tags read on the phone from the original photo, before resizing'),
}).strict();

const LonLat = z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]);
export const PatrolBody = z.object({
  village: z.string().trim().min(1).max(100).describe('the village patrolled (属地)'),
  members: z.array(z.string().trim().min(1).max(50)).min(1).max(20).describe('巡查人员'),
  started_at: isoInstant(),
  ended_at: isoInstant(),
  track: z.array(LonLat).max(MAX_TRACK_POINTS).describe('[lon, lat] (WGS84) in the order recorded: a point every ~10 s or 20 m'),
  note: z.string().trim().max(2000).optional(),
}).strict()
  .refine((b) => Date.parse(b.ended_at) >= Date.parse(b.started_at), { message: 'ended_at is before started_at', path: ['ended_at'] })
  .refine((b) => Date.parse(b.ended_at) - Date.parse(b.started_at) <= 24 * 3600_000, { message: 'a patrol lasts at most 24 hours', path: ['ended_at'] });

export const PatrolListQuery = z.object({
  village: z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)).optional(),
  from: z.iso.date().optional().describe('first day (Beijing), YYYY-MM-DD'),
  to: z.iso.date().optional().describe('last day (Beijing), inclusive'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
});

export const PatrolWeeksQuery = PatrolListQuery.omit({ limit: true, offset: true });

export function patrolRoutes(ctx: AppContext) {
  const r = router();
  const region = ctx.config.regionCode;
  const owner = ctx.importDb ?? ctx.db;
  const basemap = parseMapSource(ctx.config.map.basemapUrl, ctx.config.dataDir);
  const csp = fieldCsp(basemap.origin ? [basemap.origin] : []);

  // the patrol page is the field page's build (web-field/, routed by its path); its service worker, registered
  // for /p, covers /patrol too (a scope is a path prefix), so the page opens offline after the first visit
  route(r, {
    method: 'get', path: '/patrol', tags: ['patrol'], roles: 'public', responseType: 'text/html',
    summary: 'Daily patrol page (phone, offline-first; login form when not logged in)', summary_zh: '日常巡查页面',
  }, (_req, res) => sendShell(res, fieldDirOf(ctx.config), csp));

  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: EVIDENCE_MAX_BYTES, files: MAX_FINDING_PHOTOS, fields: 16, fieldSize: 16_000, parts: 20 },
  });
  const photos: RequestHandler = (req, res, next) => {
    multipart(upload.array('photo', MAX_FINDING_PHOTOS))(req, res, (err?: unknown) => {
      const code = (err as { code?: string } | undefined)?.code;
      if (code === 'LIMIT_FILE_SIZE') return next(new AppError('payload_too_large', 'A photo may be at most 10 MB', '照片不能超过 10 MB', 413));
      if (code === 'LIMIT_FILE_COUNT' || code === 'LIMIT_UNEXPECTED_FILE') {
        return next(new AppError('too_many_photos', `At most ${MAX_FINDING_PHOTOS} photos, in the field 'photo'`, `最多 ${MAX_FINDING_PHOTOS} 张照片（字段 photo）`, 400));
      }
      if (typeof code === 'string' && code.startsWith('LIMIT_')) {
        return next(new AppError('invalid_input', 'Too many or too long form fields', '表单字段过多或过长', 400));
      }
      next(err);
    });
  };

  const params = <T extends z.ZodTypeAny>(schema: T, v: unknown): z.infer<T> => {
    const p = schema.safeParse(v);
    if (!p.success) throw new AppError('invalid_input', 'The patrol and finding ids are UUIDs made on the phone', '巡查和发现的编号应为手机生成的 UUID', 400);
    return p.data;
  };

  route(r, {
    method: 'get', path: '/api/patrols/villages', tags: ['patrol'], roles: PATROLLERS,
    summary: 'Villages one may patrol (the village layer; the caller\'s villages only)', summary_zh: '可巡查的村（居）',
    response: z.object({ villages: z.array(z.string()), user: z.string() }),
  }, async (req, res) => {
    res.json({ villages: await villageNames(ctx.db, region, villageScope(req)), user: req.principal!.displayName || req.principal!.username });
  });

  route(r, {
    method: 'put', path: '/api/patrols/:clientId/findings/:findingId', tags: ['patrol'], roles: PATROLLERS,
    summary: 'A patrol finding (巡查发现): a lead at the position, with photos; 在建 can open a case with the stop order at once',
    summary_zh: '巡查发现（登记为线索，可当场立案）',
    description: 'multipart: lon, lat, accuracy, found_at, category, note, under_construction, open_case, party, address, exif, photo ' +
      `(0–${MAX_FINDING_PHOTOS} files, JPEG/PNG/WebP ≤ 10 MB, the field photo checks). The lead is made as POST /api/leads makes it ` +
      '(village by location, possible duplicate marked). Idempotent by the finding id: a resend answers the stored finding (200, ' +
      'replayed) and adds a photo only if it is not there yet. open_case with under_construction: a case (kind 在建) with its ' +
      'stop order and the 1-working-day report deadline from the day found, the lead linked to it; outside the caller\'s villages ' +
      'the case is not opened (case_refused says why) and the lead is kept.',
    params: FindingParams, body: FindingFields.extend({ photo: z.string().optional().describe('a photo (binary), up to 3') }),
    bodyType: 'multipart', status: 201,
    response: z.object({ finding: Row, photos: z.array(z.number().int()), case_refused: Row.nullable(), replayed: z.boolean() }),
    example: { params: { clientId: '00000000-0000-4000-8000-000000000001', findingId: '00000000-0000-4000-8000-000000000002' } },
  }, photos, async (req, res) => {
    const ids = params(FindingParams, req.params);
    const f = FindingFields.parse(blankToUndefined(req.body));
    checkClock(f.found_at, 'found_at');
    const clientExif = phoneExif(f.exif);
    const files = (req.files as Express.Multer.File[] | undefined) ?? [];
    const p = req.principal!;
    const out = await recordFinding(owner, ctx.config, p, villageScope(req), {
      clientId: ids.findingId, patrolClientId: ids.clientId, lon: f.lon, lat: f.lat, accuracy: f.accuracy, foundAt: f.found_at,
      category: f.category, note: f.note, underConstruction: f.under_construction, openCase: f.open_case ?? false,
      party: f.party, address: f.address,
    });
    // the photos after the lead committed (their rows point at it), as field photos are stored; a resend
    // of the same photo answers the stored one (by its SHA-256), so nothing is stored twice
    const stored: number[] = [];
    for (const file of files) {
      const b = file.buffer;
      const e = await storeEvidence(ctx.db, region, ctx.config.dataDir, { villages: null, polygonIds: [out.finding.lead.id], link: null },
        { id: p.id, username: p.username, linkId: null }, new Uint8Array(b.buffer, b.byteOffset, b.byteLength), {
          polygonId: out.finding.lead.id, capturedAt: f.found_at, clientExif,
          device: { lat: f.lat, lon: f.lon, accuracy: f.accuracy, at: f.found_at },
        });
      stored.push(e.evidence.id);
    }
    if (out.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(out.replayed ? 200 : 201).json({ finding: out.finding, photos: stored, case_refused: out.case_refused, replayed: out.replayed });
  });

  route(r, {
    method: 'put', path: '/api/patrols/:clientId', tags: ['patrol'], roles: PATROLLERS,
    summary: 'Store a patrol when it ends (village, members, start, end, track): sent once from the phone, a resend answers the stored record',
    summary_zh: '登记巡查记录（结束巡查时）',
    description: 'The distance is the track\'s length in the work CRS. Its findings are sent before it (PUT …/findings/:findingId) ' +
      'and are listed with it. 200 + replayed when this id was stored already (by the same account); 409 client_id_reused otherwise.',
    params: ClientParam, body: PatrolBody, status: 201, response: z.object({ patrol: Row, replayed: z.boolean() }),
    example: {
      params: { clientId: '00000000-0000-4000-8000-000000000001' },
      body: { village: '吉安社区', members: ['张三'], started_at: '2021-07-21T01:00:00Z', ended_at: '2021-07-21T02:00:00Z', track: [] },
    },
  }, async (req, res) => {
    const { clientId } = params(ClientParam, req.params);
    const b = PatrolBody.parse(req.body ?? {});
    checkClock(b.started_at, 'started_at');
    checkClock(b.ended_at, 'ended_at');
    const out = await savePatrol(ctx.db, ctx.config, req.principal!, villageScope(req), {
      clientId, village: b.village, members: b.members, startedAt: b.started_at, endedAt: b.ended_at, track: b.track, note: b.note,
    });
    if (out.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(out.replayed ? 200 : 201).json(out);
  });

  route(r, {
    method: 'get', path: '/api/patrols/:clientId', tags: ['patrol'], roles: READERS,
    summary: 'One patrol with its track (GeoJSON, WGS84) and findings', summary_zh: '巡查记录详情',
    params: ClientParam, response: Row,
    example: { params: { clientId: '00000000-0000-4000-8000-000000000001' } },
  }, async (req, res) => {
    const { clientId } = params(ClientParam, req.params);
    const p = await getPatrol(ctx.db, region, clientId, villageScope(req));
    if (!p) throw new AppError('not_found', `No patrol ${clientId}`, `没有巡查记录 ${clientId}`, 404);
    res.json(p);
  });

  route(r, {
    method: 'get', path: '/api/patrols', tags: ['patrol'], roles: READERS,
    summary: 'Patrols (巡查登记台账), oldest first, each with its findings; filters village, from, to', summary_zh: '巡查记录列表',
    query: PatrolListQuery, response: z.object({ total: z.number().int(), items: z.array(Row) }),
  }, async (req, res) => {
    const q = PatrolListQuery.parse(req.query);
    res.json(await listPatrols(ctx.db, region, { scope: villageScope(req), village: q.village, from: q.from, to: q.to }, q.limit, q.offset));
  });

  route(r, {
    method: 'get', path: '/api/patrol-weeks', tags: ['dashboard'], roles: ['admin', 'analyst', 'reviewer'],
    summary: 'Per village and ISO week (Beijing): patrol days, km, findings, new items by source, public-report response times',
    summary_zh: '按村（居）和周统计：巡查天数、里程、发现问题、各来源线索、举报响应时间',
    description: 'Items are counted as GET /api/coverage counts them (one definition): all weeks\' leads add up to its by_source. ' +
      'An item\'s week is its arrival (finding time, report time, else import time).',
    query: PatrolWeeksQuery, response: z.object({ weeks: z.array(Row), totals: Row }),
  }, async (req, res) => {
    const q = PatrolWeeksQuery.parse(req.query);
    res.json(await patrolWeeks(ctx.db, region, { scope: villageScope(req), village: q.village, from: q.from, to: q.to }));
  });

  return r;
}
