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
export function shpHeaderType(shp: Uint8Array): number | undefined {
  if (shp.length < 100) return undefined;
  const dv = new DataView(shp.buffer, shp.byteOffset, shp.byteLength);
  if (dv.getInt32(0, false) !== 9994) return undefined;
  return dv.getInt32(32, true);
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

export function scanShp(shp: Uint8Array): ShpScan {
  if (shp.length < 100) throw shpCorrupt('shorter than its 100-byte header', '文件不足 100 字节的文件头');
  const dv = new DataView(shp.buffer, shp.byteOffset, shp.byteLength);
  if (dv.getInt32(0, false) !== 9994) throw shpCorrupt('not a shapefile (bad file code)', '不是 shapefile（文件代码错误）');
  const declared = dv.getInt32(24, false) * 2;
  const shapeType = dv.getInt32(32, true);
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
  if (declared < shp.length)
    warnings.push(
      warning(
        'shp_trailing_bytes',
        `The .shp has ${shp.length - declared} bytes after its declared end; they were ignored.`,
        `.shp 文件在声明的结尾之后还有 ${shp.length - declared} 字节，已忽略。`,
      ),
    );

  // Records are walked up to the declared end, or to the real end when the header claims more bytes
  // than the file has. A record that does not fit is cut short: refused with its number. Records that
  // all fit, ending exactly at the end of the file, leave `overstated` bytes for the caller to judge.
  const end = Math.min(declared, shp.length);
  const cut = declared > shp.length;
  const where = cut ? 'the end of the file' : 'the length its header declares';
  const where_zh = cut ? '文件结尾' : '文件头声明的长度';
  let n = 0;
  let off = 100;
  while (off < end) {
    const rec = n + 1;
    if (off + 8 > end)
      throw shpCorrupt(`record ${rec} is cut short: its 8-byte header runs past ${where}`, `第 ${rec} 条记录不完整：记录头超出${where_zh}`, {
        record: rec,
        declared,
        actual: shp.length,
      });
    const len = dv.getInt32(off + 4, false) * 2;
    if (len < 0 || off + 8 + len > end)
      throw shpCorrupt(
        `record ${rec} is cut short: it declares ${len} bytes, only ${end - off - 8} remain before ${where}`,
        `第 ${rec} 条记录不完整：声明 ${len} 字节，但到${where_zh}只剩 ${end - off - 8} 字节`,
        { record: rec, declared, actual: shp.length },
      );
    if (len >= 4) {
      const t = dv.getInt32(off + 8, true);
      if (t !== 0) {
        if (base2D(t) !== base2D(shapeType))
          throw shpCorrupt(
            `record ${rec} has shape type ${t} in a ${SHAPE_TYPES[shapeType]} file`,
            `第 ${rec} 条记录的图形类型为 ${t}，与文件类型 ${SHAPE_TYPES[shapeType]} 不符`,
            { record: rec },
          );
        if (needed(t, dv, off + 12, len - 4) > len - 4)
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
  return { shapeType, recordCount: n, length: off, overstated: cut ? declared - shp.length : 0, warnings };
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
export function shxRecordCount(shx: Uint8Array): number | null {
  if (shx.length < 100) return null;
  const dv = new DataView(shx.buffer, shx.byteOffset, shx.byteLength);
  if (dv.getInt32(0, false) !== 9994) return null;
  return Math.floor((Math.min(dv.getInt32(24, false) * 2, shx.length) - 100) / 8);
}

/**
 * All geometries, 2D, in record order; null for null shapes and empty parts. `bbox` receives every
 * coordinate. The header's shape type is temporarily rewritten to its 2D base type so shpjs reads
 * only X/Y (Z and M are dropped anyway, and shpjs's Z offsets are wrong when a part is empty).
 */
export function parseShpGeometries(shp: Uint8Array, scan: ShpScan, bbox: BBox): (Geometry | null)[] {
  if (scan.shapeType === 0 || scan.recordCount === 0) return new Array(scan.recordCount).fill(null);
  const dv = new DataView(shp.buffer, shp.byteOffset, scan.length);
  let rows: unknown[];
  try {
    dv.setInt32(32, base2D(scan.shapeType), true);
    rows = parseShp(dv);
  } catch (e) {
    throw shpCorrupt('unreadable geometry', '无法解析几何数据', { error: e instanceof Error ? e.message : String(e) });
  } finally {
    dv.setInt32(32, scan.shapeType, true);
  }
  if (rows.length !== scan.recordCount)
    throw shpCorrupt(`only ${rows.length} of ${scan.recordCount} records readable`, `${scan.recordCount} 条记录中只有 ${rows.length} 条可以读取`);
  return rows.map((g) => clean2D(g as Geometry | null, bbox));
}

/**
 * A polygon record of exactly one closed ring (≥ 4 points): what almost every cadastral parcel is. It
 * stays a view of the .shp bytes: the record's XY points are little-endian float64 pairs, exactly the
 * point layout of WKB, so `ringHexEwkb` writes the row's geometry without building GeoJSON (at 518k
 * parcels, building and collecting the GeoJSON arrays cost more than the whole server-side COPY).
 */
export interface ShpRing {
  /** byte offset of the first point in the .shp */
  readonly at: number;
  readonly points: number;
}
export type ShpRecord = Geometry | ShpRing | null;
export const isShpRing = (r: ShpRecord): r is ShpRing => r !== null && (r as ShpRing).points !== undefined;

/** The GeoJSON shpjs + clean2D give for a ShpRing: a Polygon with that one ring. */
export function ringGeometry(shp: Uint8Array, r: ShpRing): Geometry {
  const dv = new DataView(shp.buffer, shp.byteOffset, shp.byteLength);
  const ring: [number, number][] = new Array(r.points);
  for (let k = 0; k < r.points; k++) ring[k] = [dv.getFloat64(r.at + 16 * k, true), dv.getFloat64(r.at + 16 * k + 8, true)];
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
export function ringHexEwkb(shp: Uint8Array, r: ShpRing, srid: number, multi: boolean): string {
  const key = `${srid}/${multi}`;
  let prefix = prefixes.get(key);
  if (prefix === undefined) {
    prefix = multi
      ? `01${u32hex(6 | EWKB_SRID)}${u32hex(srid)}${u32hex(1)}01${u32hex(3)}${u32hex(1)}`
      : `01${u32hex(3 | EWKB_SRID)}${u32hex(srid)}${u32hex(1)}`;
    prefixes.set(key, prefix);
  }
  return prefix + u32hex(r.points) + Buffer.from(shp.buffer, shp.byteOffset + r.at, 16 * r.points).toString('hex');
}

/** One record parsed by shpjs on its own (a copy of the header + that record), then cleaned. */
function parseOneRecord(shp: Uint8Array, off: number, len: number, type2D: number, bbox: BBox): Geometry | null {
  const buf = new Uint8Array(100 + 8 + len);
  buf.set(shp.subarray(0, 100), 0);
  buf.set(shp.subarray(off, off + 8 + len), 100);
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
 * Like parseShpGeometries, but single-ring polygon records come back as ShpRing views instead of
 * GeoJSON. Every other record (holes, several parts, open or too-short rings, null shapes) goes through
 * shpjs + clean2D one record at a time, so the result is the same as parseShpGeometries gives.
 */
export function parseShpRecords(shp: Uint8Array, scan: ShpScan, bbox: BBox): ShpRecord[] {
  const type2D = base2D(scan.shapeType);
  if (type2D !== 5 || scan.recordCount === 0) return parseShpGeometries(shp, scan, bbox);
  const dv = new DataView(shp.buffer, shp.byteOffset, scan.length);
  const out: ShpRecord[] = new Array(scan.recordCount);
  let off = 100;
  for (let i = 0; i < scan.recordCount; i++) {
    const len = dv.getInt32(off + 4, false) * 2; // checked by scanShp
    const c = off + 8; // record content: shape type, box, part and point counts, parts, points
    out[i] = null;
    if (len >= 4 && dv.getInt32(c, true) !== 0) {
      const parts = len >= 44 ? dv.getInt32(c + 36, true) : 0;
      const n = len >= 44 ? dv.getInt32(c + 40, true) : 0;
      const at = c + 48; // one part: its start index (4 bytes) precedes the points
      const closed =
        parts === 1 && n >= 4 && 44 + 4 + 16 * n <= len &&
        dv.getFloat64(at, true) === dv.getFloat64(at + 16 * (n - 1), true) &&
        dv.getFloat64(at + 8, true) === dv.getFloat64(at + 16 * (n - 1) + 8, true);
      if (closed) {
        for (let k = 0; k < n; k++) bbox.add(dv.getFloat64(at + 16 * k, true), dv.getFloat64(at + 16 * k + 8, true));
        out[i] = { at, points: n };
      } else out[i] = parseOneRecord(shp, off, len, type2D, bbox);
    }
    off += 8 + len;
  }
  return out;
}
