/**
 * ESRI shapefile writer (.shp/.shx/.dbf/.cpg), following the ESRI Shapefile Technical Description
 * (July 1998) and dBASE III for the attribute table.
 *
 * Three ways in, one encoder underneath:
 * - `writeShapefile({geometries, fields, records})` — everything in memory, shape type, Z and
 *   character-field widths inferred from the data. Returns the bytes.
 * - `ShapefileBuilder` — add records one by one, bytes in memory at `finish()`.
 * - `ShapefileFileWriter` — add records one by one straight to disk (buffered), headers patched on
 *   `close()`. Memory stays flat however many records (used for district-scale sample data and
 *   large exports). Character-field widths must then be known up front (default 254).
 *
 * Conventions kept:
 * - main-file and index headers: file code and file length big-endian, the rest little-endian;
 *   lengths and offsets in 16-bit words; records numbered from 1.
 * - polygons: outer rings clockwise, holes counter-clockwise (the reverse of GeoJSON/RFC 7946);
 *   rings are closed if they were not; multipart polygons are one record with all rings.
 * - null / empty geometries become Null Shape records (shape type 0) and do not widen the bbox.
 * - DBF: version 0x03, header date, record count, language-driver id (0x4D = GBK/cp936 when asked),
 *   field names ≤ 10 bytes in the chosen encoding (cut at character boundaries, made unique),
 *   C left-aligned and space-padded, N/F right-aligned, D as YYYYMMDD, L as T/F/?, EOF 0x1A.
 */
import iconv from 'iconv-lite';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import type {
  LineString,
  MultiLineString,
  MultiPoint,
  MultiPolygon,
  Point,
  Polygon,
  Position,
} from 'geojson';

export type ShpGeometry = Point | MultiPoint | LineString | MultiLineString | Polygon | MultiPolygon;
export type DbfFieldType = 'C' | 'N' | 'F' | 'D' | 'L';
export type DbfEncoding = 'gbk' | 'gb18030' | 'utf-8';
/** Geometry family of a shapefile (one per file). */
export type ShapeKind = 'point' | 'multipoint' | 'polyline' | 'polygon';

export interface DbfField {
  /** name as the caller knows it; records are keyed by it. Written truncated to 10 bytes. */
  name: string;
  type: DbfFieldType;
  /** bytes; C default: longest value (batch) or 254 (incremental); N 18; F 24; D 8; L 1 */
  length?: number;
  /** digits after the point for N/F; default N 0, F 15 (but never more than length - 2) */
  decimals?: number;
}

export interface ShapefileLayout {
  fields: DbfField[];
  /** attribute encoding; default 'gbk' */
  encoding?: DbfEncoding;
  /** write the DBF language-driver id (0x4D for GBK, 0x7A is not used); default true. No id exists for UTF-8. */
  ldid?: boolean;
  /** geometry family of the file; `writeShapefile` infers it from the first non-null geometry */
  shapeType?: ShapeKind;
  /** write the Z variant (PointZ, PolyLineZ, PolygonZ, MultiPointZ) with Z from the 3rd coordinate (0 if absent) */
  hasZ?: boolean;
  /** DBF header "last update" date; default now */
  date?: Date;
  /** time zone used to turn Date values (D fields, header date) into calendar dates; default 'Asia/Shanghai' */
  timeZone?: string;
}

export interface WriteShapefileOptions extends Omit<ShapefileLayout, 'shapeType' | 'hasZ'> {
  geometries: (ShpGeometry | null | undefined)[];
  records: Record<string, unknown>[];
  shapeType?: ShapeKind;
  /** default: true when any coordinate has a 3rd value */
  hasZ?: boolean;
}

/** A field as written: `name` is the (possibly truncated / de-duplicated) DBF name, `key` the record key. */
export interface WrittenField {
  name: string;
  key: string;
  type: DbfFieldType;
  length: number;
  decimals: number;
}

export interface ShapefileBytes {
  shp: Uint8Array;
  shx: Uint8Array;
  dbf: Uint8Array;
  /** content of the .cpg file: 'GBK', 'GB18030' or 'UTF-8' */
  cpg: string;
  fields: WrittenField[];
  /** number of records (null shapes included) */
  count: number;
}

export const SHAPE_TYPE_CODE: Record<ShapeKind, number> = { point: 1, polyline: 3, polygon: 5, multipoint: 8 };
const Z_OFFSET = 10; // PointZ 11, PolyLineZ 13, PolygonZ 15, MultiPointZ 18

/** Language-driver id ESRI writes for GBK (code page 936). */
export const LDID_GBK = 0x4d;

const CPG: Record<DbfEncoding, string> = { gbk: 'GBK', gb18030: 'GB18030', 'utf-8': 'UTF-8' };

// ---------------------------------------------------------------------------------------------
// text encoding helpers

function encodeText(s: string, enc: DbfEncoding): Uint8Array {
  if (enc === 'utf-8') return Buffer.from(s, 'utf8');
  return iconv.encode(s, enc);
}

/** Encode `s`, cut at a character boundary so the result is at most `maxBytes` long. */
export function encodeTruncated(s: string, maxBytes: number, enc: DbfEncoding): Uint8Array {
  const full = encodeText(s, enc);
  if (full.length <= maxBytes) return full;
  const parts: Uint8Array[] = [];
  let n = 0;
  for (const ch of s) {
    const b = encodeText(ch, enc);
    if (n + b.length > maxBytes) break;
    parts.push(b);
    n += b.length;
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function decodeText(b: Uint8Array, enc: DbfEncoding): string {
  return enc === 'utf-8' ? Buffer.from(b).toString('utf8') : iconv.decode(Buffer.from(b), enc);
}

/**
 * Encodes strings straight into an output buffer, cut at a character boundary. GBK/GB18030 bytes
 * of each BMP character are looked up once through iconv-lite and kept in a table.
 */
class CharEncoder {
  private readonly len: Uint8Array | null;
  private readonly bytes: Uint32Array | null;
  constructor(readonly encoding: DbfEncoding) {
    this.len = encoding === 'utf-8' ? null : new Uint8Array(65536);
    this.bytes = encoding === 'utf-8' ? null : new Uint32Array(65536);
  }

  /** write `s` at `at`, at most `max` bytes; returns the bytes written */
  encodeInto(s: string, buf: Uint8Array, at: number, max: number): number {
    let n = 0;
    const L = s.length;
    for (let i = 0; i < L; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        if (n + 1 > max) break;
        buf[at + n++] = c;
        continue;
      }
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < L) {
        // astral character: rare, take the slow path
        const ch = s.slice(i, i + 2);
        const b = encodeText(ch, this.encoding);
        if (n + b.length > max) break;
        buf.set(b, at + n);
        n += b.length;
        i++;
        continue;
      }
      if (!this.len) {
        const k = c < 0x800 ? 2 : 3;
        if (n + k > max) break;
        if (k === 2) {
          buf[at + n] = 0xc0 | (c >> 6);
          buf[at + n + 1] = 0x80 | (c & 0x3f);
        } else {
          buf[at + n] = 0xe0 | (c >> 12);
          buf[at + n + 1] = 0x80 | ((c >> 6) & 0x3f);
          buf[at + n + 2] = 0x80 | (c & 0x3f);
        }
        n += k;
        continue;
      }
      let k = this.len[c];
      if (k === 0) {
        const b = encodeText(String.fromCharCode(c), this.encoding);
        k = Math.min(4, b.length);
        let packed = 0;
        for (let q = 0; q < k; q++) packed = packed * 256 + b[q];
        this.len[c] = k;
        this.bytes![c] = packed;
      }
      if (n + k > max) break;
      const packed = this.bytes![c];
      for (let q = k - 1; q >= 0; q--) buf[at + n + (k - 1 - q)] = Math.floor(packed / 256 ** q) & 0xff;
      n += k;
    }
    return n;
  }
}

// ---------------------------------------------------------------------------------------------
// DBF

interface ResolvedField extends WrittenField {
  nameBytes: Uint8Array;
  offset: number; // within the record, after the deletion flag
}

const DEFAULT_LENGTH: Record<DbfFieldType, number> = { C: 254, N: 18, F: 24, D: 8, L: 1 };

function resolveFields(fields: DbfField[], enc: DbfEncoding): ResolvedField[] {
  const seen = new Set<string>();
  const out: ResolvedField[] = [];
  let offset = 1;
  fields.forEach((f, i) => {
    const base = f.name.replace(/\0/g, '').trim() || `FIELD_${i + 1}`;
    let nameBytes = encodeTruncated(base, 10, enc);
    let name = decodeText(nameBytes, enc);
    for (let k = 1; seen.has(name.toUpperCase()); k++) {
      const suffix = `_${k}`;
      const head = encodeTruncated(base, 10 - suffix.length, enc);
      name = decodeText(head, enc) + suffix;
      nameBytes = encodeText(name, enc);
    }
    seen.add(name.toUpperCase());
    let length: number;
    let decimals = 0;
    switch (f.type) {
      case 'D':
        length = 8;
        break;
      case 'L':
        length = 1;
        break;
      case 'C':
        length = Math.min(254, Math.max(1, Math.floor(f.length ?? DEFAULT_LENGTH.C)));
        break;
      case 'N':
      case 'F': {
        length = Math.min(254, Math.max(1, Math.floor(f.length ?? DEFAULT_LENGTH[f.type])));
        decimals = Math.max(0, Math.floor(f.decimals ?? (f.type === 'F' ? 15 : 0)));
        if (decimals > 0 && decimals > length - 2) decimals = Math.max(0, length - 2);
        break;
      }
      default:
        throw new Error(`field ${f.name}: unsupported DBF type ${String(f.type)}`);
    }
    out.push({ name, key: f.name, type: f.type, length, decimals, nameBytes, offset });
    offset += length;
  });
  if (offset > 65535) throw new Error(`DBF record length ${offset} exceeds 65535 bytes`);
  if (32 + 32 * out.length + 1 > 65535) throw new Error(`too many DBF fields (${out.length})`);
  return out;
}

function dbfHeaderLength(nFields: number): number {
  return 32 + 32 * nFields + 1;
}

/** Calendar date parts of a Date in a time zone. */
function makeDateParts(timeZone: string): (d: Date) => [number, number, number] | null {
  const fmt = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  return (d) => {
    if (Number.isNaN(d.getTime())) return null;
    let y = 0;
    let m = 0;
    let day = 0;
    for (const p of fmt.formatToParts(d)) {
      if (p.type === 'year') y = Number(p.value);
      else if (p.type === 'month') m = Number(p.value);
      else if (p.type === 'day') day = Number(p.value);
    }
    return [y, m, day];
  };
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/** Format a number into at most `length` characters with `decimals` digits, or null when it cannot fit. */
export function formatDbfNumber(v: number, length: number, decimals: number): string | null {
  for (let d = decimals; d >= 0; d--) {
    let s = v.toFixed(d);
    if (s.charCodeAt(0) === 45 && /^-0(\.0*)?$/.test(s)) s = s.slice(1); // no "-0.00"
    if (s.length <= length) return s;
  }
  return null; // does not fit: the caller writes '*' × length, as dBASE does
}

class DbfEncoder {
  readonly fields: ResolvedField[];
  readonly recordLength: number;
  readonly headerLength: number;
  private readonly chars: CharEncoder;
  private readonly dateParts: (d: Date) => [number, number, number] | null;

  constructor(
    fields: DbfField[],
    readonly encoding: DbfEncoding,
    private readonly ldid: boolean,
    private readonly date: Date,
    timeZone: string,
  ) {
    this.fields = resolveFields(fields, encoding);
    this.recordLength = this.fields.reduce((n, f) => n + f.length, 1);
    this.headerLength = dbfHeaderLength(this.fields.length);
    this.dateParts = makeDateParts(timeZone);
    this.chars = new CharEncoder(encoding);
  }

  header(count: number): Uint8Array {
    const h = new Uint8Array(this.headerLength);
    const dv = new DataView(h.buffer);
    h[0] = 0x03;
    const [y, m, d] = this.dateParts(this.date) ?? [1900, 1, 1];
    h[1] = Math.max(0, Math.min(255, y - 1900));
    h[2] = m;
    h[3] = d;
    dv.setUint32(4, count, true);
    dv.setUint16(8, this.headerLength, true);
    dv.setUint16(10, this.recordLength, true);
    h[29] = this.ldid && this.encoding === 'gbk' ? LDID_GBK : 0;
    this.fields.forEach((f, i) => {
      const o = 32 + 32 * i;
      h.set(f.nameBytes, o); // rest of the 11 bytes stays 0
      h[o + 11] = f.type.charCodeAt(0);
      h[o + 16] = f.length;
      h[o + 17] = f.decimals;
    });
    h[this.headerLength - 1] = 0x0d;
    return h;
  }

  private writeAscii(buf: Uint8Array, at: number, s: string): void {
    for (let i = 0; i < s.length; i++) buf[at + i] = s.charCodeAt(i);
  }

  /** write one record into `sink` */
  write(rec: Record<string, unknown> | null | undefined, sink: ByteSink): void {
    const at = sink.reserve(this.recordLength);
    const buf = sink.buf;
    buf.fill(0x20, at, at + this.recordLength);
    if (!rec) return;
    for (const f of this.fields) {
      const v = rec[f.key];
      const o = at + f.offset;
      if (v === null || v === undefined) {
        if (f.type === 'L') buf[o] = 0x3f; // '?'
        continue;
      }
      switch (f.type) {
        case 'C': {
          const s = typeof v === 'string' ? v : v instanceof Date ? this.isoDate(v) ?? '' : String(v);
          this.chars.encodeInto(s, buf, o, f.length);
          break;
        }
        case 'N':
        case 'F': {
          const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
          if (!Number.isFinite(n)) break; // blank = null
          const s = formatDbfNumber(n, f.length, f.decimals) ?? '*'.repeat(f.length);
          this.writeAscii(buf, o + f.length - s.length, s);
          break;
        }
        case 'D': {
          const s = this.yyyymmdd(v);
          if (s) this.writeAscii(buf, o, s);
          break;
        }
        case 'L': {
          buf[o] = logical(v);
          break;
        }
      }
    }
  }

  private isoDate(d: Date): string | null {
    const p = this.dateParts(d);
    return p ? `${p[0]}-${pad2(p[1])}-${pad2(p[2])}` : null;
  }

  private yyyymmdd(v: unknown): string | null {
    if (v instanceof Date) {
      const p = this.dateParts(v);
      return p && p[0] >= 0 && p[0] <= 9999 ? `${String(p[0]).padStart(4, '0')}${pad2(p[1])}${pad2(p[2])}` : null;
    }
    if (typeof v === 'string') {
      const m = /^\s*(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})/.exec(v);
      if (!m) return null;
      if (m[2].length + m[3].length < 4 && !/[-/.]/.test(v)) return null;
      const mo = Number(m[2]);
      const d = Number(m[3]);
      if (mo < 1 || mo > 12 || d < 1 || d > 31) return null;
      return `${m[1]}${pad2(mo)}${pad2(d)}`;
    }
    if (typeof v === 'number' && Number.isInteger(v) && v >= 10000101 && v <= 99991231) return String(v);
    return null;
  }
}

function logical(v: unknown): number {
  if (typeof v === 'boolean') return v ? 0x54 : 0x46;
  if (typeof v === 'number') return Number.isNaN(v) ? 0x3f : v !== 0 ? 0x54 : 0x46;
  const s = String(v).trim().toLowerCase();
  if (['t', 'y', 'true', 'yes', '1', '是'].includes(s)) return 0x54;
  if (['f', 'n', 'false', 'no', '0', '否'].includes(s)) return 0x46;
  return 0x3f;
}

// ---------------------------------------------------------------------------------------------
// SHP

/** Signed area (shoelace, y up): > 0 counter-clockwise, < 0 clockwise. Computed relative to the first point for precision. */
export function ringSignedArea(ring: Position[]): number {
  const n = ring.length;
  if (n < 3) return 0;
  const x0 = ring[0][0];
  const y0 = ring[0][1];
  let s = 0;
  for (let i = 1; i < n - 1; i++) {
    const ax = ring[i][0] - x0;
    const ay = ring[i][1] - y0;
    const bx = ring[i + 1][0] - x0;
    const by = ring[i + 1][1] - y0;
    s += ax * by - bx * ay;
  }
  return s / 2;
}

function closeRing(ring: Position[]): Position[] {
  if (ring.length === 0) return ring;
  const a = ring[0];
  const b = ring[ring.length - 1];
  if (ring.length > 1 && a[0] === b[0] && a[1] === b[1] && (a[2] ?? 0) === (b[2] ?? 0)) return ring;
  return [...ring, a];
}

/** Shapefile ring order: outer clockwise, holes counter-clockwise; closed. */
export function orientRing(ring: Position[], outer: boolean): Position[] {
  const r = closeRing(ring);
  const a = ringSignedArea(r);
  if ((outer && a > 0) || (!outer && a < 0)) return r.slice().reverse();
  return r;
}

/** A ring or point list to write, oriented and closed on the fly (no copies). */
interface Part {
  pts: Position[];
  /** write in reverse order */
  rev: boolean;
  /** append the first point again */
  close: boolean;
  /** points written */
  n: number;
}

function isClosed(r: Position[]): boolean {
  if (r.length < 2) return false;
  const a = r[0];
  const b = r[r.length - 1];
  return a[0] === b[0] && a[1] === b[1] && (a[2] ?? 0) === (b[2] ?? 0);
}

function ringPart(r: Position[], outer: boolean): Part {
  const close = !isClosed(r);
  const a = ringSignedArea(r); // closing point does not change the area
  return { pts: r, rev: (outer && a > 0) || (!outer && a < 0), close, n: r.length + (close ? 1 : 0) };
}

const plain = (pts: Position[]): Part => ({ pts, rev: false, close: false, n: pts.length });

/** Parts of a geometry for a file of `kind`; null for empty geometries (written as null shapes). */
function geometryParts(g: ShpGeometry, kind: ShapeKind, index: number): Part[] | null {
  const bad = () => new Error(`record ${index + 1}: geometry type ${g.type} does not fit a ${kind} shapefile`);
  const valid = (p: Position | undefined) => !!p && p.length >= 2;
  switch (kind) {
    case 'point':
      if (g.type !== 'Point') throw bad();
      return valid(g.coordinates) ? [plain([g.coordinates])] : null;
    case 'multipoint': {
      if (g.type === 'Point') return valid(g.coordinates) ? [plain([g.coordinates])] : null;
      if (g.type !== 'MultiPoint') throw bad();
      const pts = (g.coordinates ?? []).filter(valid);
      return pts.length ? [plain(pts)] : null;
    }
    case 'polyline': {
      let lines: Position[][];
      if (g.type === 'LineString') lines = [g.coordinates ?? []];
      else if (g.type === 'MultiLineString') lines = g.coordinates ?? [];
      else throw bad();
      const parts = lines.filter((l) => l && l.length > 0).map(plain);
      return parts.length ? parts : null;
    }
    case 'polygon': {
      let polys: Position[][][];
      if (g.type === 'Polygon') polys = [g.coordinates ?? []];
      else if (g.type === 'MultiPolygon') polys = g.coordinates ?? [];
      else throw bad();
      const parts: Part[] = [];
      for (const poly of polys) {
        let k = 0;
        for (const r of poly ?? []) if (r && r.length > 0) parts.push(ringPart(r, k++ === 0));
      }
      return parts.length ? parts : null;
    }
  }
}

function kindOf(g: ShpGeometry): ShapeKind {
  switch (g.type) {
    case 'Point':
      return 'point';
    case 'MultiPoint':
      return 'multipoint';
    case 'LineString':
    case 'MultiLineString':
      return 'polyline';
    case 'Polygon':
    case 'MultiPolygon':
      return 'polygon';
    default:
      throw new Error(`unsupported geometry type ${(g as { type: string }).type}`);
  }
}

/**
 * Where encoded bytes go. `reserve(n)` makes room for n bytes and returns their offset in `buf`
 * (`buf`/`dv` may be replaced by the call, so read them after it).
 */
export interface ByteSink {
  reserve(n: number): number;
  readonly buf: Uint8Array;
  readonly dv: DataView;
}

/** point `k` of a part as written (reversed / closed) */
function pointOf(p: Part, k: number): Position {
  const m = p.pts.length;
  if (k >= m) return p.rev ? p.pts[m - 1] : p.pts[0]; // closing point = first written point
  return p.rev ? p.pts[m - 1 - k] : p.pts[k];
}

class ShpEncoder {
  readonly typeCode: number;
  /** bytes written so far to .shp, header included */
  shpBytes = 100;
  count = 0;
  private xmin = Infinity;
  private ymin = Infinity;
  private xmax = -Infinity;
  private ymax = -Infinity;
  private zmin = Infinity;
  private zmax = -Infinity;

  constructor(
    readonly kind: ShapeKind,
    readonly hasZ: boolean,
  ) {
    this.typeCode = SHAPE_TYPE_CODE[kind] + (hasZ ? Z_OFFSET : 0);
  }

  private contentLength(parts: Part[] | null, n: number): number {
    if (!parts) return 4;
    const z = this.hasZ;
    switch (this.kind) {
      case 'point':
        return z ? 36 : 20;
      case 'multipoint':
        return 40 + 16 * n + (z ? 16 + 8 * n : 0);
      default:
        return 44 + 4 * parts.length + 16 * n + (z ? 16 + 8 * n : 0);
    }
  }

  /** Write the record to `shp` and its index entry to `shx`. */
  write(g: ShpGeometry | null | undefined, shp: ByteSink, shx: ByteSink): void {
    const index = this.count;
    const parts = g ? geometryParts(g, this.kind, index) : null;
    let n = 0;
    if (parts) for (const p of parts) n += p.n;
    const len = this.contentLength(parts, n);
    if ((this.shpBytes + 8 + len) / 2 > 0x7fffffff) throw new Error('.shp would exceed 2 GiB (the 32-bit word-length limit)');

    const xo = shx.reserve(8);
    shx.dv.setInt32(xo, this.shpBytes / 2, false);
    shx.dv.setInt32(xo + 4, len / 2, false);

    const at = shp.reserve(8 + len);
    const dv = shp.dv;
    dv.setInt32(at, index + 1, false);
    dv.setInt32(at + 4, len / 2, false);
    const c = at + 8;
    this.shpBytes += 8 + len;
    this.count++;
    if (!parts) {
      dv.setInt32(c, 0, true);
      return;
    }
    dv.setInt32(c, this.typeCode, true);

    // bbox (and z range) of the record
    let xmin = Infinity;
    let ymin = Infinity;
    let xmax = -Infinity;
    let ymax = -Infinity;
    let zmin = Infinity;
    let zmax = -Infinity;
    for (const p of parts)
      for (const q of p.pts) {
        const x = q[0];
        const y = q[1];
        if (x < xmin) xmin = x;
        if (x > xmax) xmax = x;
        if (y < ymin) ymin = y;
        if (y > ymax) ymax = y;
        if (this.hasZ) {
          const z = q[2] ?? 0;
          if (z < zmin) zmin = z;
          if (z > zmax) zmax = z;
        }
      }
    if (xmin < this.xmin) this.xmin = xmin;
    if (ymin < this.ymin) this.ymin = ymin;
    if (xmax > this.xmax) this.xmax = xmax;
    if (ymax > this.ymax) this.ymax = ymax;
    if (this.hasZ) {
      if (zmin < this.zmin) this.zmin = zmin;
      if (zmax > this.zmax) this.zmax = zmax;
    }

    if (this.kind === 'point') {
      const q = parts[0].pts[0];
      dv.setFloat64(c + 4, q[0], true);
      dv.setFloat64(c + 12, q[1], true);
      if (this.hasZ) {
        dv.setFloat64(c + 20, q[2] ?? 0, true);
        dv.setFloat64(c + 28, 0, true); // M
      }
      return;
    }
    dv.setFloat64(c + 4, xmin, true);
    dv.setFloat64(c + 12, ymin, true);
    dv.setFloat64(c + 20, xmax, true);
    dv.setFloat64(c + 28, ymax, true);
    let o: number;
    if (this.kind === 'multipoint') {
      dv.setInt32(c + 36, n, true);
      o = c + 40;
    } else {
      // PolyLine / Polygon (and Z variants; M omitted, which the spec allows)
      dv.setInt32(c + 36, parts.length, true);
      dv.setInt32(c + 40, n, true);
      o = c + 44;
      let start = 0;
      for (const p of parts) {
        dv.setInt32(o, start, true);
        o += 4;
        start += p.n;
      }
    }
    for (const p of parts)
      for (let k = 0; k < p.n; k++) {
        const q = pointOf(p, k);
        dv.setFloat64(o, q[0], true);
        dv.setFloat64(o + 8, q[1], true);
        o += 16;
      }
    if (this.hasZ) {
      dv.setFloat64(o, zmin, true);
      dv.setFloat64(o + 8, zmax, true);
      o += 16;
      for (const p of parts)
        for (let k = 0; k < p.n; k++) {
          dv.setFloat64(o, pointOf(p, k)[2] ?? 0, true);
          o += 8;
        }
    }
  }

  /** 100-byte header; `fileBytes` is the total length of the file it heads. */
  header(fileBytes: number): Uint8Array {
    const h = new Uint8Array(100);
    const dv = new DataView(h.buffer);
    dv.setInt32(0, 9994, false);
    dv.setInt32(24, fileBytes / 2, false);
    dv.setInt32(28, 1000, true);
    dv.setInt32(32, this.typeCode, true);
    const any = this.xmin <= this.xmax;
    dv.setFloat64(36, any ? this.xmin : 0, true);
    dv.setFloat64(44, any ? this.ymin : 0, true);
    dv.setFloat64(52, any ? this.xmax : 0, true);
    dv.setFloat64(60, any ? this.ymax : 0, true);
    const anyZ = this.hasZ && this.zmin <= this.zmax;
    dv.setFloat64(68, anyZ ? this.zmin : 0, true);
    dv.setFloat64(76, anyZ ? this.zmax : 0, true);
    dv.setFloat64(84, 0, true);
    dv.setFloat64(92, 0, true);
    return h;
  }

  get bbox(): [number, number, number, number] | null {
    return this.xmin <= this.xmax ? [this.xmin, this.ymin, this.xmax, this.ymax] : null;
  }
}

// ---------------------------------------------------------------------------------------------
// Sinks

/** In-memory sink: 1 MiB blocks, joined at the end. */
class ChunkList implements ByteSink {
  private chunks: Uint8Array[] = [];
  buf: Uint8Array;
  dv: DataView;
  private pos = 0;
  length = 0;
  constructor(private readonly blockSize = 1 << 20) {
    this.buf = new Uint8Array(blockSize);
    this.dv = new DataView(this.buf.buffer);
  }
  reserve(n: number): number {
    if (this.pos + n > this.buf.length) {
      this.seal(Math.max(n, this.blockSize));
    }
    const at = this.pos;
    this.pos += n;
    this.length += n;
    return at;
  }
  private seal(nextSize: number): void {
    if (this.pos > 0) this.chunks.push(this.buf.subarray(0, this.pos));
    this.buf = new Uint8Array(nextSize);
    this.dv = new DataView(this.buf.buffer);
    this.pos = 0;
  }
  /** header + body (+ trailer byte) as one array */
  join(header: Uint8Array, trailer?: number): Uint8Array {
    this.seal(0);
    const out = new Uint8Array(header.length + this.length + (trailer === undefined ? 0 : 1));
    out.set(header, 0);
    let o = header.length;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    if (trailer !== undefined) out[o] = trailer;
    this.chunks = [];
    return out;
  }
}

/** File sink: buffered writes; the header placeholder is overwritten on close. */
class FileSink implements ByteSink {
  private readonly fd: number;
  buf: Uint8Array;
  dv: DataView;
  private pos = 0;
  constructor(
    readonly path: string,
    reserveHeader: number,
    private readonly size = 1 << 20,
  ) {
    this.fd = openSync(path, 'w');
    this.buf = new Uint8Array(size);
    this.dv = new DataView(this.buf.buffer);
    this.reserve(reserveHeader); // zeros, patched on close
  }
  reserve(n: number): number {
    if (this.pos + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) {
        this.buf = new Uint8Array(Math.max(n, this.size));
        this.dv = new DataView(this.buf.buffer);
      }
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }
  private flush(): void {
    let o = 0;
    while (o < this.pos) o += writeSync(this.fd, this.buf, o, this.pos - o);
    this.pos = 0;
    this.buf.fill(0);
  }
  close(header: Uint8Array, trailer?: number): void {
    if (trailer !== undefined) this.buf[this.reserve(1)] = trailer;
    this.flush();
    let o = 0;
    while (o < header.length) o += writeSync(this.fd, header, o, header.length - o, o);
    closeSync(this.fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Encoder shared by the builders

/**
 * Sink-agnostic encoder: `write()` appends one record to the three sinks; `headers()` gives the
 * three headers for everything written so far. Bodies go after the headers; the DBF ends with 0x1A.
 */
export class ShapefileEncoder {
  readonly encoding: DbfEncoding;
  readonly kind: ShapeKind;
  readonly hasZ: boolean;
  private readonly shp: ShpEncoder;
  private readonly dbf: DbfEncoder;

  constructor(layout: ShapefileLayout & { shapeType: ShapeKind }) {
    this.encoding = layout.encoding ?? 'gbk';
    if (!CPG[this.encoding]) throw new Error(`unsupported DBF encoding ${this.encoding}`);
    this.kind = layout.shapeType;
    if (!SHAPE_TYPE_CODE[this.kind]) throw new Error(`unsupported shape type ${this.kind}`);
    this.hasZ = !!layout.hasZ;
    this.shp = new ShpEncoder(this.kind, this.hasZ);
    this.dbf = new DbfEncoder(
      layout.fields,
      this.encoding,
      layout.ldid ?? true,
      layout.date ?? new Date(),
      layout.timeZone ?? 'Asia/Shanghai',
    );
  }

  get count(): number {
    return this.shp.count;
  }
  get fields(): WrittenField[] {
    return this.dbf.fields.map(({ name, key, type, length, decimals }) => ({ name, key, type, length, decimals }));
  }
  get cpg(): string {
    return CPG[this.encoding];
  }
  get dbfHeaderLength(): number {
    return this.dbf.headerLength;
  }
  get dbfRecordLength(): number {
    return this.dbf.recordLength;
  }
  get bbox(): [number, number, number, number] | null {
    return this.shp.bbox;
  }

  write(
    geometry: ShpGeometry | null | undefined,
    record: Record<string, unknown> | null | undefined,
    shp: ByteSink,
    shx: ByteSink,
    dbf: ByteSink,
  ): void {
    this.shp.write(geometry, shp, shx);
    this.dbf.write(record, dbf);
  }

  headers(): { shp: Uint8Array; shx: Uint8Array; dbf: Uint8Array; shpBytes: number; shxBytes: number; dbfBytes: number } {
    const shpBytes = this.shp.shpBytes;
    const shxBytes = 100 + 8 * this.shp.count;
    const dbfBytes = this.dbf.headerLength + this.dbf.recordLength * this.shp.count + 1;
    return {
      shp: this.shp.header(shpBytes),
      shx: this.shp.header(shxBytes),
      dbf: this.dbf.header(this.shp.count),
      shpBytes,
      shxBytes,
      dbfBytes,
    };
  }
}

/** End-of-file marker of a DBF. */
export const DBF_EOF = 0x1a;

// ---------------------------------------------------------------------------------------------
// In memory

/** Incremental writer that keeps the bytes in memory. */
export class ShapefileBuilder {
  readonly encoder: ShapefileEncoder;
  private shp = new ChunkList();
  private shx = new ChunkList(1 << 16);
  private dbf = new ChunkList();

  constructor(layout: ShapefileLayout & { shapeType: ShapeKind }) {
    this.encoder = new ShapefileEncoder(layout);
  }

  add(geometry: ShpGeometry | null | undefined, record: Record<string, unknown> | null | undefined): void {
    this.encoder.write(geometry, record, this.shp, this.shx, this.dbf);
  }

  get count(): number {
    return this.encoder.count;
  }

  finish(): ShapefileBytes {
    const h = this.encoder.headers();
    return {
      shp: this.shp.join(h.shp),
      shx: this.shx.join(h.shx),
      dbf: this.dbf.join(h.dbf, DBF_EOF),
      cpg: this.encoder.cpg,
      fields: this.encoder.fields,
      count: this.encoder.count,
    };
  }
}

function inferKind(geoms: (ShpGeometry | null | undefined)[]): ShapeKind {
  let kind: ShapeKind | null = null;
  for (const g of geoms) {
    if (!g) continue;
    const k = kindOf(g);
    if (!kind) kind = k;
    else if (k !== kind) {
      // Point + MultiPoint mix fits a multipoint file; anything else does not mix
      if ((k === 'point' && kind === 'multipoint') || (k === 'multipoint' && kind === 'point')) kind = 'multipoint';
      else throw new Error(`cannot mix ${kind} and ${k} geometries in one shapefile`);
    }
  }
  if (!kind) throw new Error('all geometries are null: pass shapeType');
  return kind;
}

function anyZ(geoms: (ShpGeometry | null | undefined)[]): boolean {
  const hasZ = (c: unknown): boolean => {
    if (!Array.isArray(c) || c.length === 0) return false;
    if (typeof c[0] === 'number') return c.length >= 3 && Number.isFinite(c[2]);
    return (c as unknown[]).some(hasZ);
  };
  return geoms.some((g) => !!g && hasZ((g as { coordinates?: unknown }).coordinates));
}

function longestText(field: DbfField, records: Record<string, unknown>[], enc: DbfEncoding): number {
  let max = 1;
  const seen = new Set<string>();
  for (const r of records) {
    const v = r?.[field.name];
    if (v === null || v === undefined) continue;
    const s = v instanceof Date ? '0000-00-00' : String(v);
    if (s.length * 4 <= max || seen.has(s)) continue; // cannot be longer than max in any encoding
    seen.add(s);
    const n = encodeText(s, enc).length;
    if (n > max) max = n;
    if (max >= 254) return 254;
  }
  return max;
}

/** Write a whole layer in memory. Geometries and records are matched by index. */
export function writeShapefile(opts: WriteShapefileOptions): ShapefileBytes {
  const { geometries, records } = opts;
  if (records.length !== 0 && records.length !== geometries.length) {
    throw new Error(`geometries (${geometries.length}) and records (${records.length}) differ in length`);
  }
  const enc = opts.encoding ?? 'gbk';
  const fields = opts.fields.map((f) =>
    f.type === 'C' && f.length === undefined ? { ...f, length: longestText(f, records, enc) } : f,
  );
  const b = new ShapefileBuilder({
    ...opts,
    fields,
    encoding: enc,
    shapeType: opts.shapeType ?? inferKind(geometries),
    hasZ: opts.hasZ ?? anyZ(geometries),
  });
  for (let i = 0; i < geometries.length; i++) b.add(geometries[i], records[i] ?? null);
  return b.finish();
}

// ---------------------------------------------------------------------------------------------
// Straight to disk

export interface FileWriterOptions extends ShapefileLayout {
  shapeType: ShapeKind;
  /** .prj content to write beside (e.g. `esriWktForEpsg(4523)`); none when omitted */
  prj?: string;
  /** write the .cpg file; default true */
  cpg?: boolean;
}

/**
 * Incremental writer to `${basePath}.shp/.shx/.dbf` (+ .cpg, .prj). Records are encoded straight
 * into 1 MiB buffers and flushed; the headers are written last, over placeholders, so memory does
 * not grow with the layer.
 */
export class ShapefileFileWriter {
  readonly encoder: ShapefileEncoder;
  private readonly shp: FileSink;
  private readonly shx: FileSink;
  private readonly dbf: FileSink;
  private closed = false;

  constructor(
    readonly basePath: string,
    private readonly opts: FileWriterOptions,
  ) {
    this.encoder = new ShapefileEncoder(opts);
    this.shp = new FileSink(`${basePath}.shp`, 100);
    this.shx = new FileSink(`${basePath}.shx`, 100, 1 << 16);
    this.dbf = new FileSink(`${basePath}.dbf`, this.encoder.dbfHeaderLength);
  }

  add(geometry: ShpGeometry | null | undefined, record: Record<string, unknown> | null | undefined): void {
    if (this.closed) throw new Error('shapefile writer is closed');
    this.encoder.write(geometry, record, this.shp, this.shx, this.dbf);
  }

  get count(): number {
    return this.encoder.count;
  }

  /** Patch headers, close the files; returns the paths written. */
  close(): { files: string[]; count: number; fields: WrittenField[]; bbox: [number, number, number, number] | null } {
    if (this.closed) throw new Error('shapefile writer is already closed');
    this.closed = true;
    const h = this.encoder.headers();
    this.shp.close(h.shp);
    this.shx.close(h.shx);
    this.dbf.close(h.dbf, DBF_EOF);
    const files = [this.shp.path, this.shx.path, this.dbf.path];
    if (this.opts.cpg !== false) {
      writeFileSync(`${this.basePath}.cpg`, this.encoder.cpg);
      files.push(`${this.basePath}.cpg`);
    }
    if (this.opts.prj) {
      writeFileSync(`${this.basePath}.prj`, this.opts.prj);
      files.push(`${this.basePath}.prj`);
    }
    return { files, count: this.encoder.count, fields: this.encoder.fields, bbox: this.encoder.bbox };
  }
}
