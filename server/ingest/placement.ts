/**
 * Where a layer lands, checked on its real vertices once reprojected (issue 11 item 3): against the
 * configured work region with a margin, not a box around China and not the corners of a projected
 * bounding box (those of a national conic projection fall outside China even when every vertex is in
 * Yongchuan). A CRS the user gave is trusted, with a warning; no message shows Infinity.
 */
import proj4 from 'proj4';
import { IngestError } from '../errors';
import type { BBox } from './geometry';
import { finiteBox, GEO_4490, gkHalfWidth, knownCrs, type ResolvedCrs } from './crs';
import { warning, type Warning } from './warn';

/** A number for a message: never "Infinity" or "NaN" (an empty or broken extent has no number to show). */
export const fmt = (v: number, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : '—');

/** A lon/lat box on CGCS2000, named for messages. */
export interface Region {
  lonMin: number;
  latMin: number;
  lonMax: number;
  latMax: number;
  en: string;
  zh: string;
}

/** China (CGCS2000's domain; the same box inferCrs trusts for lon/lat). */
const CHINA: Region = { lonMin: 73, latMin: 3, lonMax: 136, latMax: 54, en: 'China', zh: '中国' };

/**
 * How far (degrees, ≈ 100 km) data may reach beyond the work region before it is taken as a sign of a
 * wrong CRS: a county's data delivered in the neighbouring GK zone, or a reference layer that runs a
 * little past the district, is normal. A wrong central meridian (3° = ~300 km) or a wrong zone is not.
 */
export const REGION_MARGIN_DEG = 1;

/**
 * The configured work region: the projection zone of the work SRID (a GK or UTM zone's longitudes, at
 * China's latitudes), or China for a work SRID without a zone (4490, 3857).
 */
export function workRegion(workSrid: number): Region {
  const def = knownCrs(workSrid)?.def ?? '';
  const half = gkHalfWidth(workSrid) ?? (/\+proj=utm\b/.test(def) ? 3 : undefined);
  const lon0 = /\+proj=utm\b/.test(def)
    ? Number(/\+zone=(\d+)/.exec(def)?.[1] ?? NaN) * 6 - 183
    : Number(/\+lon_0=([-\d.]+)/.exec(def)?.[1] ?? NaN);
  if (half === undefined || !Number.isFinite(lon0)) return CHINA;
  const [a, b] = [lon0 - half, lon0 + half];
  return {
    lonMin: a,
    lonMax: b,
    latMin: CHINA.latMin,
    latMax: CHINA.latMax,
    en: `the zone of the working CRS EPSG:${workSrid} (${a}°E–${b}°E)`,
    zh: `工作坐标系 EPSG:${workSrid} 的投影带（东经 ${a}°–${b}°）`,
  };
}

/** NaN/Infinity or absurd magnitudes are refused whatever the CRS (run before guessing one). */
export function assertSaneNumbers(bbox: BBox): void {
  if (bbox.nonFinite)
    throw new IngestError(
      'coords_out_of_range',
      'Some coordinates are not numbers (NaN or infinite); the geometry is damaged.',
      '部分坐标不是有效数字（NaN 或无穷大），几何数据已损坏。',
      { bbox: null },
    );
  const box = bbox.toArray();
  if (!bbox.empty && box.some((v) => Math.abs(v) > 1e9))
    throw new IngestError(
      'coords_out_of_range',
      `Coordinates have absurd values (extent ${box.map((v) => fmt(v)).join(', ')}); the geometry is damaged.`,
      `坐标数值异常（范围 ${box.map((v) => fmt(v)).join('，')}），几何数据已损坏。`,
      { bbox: box },
    );
}

/**
 * Do the layer's vertices, read in `crs`, land in the work region? Real vertices are transformed (the
 * extremes and a bounded, evenly spread sample: BBox.sample), never the corners of a projected box,
 * which for a conic projection can fall far outside China while every vertex is inside.
 *
 * - a CRS we chose (a .prj, a GeoJSON crs member, an inference) is refused when no vertex lands in
 *   the work region (with REGION_MARGIN_DEG), and the message suggests --srs;
 * - a CRS the user passed (--srs) is trusted: the same finding is a warning, and nothing suggests --srs;
 * - either way, vertices that are no positions on Earth under the CRS are refused, and data only
 *   partly inside the region is imported with a warning.
 */
export function checkPlacement(bbox: BBox, crs: ResolvedCrs, workSrid: number): Warning[] {
  assertSaneNumbers(bbox);
  if (bbox.empty) return [];
  const warnings: Warning[] = [];
  const explicit = crs.how === 'option';
  const as = explicit ? `${crs.source} (given with --srs)` : crs.source;
  const as_zh = explicit ? `${crs.source}（由 --srs 指定）` : crs.source;
  const box = bbox.toArray();

  // A zone-prefixed GK CRS (false easting zone × 10⁶ + 500 000) has only eastings that start with its
  // zone number. Data of zone 35 read with a zone-36 .prj still lands inside China (≈3° further east),
  // so the position test below would not always see it.
  const fe = /\+proj=tmerc\b/.test(crs.def) ? Number(/\+x_0=(\d+)\b/.exec(crs.def)?.[1] ?? NaN) : NaN;
  if (fe >= 1e6 && fe % 1e6 === 500000) {
    const zone = Math.floor(fe / 1e6);
    if (Math.floor(box[0] / 1e6) !== zone || Math.floor(box[2] / 1e6) !== zone) {
      const en = `The eastings (${fmt(box[0])}…${fmt(box[2])}) do not start with the zone number ${zone} that ${as} requires`;
      const zh = `横坐标（${fmt(box[0])}…${fmt(box[2])}）的带号不是 ${as_zh} 要求的 ${zone}`;
      if (!explicit)
        throw new IngestError(
          'coords_out_of_range',
          `${en}; the coordinate system is probably that of another zone. Pass --srs EPSG:n.`,
          `${zh}，坐标系可能属于其他投影带。请用 --srs EPSG:n 指定坐标系。`,
          { bbox: box, crs: crs.source, zone },
        );
      warnings.push(warning('coords_zone_mismatch', `${en}; they were read as ${crs.source} as requested.`, `${zh}；已按指定的 ${crs.source} 读取。`));
    }
  }

  const conv = proj4(crs.def, GEO_4490);
  const region = workRegion(workSrid);
  const m = REGION_MARGIN_DEG;
  const pts = bbox.sample();
  let failed = 0;
  let inside = 0;
  const ll = [Infinity, Infinity, -Infinity, -Infinity];
  for (const p of pts) {
    let q: number[];
    try {
      q = conv.forward([p[0], p[1]]);
    } catch {
      failed++;
      continue;
    }
    const [lon, lat] = q;
    if (!Number.isFinite(lon) || !Number.isFinite(lat) || Math.abs(lat) > 90 || Math.abs(lon) > 540) {
      failed++;
      continue;
    }
    ll[0] = Math.min(ll[0], lon);
    ll[1] = Math.min(ll[1], lat);
    ll[2] = Math.max(ll[2], lon);
    ll[3] = Math.max(ll[3], lat);
    if (lon >= region.lonMin - m && lon <= region.lonMax + m && lat >= region.latMin - m && lat <= region.latMax + m) inside++;
  }
  if (failed)
    throw new IngestError(
      'coords_out_of_range',
      `Read as ${as}, ${failed} of ${pts.length} checked vertices are not positions on Earth; ${
        explicit ? 'check the coordinate system.' : 'the coordinate system is probably wrong. Pass --srs EPSG:n.'
      }`,
      `按 ${as_zh} 解读时，检查的 ${pts.length} 个顶点中有 ${failed} 个不是地球上的有效位置；${
        explicit ? '请核对坐标系。' : '坐标系可能有误，请用 --srs EPSG:n 指定坐标系。'
      }`,
      { bbox: box, crs: crs.source, failed, checked: pts.length },
    );
  if (inside === pts.length) return warnings;

  const at = `lon ${fmt(ll[0], 3)}…${fmt(ll[2], 3)}, lat ${fmt(ll[1], 3)}…${fmt(ll[3], 3)}`;
  const at_zh = `经度 ${fmt(ll[0], 3)}…${fmt(ll[2], 3)}，纬度 ${fmt(ll[1], 3)}…${fmt(ll[3], 3)}`;
  const details = { bbox: box, lonlat: ll, crs: crs.source, region: [region.lonMin, region.latMin, region.lonMax, region.latMax], marginDeg: m };
  if (inside > 0)
    warnings.push(
      warning(
        'coords_partly_outside_region',
        `Read as ${as}, the data (${at}) reaches more than ${m}° beyond ${region.en}; it was imported.`,
        `按 ${as_zh} 解读时，数据（${at_zh}）有部分超出${region.zh}${m}° 以上，已导入。`,
      ),
    );
  else if (explicit)
    warnings.push(
      warning(
        'coords_outside_region',
        `Read as ${as}, the data lies at ${at}, outside ${region.en} (margin ${m}°); it was imported as requested. Check the coordinate system if this is not expected.`,
        `按 ${as_zh} 解读时，数据位于${at_zh}，不在${region.zh}范围内（容差 ${m}°）；已按指定坐标系导入。如不符合预期，请核对坐标系。`,
      ),
    );
  else
    throw new IngestError(
      'coords_out_of_range',
      `Read as ${as}, the data lies at ${at}, outside ${region.en} (margin ${m}°); the coordinate system is probably wrong. Pass --srs EPSG:n.`,
      `按 ${as_zh} 解读时，数据位于${at_zh}，不在${region.zh}范围内（容差 ${m}°），坐标系可能有误。请用 --srs EPSG:n 指定坐标系。`,
      details,
    );
  return warnings;
}

/**
 * --srs and the file's own declaration (.prj or GeoJSON crs member) disagree: the --srs wins, with a
 * warning. They disagree when their EPSG codes differ, or (when one has none) when they put the layer's
 * sample vertices more than ~1 m apart.
 */
export function compareWithDeclared(option: ResolvedCrs, declared: ResolvedCrs, bbox: BBox, what: string, what_zh: string): Warning | undefined {
  let differs: boolean;
  if (option.epsg !== undefined && declared.epsg !== undefined) differs = option.epsg !== declared.epsg;
  else {
    const pts = bbox.sample().slice(0, 64);
    if (!pts.length) differs = option.def !== declared.def;
    else {
      differs = false;
      try {
        const a = proj4(option.def, GEO_4490);
        const b = proj4(declared.def, GEO_4490);
        for (const p of pts) {
          const pa = a.forward([p[0], p[1]]);
          const pb = b.forward([p[0], p[1]]);
          if (!(Math.abs(pa[0] - pb[0]) < 1e-5 && Math.abs(pa[1] - pb[1]) < 1e-5)) {
            differs = true;
            break;
          }
        }
      } catch {
        differs = true;
      }
    }
  }
  if (!differs) return undefined;
  return warning(
    'srs_contradicts_declared',
    `The layer was read as ${option.source} (--srs), but ${what} says ${declared.source}; check which one is right.`,
    `已按 --srs 指定的 ${option.source} 读取，但${what_zh}声明的是 ${declared.source}；请核对哪一个正确。`,
  );
}
