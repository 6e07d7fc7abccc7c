/**
 * A tiny, deliberately literal shapefile writer for tests: .shp/.shx/.dbf bytes straight from the
 * ESRI Shapefile Technical Description (1998) and the dBase III layout, so tests can also build
 * malformed files (wrong counts, truncated records, bad headers) by editing the returned bytes.
 *
 *   const { shp, shx, dbf } = makeShapefile({
 *     polygons: [[square(35500000, 3250000, 100)], null],
 *     fields: [{ name: '图斑编号', type: 'C', length: 20 }],
 *     records: [['TB001'], ['TB002']],
 *     encoding: 'gbk',
 *   });
 *   const zipBytes = zip({ 'a/TB.shp': shp, 'a/TB.dbf': dbf, 'a/TB.prj': PRJ.cgcs2000Zone35 });
 */
import iconv from 'iconv-lite';
import { zipSync, strToU8 } from 'fflate';

export type XY = [number, number];
/** One record's parts (rings for polygons, paths for lines, points for point types); null = null shape. */
export type RecordParts = XY[][] | null;
export type DbfValue = string | number | boolean | null;

export interface DbfFieldSpec {
  name: string;
  /** C N F L D M (or anything else, written as given) */
  type: string;
  length?: number;
  decimals?: number;
}

export interface ShapefileSpec {
  /** 5 Polygon (default), 15 PolygonZ, 25 PolygonM, 3/13/23 lines, 1/11/21 points, 8/18/28 multipoints */
  shapeType?: number;
  geometries?: RecordParts[];
  /** alias of geometries */
  polygons?: RecordParts[];
  /** Z / M value written for every vertex of Z / M types */
  z?: number;
  m?: number;
  fields?: DbfFieldSpec[];
  records?: DbfValue[][];
  /** encoding of field names and C values (iconv-lite name), default utf-8 */
  encoding?: string;
  /** .dbf language driver id, byte 29 */
  ldid?: number;
  /** record indexes flagged deleted ('*') */
  deleted?: number[];
}

/** Clockwise square (a shapefile outer ring) with its lower-left corner at (x, y). */
export const square = (x: number, y: number, size: number): XY[] => [
  [x, y],
  [x, y + size],
  [x + size, y + size],
  [x + size, y],
  [x, y],
];
/** Counter-clockwise square (a shapefile hole). */
export const hole = (x: number, y: number, size: number): XY[] => square(x, y, size).reverse();

const kindOf = (t: number) => (t === 0 ? 0 : [1, 11, 21].includes(t) ? 1 : [8, 18, 28].includes(t) ? 8 : [3, 13, 23].includes(t) ? 3 : 5);
const hasZ = (t: number) => t >= 11 && t <= 18;
const hasM = (t: number) => t >= 11; // Z types carry M too

function recordContent(t: number, parts: RecordParts, z: number, m: number): Uint8Array {
  if (!parts) {
    const b = new Uint8Array(4); // null shape: type 0 only
    return b;
  }
  const pts = parts.flat();
  const k = kindOf(t);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const box = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  const zm = (n: number) => (hasZ(t) ? 16 + 8 * n : 0) + (hasM(t) ? 16 + 8 * n : 0);
  let size: number;
  if (k === 1) size = 4 + 16 + (hasZ(t) ? 8 : 0) + (hasM(t) ? 8 : 0);
  else if (k === 8) size = 4 + 32 + 4 + 16 * pts.length + zm(pts.length);
  else size = 4 + 32 + 8 + 4 * parts.length + 16 * pts.length + zm(pts.length);
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, t, true);
  let o = 4;
  const f64 = (v: number) => {
    dv.setFloat64(o, v, true);
    o += 8;
  };
  if (k === 1) {
    f64(pts[0][0]);
    f64(pts[0][1]);
    if (hasZ(t)) f64(z);
    if (hasM(t)) f64(m);
    return b;
  }
  box.forEach(f64);
  if (k !== 8) {
    dv.setInt32(o, parts.length, true);
    o += 4;
  }
  dv.setInt32(o, pts.length, true);
  o += 4;
  if (k !== 8) {
    let start = 0;
    for (const p of parts) {
      dv.setInt32(o, start, true);
      o += 4;
      start += p.length;
    }
  }
  for (const p of pts) {
    f64(p[0]);
    f64(p[1]);
  }
  for (const [on, v] of [
    [hasZ(t), z],
    [hasM(t), m],
  ] as const)
    if (on) {
      f64(v);
      f64(v);
      for (let i = 0; i < pts.length; i++) f64(v);
    }
  return b;
}

function fileHeader(t: number, lengthBytes: number, all: XY[]): Uint8Array {
  const h = new Uint8Array(100);
  const dv = new DataView(h.buffer);
  dv.setInt32(0, 9994, false);
  dv.setInt32(24, lengthBytes / 2, false);
  dv.setInt32(28, 1000, true);
  dv.setInt32(32, t, true);
  if (all.length) {
    dv.setFloat64(36, Math.min(...all.map((p) => p[0])), true);
    dv.setFloat64(44, Math.min(...all.map((p) => p[1])), true);
    dv.setFloat64(52, Math.max(...all.map((p) => p[0])), true);
    dv.setFloat64(60, Math.max(...all.map((p) => p[1])), true);
  }
  return h;
}

export function makeShp(shapeType: number, geometries: RecordParts[], z = 0, m = 0): { shp: Uint8Array; shx: Uint8Array } {
  const contents = geometries.map((g) => recordContent(shapeType, g, z, m));
  const shpLen = 100 + contents.reduce((s, c) => s + 8 + c.length, 0);
  const shxLen = 100 + 8 * contents.length;
  const all = geometries.flatMap((g) => (g ? g.flat() : []));
  const shp = new Uint8Array(shpLen);
  const shx = new Uint8Array(shxLen);
  shp.set(fileHeader(shapeType, shpLen, all));
  shx.set(fileHeader(shapeType, shxLen, all));
  const sdv = new DataView(shp.buffer);
  const xdv = new DataView(shx.buffer);
  let o = 100;
  contents.forEach((c, i) => {
    sdv.setInt32(o, i + 1, false);
    sdv.setInt32(o + 4, c.length / 2, false);
    shp.set(c, o + 8);
    xdv.setInt32(100 + 8 * i, o / 2, false);
    xdv.setInt32(104 + 8 * i, c.length / 2, false);
    o += 8 + c.length;
  });
  return { shp, shx };
}

const defaultLength = (f: DbfFieldSpec) => f.length ?? ({ C: 50, N: 18, F: 19, L: 1, D: 8, M: 10 } as Record<string, number>)[f.type] ?? 10;

function formatValue(f: DbfFieldSpec, v: DbfValue, len: number, encoding: string): Uint8Array {
  const out = new Uint8Array(len).fill(0x20);
  if (v === null || v === undefined) {
    if (f.type === 'L') out[0] = 0x3f; // '?'
    return out;
  }
  let bytes: Uint8Array;
  if (f.type === 'L') bytes = strToU8(typeof v === 'boolean' ? (v ? 'T' : 'F') : String(v));
  else if ((f.type === 'N' || f.type === 'F') && typeof v === 'number') {
    const s = f.decimals ? v.toFixed(f.decimals) : String(v);
    bytes = strToU8(s.padStart(len, ' '));
  } else bytes = iconv.encode(String(v), encoding);
  out.set(bytes.subarray(0, len)); // truncation may cut a multi-byte character, like real writers
  return out;
}

export function makeDbf(
  fields: DbfFieldSpec[],
  records: DbfValue[][],
  opts: { encoding?: string; ldid?: number; deleted?: number[] } = {},
): Uint8Array {
  const encoding = opts.encoding ?? 'utf-8';
  const lens = fields.map(defaultLength);
  const headerLen = 32 + 32 * fields.length + 1;
  const recLen = 1 + lens.reduce((a, b) => a + b, 0);
  const b = new Uint8Array(headerLen + recLen * records.length + 1);
  const dv = new DataView(b.buffer);
  b[0] = 0x03;
  b[1] = 124; // 2024
  b[2] = 1;
  b[3] = 1;
  dv.setUint32(4, records.length, true);
  dv.setUint16(8, headerLen, true);
  dv.setUint16(10, recLen, true);
  b[29] = opts.ldid ?? 0;
  fields.forEach((f, i) => {
    const p = 32 + 32 * i;
    b.set(iconv.encode(f.name, encoding).subarray(0, 10), p);
    b[p + 11] = f.type.charCodeAt(0);
    b[p + 16] = lens[i] & 0xff;
    b[p + 17] = f.decimals ?? 0;
  });
  b[headerLen - 1] = 0x0d;
  const deleted = new Set(opts.deleted ?? []);
  records.forEach((r, i) => {
    let o = headerLen + recLen * i;
    b[o++] = deleted.has(i) ? 0x2a : 0x20;
    fields.forEach((f, k) => {
      b.set(formatValue(f, r[k] ?? null, lens[k], encoding), o);
      o += lens[k];
    });
  });
  b[b.length - 1] = 0x1a;
  return b;
}

export function makeShapefile(spec: ShapefileSpec): { shp: Uint8Array; shx: Uint8Array; dbf: Uint8Array } {
  const geoms = spec.geometries ?? spec.polygons ?? [];
  const { shp, shx } = makeShp(spec.shapeType ?? 5, geoms, spec.z, spec.m);
  const fields = spec.fields ?? [{ name: 'ID', type: 'N', length: 10 }];
  const records = spec.records ?? geoms.map((_, i) => fields.map(() => i + 1));
  const dbf = makeDbf(fields, records, { encoding: spec.encoding, ldid: spec.ldid, deleted: spec.deleted });
  return { shp, shx, dbf };
}

/** Zip in memory (fflate, deflate level 6). Strings are written as UTF-8. */
export function zip(files: Record<string, Uint8Array | string>): Uint8Array {
  const input: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(files)) input[k] = typeof v === 'string' ? strToU8(v) : v;
  return zipSync(input, { level: 6 });
}

/** Common .prj texts (ESRI WKT as ArcGIS writes them, OGC WKT as GDAL writes them). */
export const PRJ = {
  cgcs2000Zone35:
    'PROJCS["CGCS2000_3_Degree_GK_Zone_35",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",35500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]',
  cgcs2000Cm105:
    'PROJCS["CGCS2000_3_Degree_GK_CM_105E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]',
  cgcs2000Geographic:
    'GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]',
  /** GDAL-style OGC WKT with a root AUTHORITY */
  epsg4523Ogc:
    'PROJCS["CGCS2000 / 3-degree Gauss-Kruger zone 35",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101,AUTHORITY["EPSG","1024"]],AUTHORITY["EPSG","1043"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4490"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",105],PARAMETER["scale_factor",1],PARAMETER["false_easting",35500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AUTHORITY["EPSG","4523"]]',
  xian80Zone35:
    'PROJCS["Xian_1980_3_Degree_GK_Zone_35",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",35500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]',
};
