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

export const shpCorrupt = (reason: string, details?: Record<string, unknown>) =>
  new IngestError('shp_corrupt', `The .shp geometry file is damaged: ${reason}.`, `.shp 几何文件已损坏：${reason}。`, {
    reason,
    ...details,
  });

export interface ShpScan {
  shapeType: number;
  recordCount: number;
  /** bytes covered by the header's file length (what we parse) */
  length: number;
  warnings: Warning[];
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
  if (shp.length < 100) throw shpCorrupt('shorter than its 100-byte header');
  const dv = new DataView(shp.buffer, shp.byteOffset, shp.byteLength);
  if (dv.getInt32(0, false) !== 9994) throw shpCorrupt('not a shapefile (bad file code)');
  const declared = dv.getInt32(24, false) * 2;
  const shapeType = dv.getInt32(32, true);
  if (!(shapeType in SHAPE_TYPES)) throw shpCorrupt(`unknown shape type ${shapeType}`);
  if (shapeType === 31)
    throw new IngestError(
      'shp_unsupported_type',
      'MultiPatch (3D surface) shapefiles are not supported; export polygons instead.',
      '不支持 MultiPatch（三维面片）类型的 shapefile，请导出为面（Polygon）。',
      { shapeType },
    );
  const warnings: Warning[] = [];
  if (declared < 100 || declared > shp.length)
    throw shpCorrupt(`truncated: header says ${declared} bytes, file has ${shp.length}`, { declared, actual: shp.length });
  if (declared < shp.length)
    warnings.push(
      warning(
        'shp_trailing_bytes',
        `The .shp has ${shp.length - declared} bytes after its declared end; they were ignored.`,
        `.shp 文件在声明的结尾之后还有 ${shp.length - declared} 字节，已忽略。`,
      ),
    );

  let n = 0;
  let off = 100;
  while (off < declared) {
    if (off + 8 > declared) throw shpCorrupt(`truncated inside record ${n + 1} header`, { record: n + 1 });
    const len = dv.getInt32(off + 4, false) * 2;
    if (len < 0 || off + 8 + len > declared) throw shpCorrupt(`record ${n + 1} runs past the end of the file`, { record: n + 1 });
    if (len >= 4) {
      const t = dv.getInt32(off + 8, true);
      if (t !== 0) {
        if (base2D(t) !== base2D(shapeType))
          throw shpCorrupt(`record ${n + 1} has shape type ${t} in a ${SHAPE_TYPES[shapeType]} file`, { record: n + 1 });
        if (needed(t, dv, off + 12, len - 4) > len - 4)
          throw shpCorrupt(`record ${n + 1} is inconsistent (part/point counts exceed its length)`, { record: n + 1 });
      }
    }
    off += 8 + len;
    n++;
  }
  return { shapeType, recordCount: n, length: declared, warnings };
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
    throw shpCorrupt(`unreadable geometry (${e instanceof Error ? e.message : String(e)})`);
  } finally {
    dv.setInt32(32, scan.shapeType, true);
  }
  if (rows.length !== scan.recordCount) throw shpCorrupt(`${rows.length} of ${scan.recordCount} records readable`);
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
    throw shpCorrupt(`unreadable geometry (${e instanceof Error ? e.message : String(e)})`);
  }
  if (rows.length !== 1) throw shpCorrupt(`record at byte ${off} unreadable`);
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
