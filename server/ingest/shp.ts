/**
 * .shp geometry: a structural walk that validates every record (so a truncated or damaged file is
 * refused with the record number instead of silently losing its tail — shpjs stops quietly at the
 * first incomplete record), then shpjs's parseShp for the ring logic (outer/inner by orientation,
 * multipart → MultiPolygon).
 */
import { parseShp } from 'shpjs';
import type { Geometry } from 'geojson';
import { IngestError } from '../errors';
import { BBox, clean2D } from './geometry';
import { warning, type Warning } from './warn';
import { toSource, type ByteSource } from './bytes';

export const SHAPE_TYPES: Record<number, string> = {
  0: 'Null',
  1: 'Point',
  3: 'PolyLine',
  5: 'Polygon',
  8: 'MultiPoint',
  11: 'PointZ',
  13: 'PolyLineZ',
  15: 'PolygonZ',
  18: 'MultiPointZ',
  21: 'PointM',
  23: 'PolyLineM',
  25: 'PolygonM',
  28: 'MultiPointM',
  31: 'MultiPatch',
};

/** Z and M variants share the 2D layout up to the end of the XY points; only that part is read. */
const BASE_2D: Record<number, number> = { 0: 0, 1: 1, 11: 1, 21: 1, 3: 3, 13: 3, 23: 3, 5: 5, 15: 5, 25: 5, 8: 8, 18: 8, 28: 8 };
const base2D = (t: number) => BASE_2D[t] ?? -1;

export const shpCorrupt = (reason: string, reason_zh: string, details?: Record<string, unknown>) =>
  new IngestError('shp_corrupt', `The .shp geometry file is damaged: ${reason}.`, `.shp 几何文件已损坏：${reason_zh}。`, {
    reason,
    ...details,
  });

/** The smallest possible record: an 8-byte record header and a Null shape's 4-byte type. */
export const MIN_RECORD_BYTES = 12;

export interface ShpScan {
  shapeType: number;
  recordCount: number;
  /** bytes holding the header and the records (what we parse) */
  length: number;
  /**
   * bytes the header's file length claims beyond the end of the file, when the records themselves end
   * exactly there (every record complete). 0 for a file whose length is right. The caller decides: less
   * than one record cannot hide a missing record; more is accepted only when the .dbf/.shx counts agree.
   */
  overstated: number;
  warnings: Warning[];
}

/** The .shp header's shape type (bytes 32–35), or undefined when there is no readable header. */
export function shpHeaderType(shp: Uint8Array | ByteSource): number | undefined {
  const src = toSource(shp);
  if (src.size < 100) return undefined;
  const { buf, at } = src.view(0, 100);
  if (buf.readInt32BE(at) !== 9994) return undefined;
  return buf.readInt32LE(at + 32);
}

/** Minimum content bytes (after the 4-byte shape type) that the 2D part of a record needs. */
function needed(type: number, dv: DataView, at: number, len: number): number {
  switch (base2D(type)) {
    case 1:
      return 16;
    case 8: {
      if (len < 36) return 36;
      const n = dv.getInt32(at + 32, true);
      return n < 0 ? Infinity : 36 + 16 * n;
    }
    case 3:
    case 5: {
      if (len < 40) return 40;
      const parts = dv.getInt32(at + 32, true);
      const points = dv.getInt32(at + 36, true);
      if (parts < 0 || points < 0) return Infinity;
      const need = 40 + 4 * parts + 16 * points;
      if (need > len) return need;
      // part start indices must be ascending and inside the point array
      let prev = 0;
      for (let k = 0; k < parts; k++) {
        const s = dv.getInt32(at + 40 + 4 * k, true);
        if (s < prev || s > points) return Infinity;
        prev = s;
      }
      return need;
    }
    default:
      return 0;
  }
}

export function scanShp(shp: Uint8Array | ByteSource): ShpScan {
  const src = toSource(shp);
  const size = src.size;
  if (size < 100) throw shpCorrupt('shorter than its 100-byte header', '文件不足 100 字节的文件头');
  const head = src.view(0, 100);
  const hdv = new DataView(head.buf.buffer, head.buf.byteOffset + head.at, 100);
  if (hdv.getInt32(0, false) !== 9994) throw shpCorrupt('not a shapefile (bad file code)', '不是 shapefile（文件代码错误）');
  const declared = hdv.getInt32(24, false) * 2;
  const shapeType = hdv.getInt32(32, true);
  if (!(shapeType in SHAPE_TYPES)) throw shpCorrupt(`unknown shape type ${shapeType}`, `未知的图形类型 ${shapeType}`);
  if (shapeType === 31)
    throw new IngestError(
      'shp_unsupported_type',
      'MultiPatch (3D surface) shapefiles are not supported; export polygons instead.',
      '不支持 MultiPatch（三维面片）类型的 shapefile，请导出为面（Polygon）。',
      { shapeType },
    );
  const warnings: Warning[] = [];
  if (declared < 100)
    throw shpCorrupt(`the header declares an impossible length of ${declared} bytes`, `文件头声明的长度 ${declared} 字节不可能成立`, {
      declared,
    });
  if (declared < size)
    warnings.push(
      warning(
        'shp_trailing_bytes',
        `The .shp has ${size - declared} bytes after its declared end; they were ignored.`,
        `.shp 文件在声明的结尾之后还有 ${size - declared} 字节，已忽略。`,
      ),
    );

  // Records are walked up to the declared end, or to the real end when the header claims more bytes
  // than the file has. A record that does not fit is cut short: refused with its number. Records that
  // all fit, ending exactly at the end of the file, leave `overstated` bytes for the caller to judge.
  const end = Math.min(declared, size);
  const cut = declared > size;
  const where = cut ? 'the end of the file' : 'the length its header declares';
  const where_zh = cut ? '文件结尾' : '文件头声明的长度';
  const dvs = new DataViews();
  let n = 0;
  let off = 100;
  while (off < end) {
    const rec = n + 1;
    if (off + 8 > end)
      throw shpCorrupt(`record ${rec} is cut short: its 8-byte header runs past ${where}`, `第 ${rec} 条记录不完整：记录头超出${where_zh}`, {
        record: rec,
        declared,
        actual: size,
      });
    const h = src.view(off, 8);
    const len = h.buf.readInt32BE(h.at + 4) * 2;
    if (len < 0 || off + 8 + len > end)
      throw shpCorrupt(
        `record ${rec} is cut short: it declares ${len} bytes, only ${end - off - 8} remain before ${where}`,
        `第 ${rec} 条记录不完整：声明 ${len} 字节，但到${where_zh}只剩 ${end - off - 8} 字节`,
        { record: rec, declared, actual: size },
      );
    if (len >= 4) {
      const v = src.view(off, 8 + len);
      const dv = dvs.of(v.buf);
      const t = dv.getInt32(v.at + 8, true);
      if (t !== 0) {
        if (base2D(t) !== base2D(shapeType))
          throw shpCorrupt(
            `record ${rec} has shape type ${t} in a ${SHAPE_TYPES[shapeType]} file`,
            `第 ${rec} 条记录的图形类型为 ${t}，与文件类型 ${SHAPE_TYPES[shapeType]} 不符`,
            { record: rec },
          );
        if (needed(t, dv, v.at + 12, len - 4) > len - 4)
          throw shpCorrupt(
            `record ${rec} is inconsistent (part/point counts exceed its length)`,
            `第 ${rec} 条记录自相矛盾（部件数或点数超出记录长度）`,
            { record: rec },
          );
      }
    }
    off += 8 + len;
    n++;
  }
  return { shapeType, recordCount: n, length: off, overstated: cut ? declared - size : 0, warnings };
}

/** One DataView per window buffer: a window holds thousands of records. */
class DataViews {
  private buf: Buffer | undefined;
  private dv: DataView | undefined;
  of(buf: Buffer): DataView {
    if (buf !== this.buf) {
      this.buf = buf;
      this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    return this.dv!;
  }
}

/**
 * The header claimed `scan.overstated` bytes more than the file has, yet every record is complete.
 * Less than the smallest record cannot hide a lost record (writers that count the header or padding
 * wrongly): read, with a warning. More is accepted only when the .dbf (and the .shx, when present)
 * count exactly the records found; otherwise records were lost and the file is refused.
 */
export function judgeOverstated(scan: ShpScan, dbfRecords: number, shxRecords: number | null | undefined): Warning | undefined {
  if (!scan.overstated) return undefined;
  const confirmed = dbfRecords === scan.recordCount && (shxRecords === undefined || shxRecords === scan.recordCount);
  if (scan.overstated >= MIN_RECORD_BYTES && !confirmed)
    throw shpCorrupt(
      `the file ends after record ${scan.recordCount} but its header declares ${scan.overstated} bytes more (the .dbf has ${dbfRecords} records): records are missing`,
      `文件在第 ${scan.recordCount} 条记录后结束，但文件头声明还有 ${scan.overstated} 字节（.dbf 有 ${dbfRecords} 条记录）：有记录缺失`,
      { records: scan.recordCount, dbfRecords, overstated: scan.overstated },
    );
  return warning(
    'shp_length_overstated',
    `The .shp header declares ${scan.overstated} bytes more than the file holds, but all ${scan.recordCount} records are complete; the file was read as it is.`,
    `.shp 文件头声明的长度比实际多 ${scan.overstated} 字节，但全部 ${scan.recordCount} 条记录完整，已按实际内容读取。`,
  );
}

/** Number of records an .shx indexes, or null when it is not a readable index. */
export function shxRecordCount(shx: Uint8Array | ByteSource): number | null {
  const src = toSource(shx);
  if (src.size < 100) return null;
  const { buf, at } = src.view(0, 100);
  if (buf.readInt32BE(at) !== 9994) return null;
  return Math.floor((Math.min(buf.readInt32BE(at + 24) * 2, src.size) - 100) / 8);
}

/**
 * A polygon record of exactly one closed ring (≥ 4 points): what almost every cadastral parcel is. It
 * stays a view of the .shp bytes: the record's XY points are little-endian float64 pairs, exactly the
 * point layout of WKB, so `ringHexEwkb` writes the row's geometry without building GeoJSON (at 518k
 * parcels, building and collecting the GeoJSON arrays cost more than the whole server-side COPY).
 */
export interface ShpRing {
  /** the window of the .shp holding the record */
  readonly buf: Buffer;
  /** byte offset of the first point in `buf` */
  readonly at: number;
  readonly points: number;
}
export type ShpRecord = Geometry | ShpRing | null;
export const isShpRing = (r: ShpRecord): r is ShpRing => r !== null && (r as ShpRing).points !== undefined;

/** The GeoJSON shpjs + clean2D give for a ShpRing: a Polygon with that one ring. */
export function ringGeometry(r: ShpRing): Geometry {
  const b = r.buf;
  const ring: [number, number][] = new Array(r.points);
  for (let k = 0; k < r.points; k++) ring[k] = [b.readDoubleLE(r.at + 16 * k), b.readDoubleLE(r.at + 16 * k + 8)];
  return { type: 'Polygon', coordinates: [ring] };
}

const EWKB_SRID = 0x20000000;
const u32hex = (v: number) => {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(v >>> 0);
  return b.toString('hex');
};
const prefixes = new Map<string, string>();
/** Hex EWKB of a ShpRing: Polygon, or a one-part MultiPolygon when `multi` (what toHexEwkb writes). */
export function ringHexEwkb(r: ShpRing, srid: number, multi: boolean): string {
  const key = `${srid}/${multi}`;
  let prefix = prefixes.get(key);
  if (prefix === undefined) {
    prefix = multi
      ? `01${u32hex(6 | EWKB_SRID)}${u32hex(srid)}${u32hex(1)}01${u32hex(3)}${u32hex(1)}`
      : `01${u32hex(3 | EWKB_SRID)}${u32hex(srid)}${u32hex(1)}`;
    prefixes.set(key, prefix);
  }
  return prefix + u32hex(r.points) + r.buf.toString('hex', r.at, r.at + 16 * r.points);
}

/**
 * One record parsed by shpjs on its own (a copy of the header + that record), then cleaned: shpjs's
 * ring logic (outer/inner by orientation, multipart → MultiPolygon) without handing it the whole file.
 * The header's shape type is rewritten to its 2D base type so shpjs reads only X/Y (Z and M are
 * dropped anyway, and shpjs's Z offsets are wrong when a part is empty).
 */
function parseOneRecord(header: Uint8Array, rec: Uint8Array, off: number, type2D: number, bbox: BBox): Geometry | null {
  const len = rec.length - 8;
  const buf = new Uint8Array(100 + rec.length);
  buf.set(header, 0);
  buf.set(rec, 100);
  const dv = new DataView(buf.buffer);
  dv.setInt32(24, (108 + len) / 2, false);
  dv.setInt32(32, type2D, true);
  let rows: unknown[];
  try {
    rows = parseShp(dv);
  } catch (e) {
    throw shpCorrupt('unreadable geometry', '无法解析几何数据', { offset: off, error: e instanceof Error ? e.message : String(e) });
  }
  if (rows.length !== 1) throw shpCorrupt(`the record at byte ${off} is unreadable`, `位于第 ${off} 字节的记录无法读取`, { offset: off });
  return clean2D(rows[0] as Geometry | null, bbox);
}

/**
 * Every record, 2D, in file order (validated by scanShp first): null for null shapes and empty parts;
 * single-ring polygons as ShpRing views of the window, everything else through shpjs + clean2D one
 * record at a time. `bbox` receives every coordinate. A generator over a sliding window: the caller
 * walks it once to learn the extent and types, and again to store, never holding the layer.
 */
export function* shpRecords(shp: Uint8Array | ByteSource, scan: ShpScan, bbox: BBox): Generator<ShpRecord> {
  const src = toSource(shp);
  const type2D = base2D(scan.shapeType);
  const head = src.view(0, 100);
  const header = Uint8Array.prototype.slice.call(head.buf, head.at, head.at + 100);
  const dvs = new DataViews();
  let off = 100;
  for (let i = 0; i < scan.recordCount; i++) {
    const h = src.view(off, 8);
    const len = h.buf.readInt32BE(h.at + 4) * 2; // checked by scanShp
    const v = src.view(off, 8 + len);
    const dv = dvs.of(v.buf);
    const c = v.at + 8; // record content: shape type, box, part and point counts, parts, points
    let out: ShpRecord = null;
    if (type2D !== 0 && len >= 4 && dv.getInt32(c, true) !== 0) {
      const parts = type2D === 5 && len >= 44 ? dv.getInt32(c + 36, true) : 0;
      const n = type2D === 5 && len >= 44 ? dv.getInt32(c + 40, true) : 0;
      const at = c + 48; // one part: its start index (4 bytes) precedes the points
      const closed =
        parts === 1 && n >= 4 && 44 + 4 + 16 * n <= len &&
        dv.getFloat64(at, true) === dv.getFloat64(at + 16 * (n - 1), true) &&
        dv.getFloat64(at + 8, true) === dv.getFloat64(at + 16 * (n - 1) + 8, true);
      if (closed) {
        for (let k = 0; k < n; k++) bbox.add(dv.getFloat64(at + 16 * k, true), dv.getFloat64(at + 16 * k + 8, true));
        out = { buf: v.buf, at, points: n };
      } else out = parseOneRecord(header, v.buf.subarray(v.at, v.at + 8 + len), off, type2D, bbox);
    }
    yield out;
    off += 8 + len;
  }
}
