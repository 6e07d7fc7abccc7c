/**
 * Photo evidence. A photo is checked (JPEG/PNG/WebP by magic bytes, decodable, bounded in bytes and
 * pixels), stored once by content — <dataDir>/evidence/ab/cd/<sha256>.<ext>, a 400 px thumbnail beside it
 * under evidence/thumb/ — and recorded as an evidence row of one polygon (append-only) plus an
 * `evidence_added` event in the polygon's history. Uploading the same photo for the same polygon again
 * (an offline queue retrying) answers the first row: one file, one row, one event.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Metadata } from 'sharp';
import type { Db, Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';
import { appendEvents } from '../review/events';
import { inTx } from '../review/tx';
import type { Status } from '../review/transitions';
import { accessParams, polygonNotFound, type Access } from './access';
import { mergeExif, normalizeExif, readExif, sanitize, type RawExif } from './exif';

const SQL = sqlSet(new URL('./field.sql', import.meta.url), [
  'polygon_visible', 'lock_polygon', 'distance_to_polygon', 'evidence_existing', 'evidence_insert', 'evidence_get', 'evidence_of_polygon',
] as const);

export const EVIDENCE_MAX_BYTES = 10 * 1024 * 1024;
/** a phone sends ~2 MP; an original straight from a camera may be 50 MP, a decompression bomb far more */
export const MAX_PIXELS = 120_000_000;
const THUMB_PX = 400;

export const IMAGE_TYPES = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
} as const;
export type ImageMime = keyof typeof IMAGE_TYPES;

/** The type of an image by its first bytes (never by its name or the declared content type). */
export function sniffImage(b: Uint8Array): ImageMime | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((x, i) => b[i] === x)) return 'image/png';
  if (b.length >= 12 && String.fromCharCode(...b.subarray(0, 4)) === 'RIFF' && String.fromCharCode(...b.subarray(8, 12)) === 'WEBP') {
    return 'image/webp';
  }
  return null;
}

const shard = (sha: string) => [sha.slice(0, 2), sha.slice(2, 4)];
export const evidenceDir = (dataDir: string) => path.join(dataDir, 'evidence');
export const originalPath = (dataDir: string, sha: string, mime: ImageMime) =>
  path.join(evidenceDir(dataDir), ...shard(sha), `${sha}.${IMAGE_TYPES[mime]}`);
export const thumbPath = (dataDir: string, sha: string) => path.join(evidenceDir(dataDir), 'thumb', ...shard(sha), `${sha}.jpg`);
export const captionedPath = (dataDir: string, id: number, sha: string) =>
  path.join(evidenceDir(dataDir), 'captioned', ...shard(sha), `${sha}-${id}.jpg`);

/** Writes a file once: to a temporary name, then renamed (a reader never sees half a file). */
async function writeOnce(file: string, bytes: Uint8Array | (() => Promise<Uint8Array>)) {
  if (existsSync(file)) return false;
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = tmpName(file);
  await writeFile(tmp, typeof bytes === 'function' ? await bytes() : bytes);
  await rename(tmp, file);
  return true;
}

/** Temporary name of a file being written: beside its real name, so the rename stays on one file system. */
export const TMP_SUFFIX = '.tmp';
const tmpName = (file: string) => `${file}.${randomBytes(6).toString('hex')}${TMP_SUFFIX}`;

/**
 * Writes files under temporary names; commit() gives them their real names, discard() removes them. A file
 * that already exists (the same photo stored before: content-addressed) is not written again.
 */
export async function stageFiles(files: { file: string; bytes: Uint8Array }[]) {
  const staged: { tmp: string; file: string }[] = [];
  try {
    for (const f of files) {
      if (existsSync(f.file)) continue;
      await mkdir(path.dirname(f.file), { recursive: true });
      const tmp = tmpName(f.file);
      staged.push({ tmp, file: f.file });
      await writeFile(tmp, f.bytes);
    }
  } catch (e) {
    await Promise.all(staged.map((s) => rm(s.tmp, { force: true })));
    throw e;
  }
  return {
    /** after the row committed: the files take their names (an identical file that appeared meanwhile is replaced by the same bytes) */
    commit: () => Promise.all(staged.map((s) => rename(s.tmp, s.file))).then(() => undefined),
    /** the row did not commit: nothing of this upload stays on disk */
    discard: () => Promise.all(staged.map((s) => rm(s.tmp, { force: true }))).then(() => undefined),
  };
}

export interface UploadMeta {
  polygonId: number;
  clientId?: string;
  capturedAt?: string;
  device?: { lat: number; lon: number; accuracy?: number; at?: string };
  /** the raw EXIF tags the phone read from the original before resizing */
  clientExif?: unknown;
}

export interface Uploader {
  id: number;
  username: string;
  linkId: number | null;
}

export interface EvidenceRow {
  id: number | string;
  polygon_id: number | string;
  sha256: string;
  mime: ImageMime;
  bytes: number;
  width: number | null;
  height: number | null;
  client_id: string | null;
  uploaded_at: Date;
  user_id: number;
  username: string;
  field_link_id: number | string | null;
  captured_at: Date | null;
  taken_at: Date | null;
  exif_lat: number | null;
  exif_lon: number | null;
  exif_heading: number | null;
  device_lat: number | null;
  device_lon: number | null;
  device_accuracy_m: number | null;
  device_at: Date | null;
  distance_m: number | null;
  distance_from: 'device' | 'exif' | null;
  exif: RawExif;
  client_exif: RawExif;
  polygon_code?: string;
  village?: string | null;
}

const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);

/** An evidence row as the API shows it, with the URLs of its images. */
export function evidenceOut(e: EvidenceRow) {
  const id = Number(e.id);
  return {
    id,
    polygon_id: Number(e.polygon_id),
    sha256: e.sha256,
    mime: e.mime,
    bytes: e.bytes,
    width: e.width,
    height: e.height,
    client_id: e.client_id,
    uploaded_at: iso(e.uploaded_at)!,
    uploaded_by: e.username,
    field_link_id: e.field_link_id === null ? null : Number(e.field_link_id),
    captured_at: iso(e.captured_at),
    taken_at: iso(e.taken_at),
    position: e.device_lat !== null
      ? { lat: e.device_lat, lon: e.device_lon!, accuracy_m: e.device_accuracy_m, at: iso(e.device_at) }
      : null,
    exif_position: e.exif_lat !== null ? { lat: e.exif_lat, lon: e.exif_lon!, heading: e.exif_heading } : null,
    distance_m: e.distance_m,
    distance_from: e.distance_from,
    camera: [e.exif?.Make ?? e.client_exif?.Make, e.exif?.Model ?? e.client_exif?.Model].filter(Boolean).join(' ') || null,
    urls: { thumb: `/api/evidence/${id}/thumb`, full: `/api/evidence/${id}/full`, captioned: `/api/evidence/${id}/captioned.jpg` },
  };
}
export type EvidenceOut = ReturnType<typeof evidenceOut>;

const unreadable = () =>
  new AppError('image_unreadable', 'The photo cannot be read as an image', '照片无法识别为图像文件', 422);

const tooManyPixels = (details?: { width: number; height: number }) =>
  new AppError('image_too_large', `The photo has too many pixels (at most ${MAX_PIXELS / 1e6} million)`,
    `照片像素过多（最多 ${MAX_PIXELS / 1e6} 百万像素）`, 413, details);

/** POST /api/evidence */
export async function storeEvidence(
  db: Db,
  regionCode: string,
  dataDir: string,
  access: Access,
  who: Uploader,
  bytes: Uint8Array,
  meta: UploadMeta,
): Promise<{ evidence: EvidenceOut; duplicate: boolean }> {
  if (bytes.length === 0) throw new AppError('file_missing', 'The photo is empty', '照片文件为空', 400);
  if (bytes.length > EVIDENCE_MAX_BYTES) throw tooLarge();
  const mime = sniffImage(bytes);
  if (!mime) {
    throw new AppError('unsupported_type', 'Only JPEG, PNG or WebP photos are accepted', '只接受 JPEG、PNG 或 WebP 格式的照片', 415);
  }
  // the polygon first: nothing is written for a polygon the caller may not see
  const [villages, ids] = accessParams(access);
  const poly = (await db.query(SQL.polygon_visible, [regionCode, meta.polygonId, villages, ids])).rows[0];
  if (!poly) throw polygonNotFound(meta.polygonId);

  let info: Metadata;
  try {
    info = await sharp(bytes, { limitInputPixels: MAX_PIXELS }).metadata();
  } catch (e) {
    // sharp reads the dimensions from the header and refuses before decoding: too big, not unreadable
    if (/exceeds pixel limit/i.test((e as Error)?.message ?? '')) throw tooManyPixels();
    throw unreadable();
  }
  const format = info.format === 'jpeg' ? 'image/jpeg' : info.format === 'png' ? 'image/png' : info.format === 'webp' ? 'image/webp' : null;
  if (format !== mime || !info.width || !info.height) throw unreadable();
  if (info.width * info.height > MAX_PIXELS) throw tooManyPixels({ width: info.width, height: info.height });
  const sha = createHash('sha256').update(bytes).digest('hex');

  // the file (once, by content) and its thumbnail go to temporary names first and take their real names
  // only once the row that points at them has committed: a refused or failed upload leaves no file behind
  // (issue 12 item 5). A crash between the commit and the rename leaves a row whose file is still under its
  // temporary name: the integrity sweep finishes the rename (server/integrity/evidence-files.ts).
  let thumb: Buffer;
  try {
    thumb = await sharp(bytes, { limitInputPixels: MAX_PIXELS })
      .rotate()
      .resize({ width: THUMB_PX, height: THUMB_PX, fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 72, mozjpeg: true })
      .toBuffer();
  } catch {
    throw unreadable();
  }
  const staged = await stageFiles([
    { file: originalPath(dataDir, sha, mime), bytes },
    { file: thumbPath(dataDir, sha), bytes: thumb },
  ]);
  try {
    const result = await recordEvidence(db, regionCode, access, who, meta, { sha, mime, size: bytes.length, info, bytes });
    await staged.commit();
    return result;
  } catch (e) {
    await staged.discard();
    throw e;
  }
}

/** What storeEvidence learnt about the photo before the transaction. */
interface CheckedPhoto {
  sha: string;
  mime: ImageMime;
  size: number;
  info: Metadata;
  bytes: Uint8Array;
}

/** The evidence row and its history event, in one transaction (the files are staged, not yet in place). */
async function recordEvidence(
  db: Db,
  regionCode: string,
  access: Access,
  who: Uploader,
  meta: UploadMeta,
  { sha, mime, size, info, bytes }: CheckedPhoto,
): Promise<{ evidence: EvidenceOut; duplicate: boolean }> {
  const [villages, ids] = accessParams(access);
  const fileExif = await readExif(bytes);
  const phoneExif = sanitize(meta.clientExif);
  const exif = mergeExif(normalizeExif(fileExif), normalizeExif(phoneExif));
  // a rotated JPEG: report the size as seen
  const swap = (info.orientation ?? 1) >= 5;
  const width = swap ? info.height : info.width;
  const height = swap ? info.width : info.height;

  return inTx(db, async (q) => {
    const lock = (await q.query<{ id: number; code: string; status: Status; village_name: string | null }>(SQL.lock_polygon, [
      regionCode, meta.polygonId, villages, ids,
    ])).rows[0];
    if (!lock) throw polygonNotFound(meta.polygonId);
    const prior = (await q.query<EvidenceRow>(SQL.evidence_existing, [regionCode, meta.polygonId, sha, meta.clientId ?? null])).rows[0];
    if (prior) {
      if (prior.sha256 !== sha || Number(prior.polygon_id) !== meta.polygonId) {
        throw new AppError('client_id_reused', 'This client_id was already used for another photo', '此 client_id 已用于另一张照片', 422);
      }
      return { evidence: evidenceOut(prior), duplicate: true };
    }
    const from = meta.device ? 'device' : exif.lat !== null ? 'exif' : null;
    const at = meta.device ?? (exif.lat !== null ? { lat: exif.lat, lon: exif.lon! } : null);
    const distance = at ? await distanceTo(q, regionCode, meta.polygonId, at.lon, at.lat) : null;
    const row = (await q.query<EvidenceRow>(SQL.evidence_insert, [
      regionCode, meta.polygonId, sha, mime, size, width, height, meta.clientId ?? null, who.id, who.username,
      who.linkId, meta.capturedAt ?? null, exif.taken_at, exif.lat, exif.lon, exif.heading,
      meta.device?.lat ?? null, meta.device?.lon ?? null, meta.device?.accuracy ?? null, meta.device?.at ?? null,
      distance, from, JSON.stringify(fileExif), JSON.stringify(phoneExif),
    ])).rows[0];
    const out = evidenceOut(row);
    await appendEvents(q, regionCode, {
      items: [{ id: meta.polygonId, from: lock.status, to: lock.status }],
      actor: { id: who.id, username: who.username },
      action: 'evidence_added',
      requestId: meta.clientId ?? null,
      payload: { evidence: photoSummary(out), ...(who.linkId ? { field_link_id: who.linkId } : {}) },
    });
    return { evidence: out, duplicate: false };
  });
}

const tooLarge = () =>
  new AppError('payload_too_large', `A photo may be at most ${EVIDENCE_MAX_BYTES / 1024 / 1024} MB`, `照片不能超过 ${EVIDENCE_MAX_BYTES / 1024 / 1024} MB`, 413);

export async function distanceTo(q: Queryable, regionCode: string, polygonId: number, lon: number, lat: number) {
  const r = await q.query<{ d: number }>(SQL.distance_to_polygon, [regionCode, polygonId, lon, lat]);
  const d = r.rows[0]?.d;
  return d === undefined || d === null ? null : Math.round(Number(d) * 10) / 10;
}

/** What a history event says about a photo (enough to show it and trust it without another lookup). */
export function photoSummary(e: EvidenceOut) {
  return {
    id: e.id,
    sha256: e.sha256,
    thumb: e.urls.thumb,
    full: e.urls.full,
    captured_at: e.captured_at,
    taken_at: e.taken_at,
    position: e.position,
    exif_position: e.exif_position,
    distance_m: e.distance_m,
    distance_from: e.distance_from,
  };
}

export async function getEvidence(q: Queryable, regionCode: string, id: number, access: Access): Promise<EvidenceRow> {
  const [villages, ids] = accessParams(access);
  const e = (await q.query<EvidenceRow>(SQL.evidence_get, [regionCode, id, villages, ids])).rows[0];
  if (!e) throw new AppError('not_found', `No photo ${id}`, `没有照片 ${id}`, 404);
  return e;
}

export async function polygonEvidence(q: Queryable, regionCode: string, polygonId: number) {
  return (await q.query<EvidenceRow>(SQL.evidence_of_polygon, [regionCode, polygonId])).rows.map(evidenceOut);
}

export const readOriginal = (dataDir: string, e: EvidenceRow) => readFile(originalPath(dataDir, e.sha256, e.mime));

/** The thumbnail (made again from the original if it went missing). */
export async function thumbnail(dataDir: string, e: EvidenceRow): Promise<Buffer> {
  const f = thumbPath(dataDir, e.sha256);
  if (!existsSync(f)) {
    const orig = await readOriginal(dataDir, e);
    await writeOnce(f, () =>
      sharp(orig, { limitInputPixels: MAX_PIXELS }).rotate().resize({ width: THUMB_PX, height: THUMB_PX, fit: 'inside', withoutEnlargement: true })
        .flatten({ background: '#ffffff' })
        .jpeg({ quality: 72, mozjpeg: true }).toBuffer(),
    );
  }
  return readFile(f);
}

const xml = (s: string) => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

/** The two caption lines: what, where, when (China time). */
export function captionLines(e: EvidenceRow): [string, string] {
  const when = e.taken_at ?? e.captured_at ?? e.uploaded_at;
  const t = new Date(new Date(when).getTime() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
  const pos = e.device_lat !== null
    ? `${e.device_lat.toFixed(6)}°N ${e.device_lon!.toFixed(6)}°E${e.device_accuracy_m ? ` ±${Math.round(e.device_accuracy_m)} m` : ''}`
    : e.exif_lat !== null ? `${e.exif_lat.toFixed(6)}°N ${e.exif_lon!.toFixed(6)}°E (EXIF)` : '无定位 no position';
  const dist = e.distance_m === null ? '' : e.distance_m === 0 ? ' · 在图斑内' : ` · 距图斑 ${Math.round(e.distance_m)} m`;
  return [
    `图斑 ${e.polygon_code ?? e.polygon_id}${e.village ? ` · ${e.village}` : ''} · 照片 #${e.id}`,
    `${t} (UTC+8) · ${pos}${dist}`,
  ];
}

/** The photo with its caption burnt in (for exports), made once per photo and kept. */
export async function captioned(dataDir: string, e: EvidenceRow): Promise<Buffer> {
  const f = captionedPath(dataDir, Number(e.id), e.sha256);
  if (existsSync(f)) return readFile(f);
  const base = sharp(await readOriginal(dataDir, e), { limitInputPixels: MAX_PIXELS }).rotate();
  const img = await base.resize({ width: 2000, height: 2000, fit: 'inside', withoutEnlargement: true }).toBuffer({ resolveWithObject: true });
  const { width: w, height: h } = img.info;
  const fs = Math.max(12, Math.round(Math.min(w, h * 1.5) / 42));
  const band = Math.round(fs * 3.1);
  const [l1, l2] = captionLines(e);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${band}">
  <rect width="100%" height="100%" fill="rgba(0,0,0,0.55)"/>
  <g font-family="WenQuanYi Micro Hei, Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif" fill="#fff">
    <text x="${Math.round(fs * 0.6)}" y="${Math.round(fs * 1.3)}" font-size="${fs}" font-weight="bold">${xml(l1)}</text>
    <text x="${Math.round(fs * 0.6)}" y="${Math.round(fs * 2.6)}" font-size="${Math.round(fs * 0.9)}">${xml(l2)}</text>
  </g>
</svg>`;
  const out = await sharp(img.data)
    .flatten({ background: '#ffffff' })
    .composite([{ input: Buffer.from(svg), top: h - band, left: 0 }])
    .jpeg({ quality: 85, mozjpeg: true })
    .toBuffer();
  await writeOnce(f, out);
  return out;
}
