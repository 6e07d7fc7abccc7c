/**
 * OGC API – Features Part 2 (Coordinate Reference Systems by Reference): the CRSs the items are served in
 * and a bbox may be given in. Three, from an allow-list — the request names a URI, never SQL:
 *   - CRS84 (the default; lon/lat, as Part 1 requires),
 *   - EPSG:4490 CGCS2000 geographic: the OGC URI means the EPSG axis order, latitude first,
 *   - the work CRS (TUBAN_WORK_SRID, EPSG:4523 CGCS2000 / 3-degree GK zone 35 in the sample): its EPSG axis
 *     order is northing (X) first, then easting (Y) — `projinfo EPSG:4523` shows `northing (X)` as ORDER[1].
 * Part 2 /req/crs/ogc-crs-axis-order (not GeoJSON's lon/lat rule) holds once `crs` is given, so both the
 * EPSG CRSs are written with their coordinates swapped from PostGIS's x/y, and a bbox in them is read swapped.
 */
import { AppError } from '../errors';

export const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
export const epsgUri = (srid: number) => `http://www.opengis.net/def/crs/EPSG/0/${srid}`;

export interface ServedCrs {
  uri: string;
  srid: number;
  /** true: the CRS's first axis is northing/latitude, so x/y are written (and a bbox read) swapped */
  swapped: boolean;
  /** decimals written: 7 for degrees (~1 cm), 3 for metres (mm) */
  decimals: number;
  geographic: boolean;
}

/** The CRSs served, CRS84 first (the default). `workSrid` is a Gauss-Krüger CRS in northing/easting order. */
export function servedCrs(workSrid: number): ServedCrs[] {
  const out: ServedCrs[] = [
    { uri: CRS84, srid: 4326, swapped: false, decimals: 7, geographic: true },
    { uri: epsgUri(4490), srid: 4490, swapped: true, decimals: 7, geographic: true },
  ];
  if (workSrid !== 4490 && workSrid !== 4326) out.push({ uri: epsgUri(workSrid), srid: workSrid, swapped: true, decimals: 3, geographic: false });
  return out;
}

/** Also accepted for convenience (QGIS and GDAL users type these): EPSG:4523, a CURIE [EPSG:4523], OGC:CRS84. */
function normalise(s: string): string {
  const t = s.trim().replace(/^\[(.*)\]$/, '$1');
  const m = /^EPSG:(\d+)$/i.exec(t);
  if (m) return epsgUri(Number(m[1]));
  if (/^OGC:CRS84$/i.test(t)) return CRS84;
  return t.replace(/^https:/, 'http:');
}

export function crsOf(uri: string | undefined, workSrid: number, param: 'crs' | 'bbox-crs'): ServedCrs {
  const all = servedCrs(workSrid);
  if (uri === undefined) return all[0];
  const u = normalise(uri);
  const c = all.find((x) => x.uri === u);
  if (!c) {
    throw new AppError('invalid_input', `${param}: not a supported CRS (${all.map((x) => x.uri).join(', ')})`,
      `${param}：不支持的坐标系（支持 ${all.map((x) => x.uri).join('、')}）`, 400);
  }
  return c;
}

/**
 * SQL for the geometry `p.geom` (stored in the work CRS) as it is written in `c`. A fixed expression per
 * CRS: ST_FlipCoordinates gives the authority axis order. 4490 and 4326 share the datum within centimetres
 * and PostGIS has no transformation between them, so 4490 is the same numbers as CRS84, swapped.
 */
export function geomSql(c: ServedCrs, workSrid: number): string {
  const t = c.srid === workSrid ? 'p.geom' : `ST_Transform(p.geom, ${c.srid})`;
  return c.swapped ? `ST_FlipCoordinates(${t})` : t;
}

/** `Content-Crs` header value: the URI in angle brackets (Part 2 /req/crs/ogc-crs-header-content-crs). */
export const contentCrs = (c: ServedCrs) => `<${c.uri}>`;

/**
 * A bbox as given (4 or 6 numbers, in the axis order of `c`) → x/y box [minx, miny, maxx, maxy] in `c`.
 * For a geographic CRS also checked as lon/lat; an area crossing the antimeridian is not served (400).
 */
export function bboxXY(raw: number[], c: ServedCrs): [number, number, number, number] {
  const a = raw.length === 6 ? [raw[0], raw[1], raw[3], raw[4]] : raw;
  const [p, q, r, s] = a;
  const box: [number, number, number, number] = c.swapped ? [q, p, s, r] : [p, q, r, s];
  const [w, so, e, n] = box;
  const bad = !(w <= e && so <= n) || (c.geographic && (so < -90 || n > 90 || w < -180 || e > 180));
  if (bad) {
    const order = c.swapped ? (c.geographic ? 'minLat,minLon,maxLat,maxLon' : 'minNorthing,minEasting,maxNorthing,maxEasting') : 'minLon,minLat,maxLon,maxLat';
    throw new AppError('invalid_input', `bbox: ${order} in ${c.uri}`, `bbox 应为 ${order}（${c.uri}）`, 400);
  }
  return box;
}
