/**
 * Public reports (举报受理, 实施方案 七; issue 16 items 2–7). No account: a report is a new lead (source
 * 'report') in the analysts' queue, routed to its village by location, or a photo added to an open item
 * within 50 m. The reporter gets a receipt code and a secret; the status page shows only 已受理 / 核查中 /
 * 已处理 with a date.
 *
 * Confidentiality first (item 3: a report may be about a cadre): the phone and the reporter's address are
 * stored in public_report only, read back by the admins' contact route alone (reports.sql says so), and never
 * copied into the lead's attributes, its history or its photos (device identifiers are stripped from the
 * EXIF; time and position are kept as evidence).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import sharp from 'sharp';
import type { AppContext } from '../context';
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';
import { EVIDENCE_MAX_BYTES, MAX_PIXELS, sniffImage, storeEvidence } from '../field/evidence';
import { readExif, type RawExif } from '../field/exif';
import { addWorkdays, today } from '../review/workdays';
import { insertLead, randomCode } from './leads';

const SQL = sqlSet(new URL('./reports.sql', import.meta.url), [
  'rate_counts', 'within_area', 'nearby_open', 'report_insert', 'report_status', 'report_list', 'overdue', 'contact',
] as const);

export const REPORT_CATEGORIES = {
  construction: '在建违法建设',
  compound: '小区违法搭建/占用绿地',
  school: '学校周边',
  other: '其他',
} as const;
export type ReportCategory = keyof typeof REPORT_CATEGORIES;
export const CATEGORY_CODES = Object.keys(REPORT_CATEGORIES) as [ReportCategory, ...ReportCategory[]];

export const MAX_REPORT_PHOTOS = 3;
/** a photo's long side after resizing: enough to see a wall and a roof, small enough for a phone's data plan */
const REPORT_PHOTO_PX = 1600;
/** "open items within 50 m" before submitting (item 5) */
export const NEARBY_M = 50;
/** a report further than this from every village of the town is not the town's (and PostGIS is not fed nonsense) */
const AREA_MARGIN_M = 3000;
/** who a public photo or report is recorded as in a polygon's history: no person, no address */
export const PUBLIC_ACTOR = { id: 0, username: '公众举报', linkId: null };

export const PUBLIC_STATUS = {
  received: { zh: '已受理', en: 'received' },
  in_progress: { zh: '核查中', en: 'in progress' },
  done: { zh: '已处理', en: 'done' },
} as const;
export type PublicStatus = keyof typeof PUBLIC_STATUS;

/** The EXIF a public photo keeps: when and where (evidence), never which device (Make, Model, serials). */
const KEPT_EXIF = ['DateTimeOriginal', 'OffsetTimeOriginal', 'CreateDate', 'OffsetTime', 'GPSLatitude', 'GPSLatitudeRef',
  'GPSLongitude', 'GPSLongitudeRef', 'GPSAltitude', 'GPSImgDirection', 'GPSImgDirectionRef', 'GPSDateStamp', 'GPSTimeStamp',
  'GPSHPositioningError', 'latitude', 'longitude'] as const;

export interface ReportInput {
  lon: number;
  lat: number;
  category: ReportCategory;
  description: string;
  phone?: string;
  /** the honeypot: a field people never see, so never fill in */
  website?: string;
  /** add the photos to this open item instead of a new lead (an id from GET /api/public/reports/nearby) */
  addTo?: number;
  photos: Uint8Array[];
  via: 'web' | 'open311';
  ip: string;
}

export interface Receipt {
  code: string;
  secret: string;
  status: PublicStatus;
  status_zh: string;
  received_at: string;
  due_on: string;
  added_to_existing: boolean;
  photos: number;
  url: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Mainland mobile or a landline with area code; spaces and dashes dropped. */
export function normalizePhone(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const p = v.replace(/[\s-]/g, '');
  if (p === '') return undefined;
  if (!/^(\+?86)?(1[3-9]\d{9}|0\d{9,11})$/.test(p)) {
    throw new AppError('invalid_phone', 'The phone number is not a mainland mobile or landline number', '电话号码格式不正确（手机号或带区号的座机号）', 400,
      [{ path: 'phone', message: 'invalid' }]);
  }
  return p.replace(/^\+?86/, '');
}

const photoUnreadable = (i: number) =>
  new AppError('image_unreadable', `Photo ${i + 1} cannot be read as an image`, `第 ${i + 1} 张照片无法识别为图像`, 422);

/**
 * The field photos' checks (type by magic bytes, decodable, bounded bytes and pixels: field/evidence.ts),
 * then resized and re-encoded: the new JPEG carries no metadata at all; time and position read from the
 * original are handed on as the kept tags (stored with the evidence row, burnt into the captioned copy).
 */
export async function publicPhoto(bytes: Uint8Array, i: number): Promise<{ jpeg: Uint8Array; exif: RawExif }> {
  if (bytes.length === 0) throw new AppError('file_missing', `Photo ${i + 1} is empty`, `第 ${i + 1} 张照片为空`, 400);
  if (bytes.length > EVIDENCE_MAX_BYTES) {
    throw new AppError('payload_too_large', `A photo may be at most ${EVIDENCE_MAX_BYTES / 1048576} MB`, `照片不能超过 ${EVIDENCE_MAX_BYTES / 1048576} MB`, 413);
  }
  if (!sniffImage(bytes)) {
    throw new AppError('unsupported_type', 'Only JPEG, PNG or WebP photos are accepted', '只接受 JPEG、PNG 或 WebP 格式的照片', 415);
  }
  let jpeg: Buffer;
  try {
    const meta = await sharp(bytes, { limitInputPixels: MAX_PIXELS }).metadata();
    if (!meta.width || !meta.height) throw photoUnreadable(i);
    jpeg = await sharp(bytes, { limitInputPixels: MAX_PIXELS })
      .rotate()
      .resize({ width: REPORT_PHOTO_PX, height: REPORT_PHOTO_PX, fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 82, mozjpeg: true })
      .toBuffer();
  } catch (e) {
    if (e instanceof AppError) throw e;
    if (/exceeds pixel limit/i.test((e as Error)?.message ?? '')) {
      throw new AppError('image_too_large', 'The photo has too many pixels', '照片像素过多', 413);
    }
    throw photoUnreadable(i);
  }
  const all = await readExif(bytes);
  const exif: RawExif = {};
  for (const k of KEPT_EXIF) if (all[k] !== undefined) exif[k] = all[k];
  return { jpeg: new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength), exif };
}

const tooMany = (what: string, zh: string) =>
  new AppError('rate_limited', `Too many reports ${what}; please try again later`, `${zh}提交的举报过多，请稍后再试`, 429);

async function checkLimits(q: Queryable, ctx: AppContext, ip: string, phone: string | undefined) {
  const lim = ctx.config.reports;
  const c = (await q.query<{ ip_hour: number; ip_day: number; phone_day: number }>(SQL.rate_counts, [ip, phone ?? null])).rows[0];
  if (c.ip_hour >= lim.perHour) throw tooMany('from this address in the last hour', '本网络地址一小时内');
  if (c.ip_day >= lim.perDay) throw tooMany('from this address today', '本网络地址一天内');
  if (phone && c.phone_day >= lim.perPhoneDay) throw tooMany('with this phone number today', '该电话号码一天内');
}

/** POST /api/public/reports, POST /open311/v2/requests.json */
export async function submitReport(ctx: AppContext, r: ReportInput, baseUrl: string): Promise<Receipt> {
  if (r.website && r.website.trim() !== '') {
    // a bot filled in the field people never see: refused, nothing stored, and said so
    throw new AppError('rejected', 'The form was not filled in as expected; nothing was stored', '表单填写异常，未保存，请刷新页面后重新填写', 400);
  }
  if (r.photos.length > MAX_REPORT_PHOTOS) {
    throw new AppError('too_many_photos', `At most ${MAX_REPORT_PHOTOS} photos`, `最多 ${MAX_REPORT_PHOTOS} 张照片`, 400);
  }
  const phone = normalizePhone(r.phone);
  const region = ctx.config.regionCode;
  const owner = ctx.importDb ?? ctx.db;
  await checkLimits(ctx.db, ctx, r.ip, phone);
  // every photo checked and re-encoded before anything is stored: a bad photo refuses the whole report
  const photos = [];
  for (const [i, b] of r.photos.entries()) photos.push(await publicPhoto(b, i));
  const inArea = (await ctx.db.query<{ ok: boolean }>(SQL.within_area, [region, r.lon, r.lat, AREA_MARGIN_M])).rows[0].ok;
  if (!inArea) {
    throw new AppError('outside_area', 'This place is not in the town: reports are taken for its villages only', '该位置不在本镇范围内，只受理本镇各村（社区）的举报', 422);
  }

  const code = randomCode(10);
  const secret = randomBytes(16).toString('base64url');
  const due = addWorkdays(today(), ctx.config.reports.responseWorkdays);
  const row = await owner.tx(async (q) => {
    await checkLimits(q, ctx, r.ip, phone);
    let polygonId: number;
    if (r.addTo !== undefined) {
      const near = (await q.query<{ id: number }>(SQL.nearby_open, [region, r.lon, r.lat, NEARBY_M, ctx.config.workSrid])).rows;
      if (!near.some((n) => Number(n.id) === r.addTo)) {
        throw new AppError('not_nearby', `Item ${r.addTo} is not an open item within ${NEARBY_M} m of this place`,
          `编号 ${r.addTo} 不是该位置 ${NEARBY_M} 米内正在处理的事项`, 422);
      }
      polygonId = r.addTo;
    } else {
      const lead = await insertLead(q, ctx.config, {
        source: 'report', lon: r.lon, lat: r.lat, code: `JB-${code}`,
        // what analysts need to triage; never the phone or the address (those stay in public_report)
        attrs: { category: r.category, category_zh: REPORT_CATEGORIES[r.category], description: r.description, via: r.via },
      });
      polygonId = lead.id;
    }
    const ins = (await q.query<{ received_at: Date; due_on: string }>(SQL.report_insert, [
      region, code, sha256(secret), polygonId, r.addTo === undefined, r.category, r.description, phone ?? null, r.ip, r.via, due,
    ])).rows[0];
    return { polygonId, ...ins };
  });
  // the photos after the report committed (their rows point at its item); each stored like a field photo
  let stored = 0;
  for (const p of photos) {
    await storeEvidence(ctx.db, region, ctx.config.dataDir, { villages: null, polygonIds: null, link: null }, PUBLIC_ACTOR, p.jpeg, {
      polygonId: row.polygonId, clientExif: p.exif,
    });
    stored++;
  }
  return {
    code, secret, status: 'received', status_zh: PUBLIC_STATUS.received.zh,
    received_at: new Date(row.received_at).toISOString(), due_on: row.due_on, added_to_existing: r.addTo !== undefined,
    photos: stored, url: `${baseUrl}/report/${code}#${secret}`,
  };
}

export interface StatusRow {
  receipt_code: string;
  secret_hash: string;
  category: ReportCategory;
  received_at: Date;
  due_on: string;
  polygon_id: number;
  status: string;
  village_name: string | null;
  lon: number | null;
  lat: number | null;
  status_at: Date | null;
  first_response_at: Date | null;
}

/** The three words the public sees, and since when. */
export function publicStatus(s: StatusRow): { status: PublicStatus; since: string } {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : new Date(s.received_at).toISOString());
  if (['verified', 'linked', 'dismissed'].includes(s.status)) return { status: 'done', since: iso(s.status_at) };
  if (s.status === 'field_check' || s.first_response_at) return { status: 'in_progress', since: iso(s.first_response_at ?? s.status_at) };
  return { status: 'received', since: iso(null) };
}

export async function statusRows(q: Queryable, region: string | null, codes: string[]) {
  return (await q.query<StatusRow>(SQL.report_status, [region, codes])).rows;
}

const notFound = (code: string) => new AppError('not_found', `No report ${code}`, `没有编号为 ${code} 的举报`, 404);

/** GET /api/public/reports/:code?secret=: the reporter's own view (a wrong secret is the same 404 as no report). */
export async function reportStatus(ctx: AppContext, code: string, secret: string | undefined) {
  const row = (await statusRows(ctx.db, ctx.config.regionCode, [code]))[0];
  if (!row || !secret) throw notFound(code);
  const a = Buffer.from(sha256(secret), 'hex');
  const b = Buffer.from(row.secret_hash, 'hex');
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw notFound(code);
  const s = publicStatus(row);
  return {
    code: row.receipt_code,
    category: row.category,
    category_zh: REPORT_CATEGORIES[row.category],
    received_at: new Date(row.received_at).toISOString(),
    due_on: row.due_on,
    status: s.status,
    status_zh: PUBLIC_STATUS[s.status].zh,
    status_since: s.since,
  };
}

/** GET /api/public/reports/nearby: what the reporter may add a photo to instead (item 5). */
export async function nearbyOpen(ctx: AppContext, lon: number, lat: number) {
  const rows = (await ctx.db.query<{ id: number; source: string; status: string; distance_m: number; in_progress: boolean; reports: number }>(
    SQL.nearby_open, [ctx.config.regionCode, lon, lat, NEARBY_M, ctx.config.workSrid])).rows;
  return rows.map((r) => {
    const working = r.in_progress || r.status === 'field_check';
    return {
      id: Number(r.id),
      distance_m: r.distance_m,
      reported: r.source === 'report' || r.reports > 0,
      label_zh: working ? '已在处理' : r.source === 'report' || r.reports > 0 ? '已有人举报' : '已在处理',
      status_zh: working ? PUBLIC_STATUS.in_progress.zh : PUBLIC_STATUS.received.zh,
    };
  });
}

/** Overdue for a response (item 6), for the dashboard. */
export async function overdueReports(ctx: AppContext, scope: string[] | undefined, asOf = today()) {
  const rows = (await ctx.db.query<{ id: number; receipt_code: string; category: ReportCategory; received_at: Date; due_on: string; code: string; polygon_id: number; village: string | null }>(
    SQL.overdue, [ctx.config.regionCode, asOf, scope ?? null])).rows;
  return {
    as_of: asOf,
    response_workdays: ctx.config.reports.responseWorkdays,
    overdue: rows.length,
    items: rows.map((r) => ({
      polygon_id: Number(r.polygon_id), code: r.code, village: r.village, category: r.category,
      received_at: new Date(r.received_at).toISOString(), due_on: r.due_on,
    })),
  };
}

export async function reportCodes(ctx: AppContext, o: { limit: number; category?: string; from?: string; to?: string }) {
  return (await ctx.db.query<{ receipt_code: string }>(SQL.report_list, [ctx.config.regionCode, o.limit, o.category ?? null, o.from ?? null, o.to ?? null]))
    .rows.map((r) => r.receipt_code);
}

/** Admins only: who reported (the one read of the confidential columns besides the rate limit's counts). */
export async function reportContact(ctx: AppContext, code: string) {
  const r = (await ctx.db.query<{ receipt_code: string; phone: string | null; reporter_ip: string; received_at: Date }>(
    SQL.contact, [ctx.config.regionCode, code])).rows[0];
  if (!r) throw notFound(code);
  return { code: r.receipt_code, phone: r.phone, reporter_ip: r.reporter_ip, received_at: new Date(r.received_at).toISOString() };
}
