/**
 * Coordinate reference systems: built-in proj4 definitions for the CRSs Chinese deliveries use,
 * resolution of a .prj / GeoJSON `crs` member / --srs option, inference when nothing is declared,
 * and the reprojection function (the plausibility checks of where data lands are in placement.ts).
 *
 * Built in (no network, no proj database):
 *   CGCS2000   4490 geographic; 4491–4501 6° GK zone 13–23 (zone prefix); 4502–4512 6° GK CM 75E–135E;
 *              4513–4533 3° GK zone 25–45 (prefix); 4534–4554 3° GK CM 75E–135E
 *   Xian 1980  4610; 2327–2337 6° zone 13–23; 2338–2348 6° CM; 2349–2369 3° zone 25–45; 2370–2390 3° CM
 *   Beijing 54 4214; 21413–21423 6° zone 13–23; 21453–21463 6° CM; 2401–2421 3° zone 25–45; 2422–2442 3° CM
 *   WGS 84     4326, 3857, UTM 32601–32660 / 32701–32760
 * Xian 1980 / Beijing 1954 have no published datum shift to CGCS2000 that holds everywhere, so they
 * are transformed by ellipsoid only and a warning says positions may be off by tens of metres.
 */
import proj4 from 'proj4';
import iconv from 'iconv-lite';
import type { Position } from 'geojson';
import { AppError, IngestError } from '../errors';
import type { CrsInfo } from './types';
import type { BBox } from './geometry';
import { warning, type Warning } from './warn';
import { utf8Check } from './encoding';

export interface ResolvedCrs {
  /** 'EPSG:4523', 'OGC:CRS84' or 'WKT:<name>' */
  source: string;
  how: CrsInfo['how'];
  /** proj4 definition (proj string or WKT) */
  def: string;
  epsg?: number;
  warnings: Warning[];
}

const GRS80 = '+ellps=GRS80';
const IAG75 = '+a=6378140 +rf=298.257'; // Xian 1980 (IAG 1975 ellipsoid)
const KRASS = '+ellps=krass'; // Beijing 1954 (Krassowsky 1940)
const tm = (lon0: number, x0: number, ellps: string) =>
  `+proj=tmerc +lat_0=0 +lon_0=${lon0} +k=1 +x_0=${x0} +y_0=0 ${ellps} +units=m +no_defs`;

interface Family {
  gk3Zone: number;
  gk3Cm: number;
  gk6Zone: number;
  gk6Cm: number;
  geog: number;
  ellps: string;
  legacy: boolean;
}
const FAMILIES: Record<string, Family> = {
  cgcs2000: { gk3Zone: 4513, gk3Cm: 4534, gk6Zone: 4491, gk6Cm: 4502, geog: 4490, ellps: GRS80, legacy: false },
  xian_1980: { gk3Zone: 2349, gk3Cm: 2370, gk6Zone: 2327, gk6Cm: 2338, geog: 4610, ellps: IAG75, legacy: true },
  beijing_1954: { gk3Zone: 2401, gk3Cm: 2422, gk6Zone: 21413, gk6Cm: 21453, geog: 4214, ellps: KRASS, legacy: true },
};

/** proj4 definition of a built-in EPSG code, plus whether it is on a legacy datum. */
export function knownCrs(code: number): { def: string; legacy: boolean } | undefined {
  for (const f of Object.values(FAMILIES)) {
    const r = (def: string) => ({ def, legacy: f.legacy });
    if (code === f.geog) return r(`+proj=longlat ${f.ellps} +no_defs`);
    if (code >= f.gk3Zone && code <= f.gk3Zone + 20) {
      const z = code - f.gk3Zone + 25;
      return r(tm(z * 3, z * 1e6 + 500000, f.ellps));
    }
    if (code >= f.gk3Cm && code <= f.gk3Cm + 20) return r(tm(75 + (code - f.gk3Cm) * 3, 500000, f.ellps));
    if (code >= f.gk6Zone && code <= f.gk6Zone + 10) {
      const z = code - f.gk6Zone + 13;
      return r(tm(z * 6 - 3, z * 1e6 + 500000, f.ellps));
    }
    if (code >= f.gk6Cm && code <= f.gk6Cm + 10) return r(tm(75 + (code - f.gk6Cm) * 6, 500000, f.ellps));
  }
  if (code === 4326) return { def: '+proj=longlat +datum=WGS84 +no_defs', legacy: false };
  if (code === 3857)
    return {
      def: '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +no_defs',
      legacy: false,
    };
  if ((code >= 32601 && code <= 32660) || (code >= 32701 && code <= 32760))
    return {
      def: `+proj=utm +zone=${code % 100}${code > 32700 ? ' +south' : ''} +datum=WGS84 +units=m +no_defs`,
      legacy: false,
    };
  return undefined;
}

/**
 * CRS84 / default GeoJSON. CGCS2000 and WGS 84 agree to a few centimetres (the EPSG transformation
 * between them is a null transformation), so lon/lat in CRS84 are used as CGCS2000 lon/lat.
 */
const CRS84_DEF = `+proj=longlat ${GRS80} +no_defs`;
/** CGCS2000 geographic (EPSG:4490): what placement checks compare positions in (placement.ts) */
export const GEO_4490 = `+proj=longlat ${GRS80} +no_defs`;

const fromCode = (code: number, how: CrsInfo['how'], warnings: Warning[] = []): ResolvedCrs | undefined => {
  const k = knownCrs(code);
  if (!k) return undefined;
  if (k.legacy) warnings.push(legacyWarning(`EPSG:${code}`));
  return { source: `EPSG:${code}`, how, def: k.def, epsg: code, warnings };
};

const legacyWarning = (what: string) =>
  warning(
    'crs_legacy_datum',
    `${what} is on a legacy datum (Xian 1980 / Beijing 1954); it was converted to CGCS2000 without a local datum shift, so positions may be off by tens of metres. Convert with local parameters first for cadastral accuracy.`,
    `${what} 为旧坐标系（西安80 / 北京54），转换到 CGCS2000 时未使用当地转换参数，位置可能偏差数十米。如需地籍精度，请先用当地参数转换。`,
  );

export /** Half-width (degrees) of the GK zone of a built-in code: 1.5 for 3° zones, 3 for 6° zones, else undefined. */
function gkHalfWidth(code: number): number | undefined {
  for (const f of Object.values(FAMILIES)) {
    if ((code >= f.gk3Zone && code <= f.gk3Zone + 20) || (code >= f.gk3Cm && code <= f.gk3Cm + 20)) return 1.5;
    if ((code >= f.gk6Zone && code <= f.gk6Zone + 10) || (code >= f.gk6Cm && code <= f.gk6Cm + 10)) return 3;
  }
  return undefined;
}

// ---------------------------------------------------------------- --srs option

/** Accepts 'EPSG:4523', 'epsg:4523', '4523', 'urn:ogc:def:crs:EPSG::4523', 'CRS84'. */
export function parseCrsName(name: string): number | 'CRS84' | undefined {
  const s = name.trim();
  if (/(^|[:/])CRS:?84$/i.test(s)) return 'CRS84';
  const m = /^(?:EPSG:{1,2}|urn:ogc:def:crs:EPSG:[\d.]*:|https?:\/\/www\.opengis\.net\/def\/crs\/EPSG\/[\d.]+\/)?(\d{4,5})$/i.exec(s);
  return m ? Number(m[1]) : undefined;
}

export function crsFromOption(srs: string): ResolvedCrs {
  const c = parseCrsName(srs);
  const r = c === 'CRS84' ? { source: 'OGC:CRS84', how: 'option' as const, def: CRS84_DEF, warnings: [] } : c && fromCode(c, 'option');
  if (!r)
    throw new IngestError(
      'bad_srs',
      `Unknown coordinate system "${srs}". Use an EPSG code such as EPSG:4490, EPSG:4523 (CGCS2000 3° GK zone 35) or EPSG:4544.`,
      `无法识别的坐标系“${srs}”。请使用 EPSG 代码，如 EPSG:4490、EPSG:4523（CGCS2000 3度带第35带）或 EPSG:4544。`,
      { srs },
    );
  return r;
}

/** The working CRS comes from configuration, not from the user: a bad one is a server error. */
export function workDef(workSrid: number): string {
  const k = knownCrs(workSrid);
  if (!k) throw new AppError('work_srid_unknown', `Working SRID ${workSrid} has no built-in definition.`, `工作坐标系 ${workSrid} 没有内置定义。`, 500);
  return k.def;
}

// ---------------------------------------------------------------- .prj (WKT)

const WKT_ROOT = /^(PROJCS|GEOGCS|GEOCCS|COMPD_CS|LOCAL_CS|PROJCRS|PROJECTEDCRS|GEOGCRS|GEOGRAPHICCRS|GEODCRS|GEODETICCRS|COMPOUNDCRS|BOUNDCRS)\s*[[(]/i;
const HORIZONTAL = /\b(PROJCS|GEOGCS|PROJCRS|PROJECTEDCRS|GEOGCRS|GEOGRAPHICCRS|GEODCRS|GEODETICCRS)\s*[[(]/i;

/** Index of the bracket closing the one opened at `open`, or -1; quotes are skipped. */
function closing(s: string, open: number): number {
  let depth = 0;
  let quoted = false;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') {
      depth--;
      if (depth === 0) return i;
      if (depth < 0) return -1;
    }
  }
  return -1;
}

const normName = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');

/** EPSG code from a CRS name (ESRI or EPSG spelling), e.g. CGCS2000_3_Degree_GK_Zone_35 → 4523. */
export function codeFromName(name: string): number | undefined {
  const n = normName(name);
  const gk = /^(cgcs2000|xian_1980|beijing_1954)_(3_degree_)?(?:gk|gauss_kruger)_(?:zone_(\d+)|cm_(\d+)e)$/.exec(n);
  if (gk) {
    const f = FAMILIES[gk[1]];
    const three = !!gk[2];
    if (gk[3] !== undefined) {
      const z = Number(gk[3]);
      if (three && z >= 25 && z <= 45) return f.gk3Zone + z - 25;
      if (!three && z >= 13 && z <= 23) return f.gk6Zone + z - 13;
    } else {
      const cm = Number(gk[4]);
      if (three && cm >= 75 && cm <= 135 && cm % 3 === 0) return f.gk3Cm + (cm - 75) / 3;
      if (!three && cm >= 75 && cm <= 135 && (cm - 75) % 6 === 0) return f.gk6Cm + (cm - 75) / 6;
    }
    return undefined;
  }
  const utm = /^wgs_(?:1984|84)_utm_zone_(\d+)([ns])$/.exec(n);
  if (utm && Number(utm[1]) >= 1 && Number(utm[1]) <= 60) return (utm[2] === 'n' ? 32600 : 32700) + Number(utm[1]);
  const GEOG: Record<string, number> = {
    gcs_china_geodetic_coordinate_system_2000: 4490,
    china_geodetic_coordinate_system_2000: 4490,
    cgcs2000: 4490,
    gcs_cgcs2000: 4490,
    gcs_wgs_1984: 4326,
    wgs_84: 4326,
    wgs_1984: 4326,
    wgs84: 4326,
    gcs_xian_1980: 4610,
    xian_1980: 4610,
    gcs_beijing_1954: 4214,
    beijing_1954: 4214,
    wgs_1984_web_mercator_auxiliary_sphere: 3857,
    wgs_1984_web_mercator: 3857,
    wgs_84_pseudo_mercator: 3857,
  };
  return GEOG[n];
}

/** AUTHORITY["EPSG","n"] (WKT1) or ID["EPSG",n] (WKT2) that belongs to the root, not to a child. */
function rootAuthority(wkt: string): number | undefined {
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < wkt.length; i++) {
    const c = wkt[i];
    if (c === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth--;
    else if (depth === 1) {
      const m = /^(?:AUTHORITY|ID)\s*[[(]\s*"EPSG"\s*,\s*"?(\d+)"?/i.exec(wkt.slice(i, i + 40));
      if (m && /[^A-Za-z_]/.test(wkt[i - 1] ?? ',')) return Number(m[1]);
    }
  }
  return undefined;
}

function wktParam(wkt: string, names: RegExp): number | undefined {
  const re = /PARAMETER\s*\[\s*"([^"]+)"\s*,\s*([-+0-9.eE]+)/gi;
  for (let m; (m = re.exec(wkt)); ) if (names.test(m[1])) return Number(m[2]);
  return undefined;
}

/**
 * A name-matched code is only trusted when the WKT's own central meridian / false easting agree:
 * people rename projections, and "Zone_35" with a 500000 false easting is not EPSG:4523.
 */
function paramsAgree(wkt: string, def: string): boolean {
  const lon0 = Number(/\+lon_0=([-\d.]+)/.exec(def)?.[1] ?? NaN);
  const x0 = Number(/\+x_0=([-\d.]+)/.exec(def)?.[1] ?? NaN);
  const cm = wktParam(wkt, /^(central[ _]meridian|longitude[ _]of[ _](natural[ _])?origin|longitude[ _]of[ _]cent(er|re))$/i);
  const fe = wktParam(wkt, /^false[ _]easting$/i);
  if (cm !== undefined && Number.isFinite(lon0) && Math.abs(cm - lon0) > 1e-7) return false;
  if (fe !== undefined && Number.isFinite(x0) && Math.abs(fe - x0) > 1e-3) return false;
  return true;
}

const prjInvalid = (reason: string, reason_zh: string, sample: string) =>
  new IngestError(
    'prj_invalid',
    `The .prj file is not a coordinate system definition (${reason}). Fix the .prj or pass --srs EPSG:n.`,
    `.prj 文件不是有效的坐标系定义（${reason_zh}）。请修正 .prj 或用 --srs EPSG:n 指定坐标系。`,
    { reason, sample },
  );

/**
 * The 3 or 7 TOWGS84 datum-shift parameters of a WKT (WKT1 TOWGS84[…], or the WKT2 BOUNDCRS's
 * Position Vector / Coordinate Frame parameters are not read), or undefined when there are none or all
 * are zero (a no-op: CGCS2000 exports often carry TOWGS84[0,0,0,0,0,0,0]).
 */
export function towgs84Of(wkt: string): number[] | undefined {
  const m = /TOWGS84\s*[[(]([^\])]*)[\])]/i.exec(wkt);
  if (!m) return undefined;
  const p = m[1].split(',').map((v) => Number(v.trim()));
  if ((p.length !== 3 && p.length !== 7) || !p.every(Number.isFinite) || p.every((v) => v === 0)) return undefined;
  return p;
}

const towgs84Warning = (p: number[]) =>
  warning(
    'crs_towgs84_applied',
    `The .prj carries datum-shift parameters (TOWGS84[${p.join(',')}]); they were applied when converting to CGCS2000.`,
    `.prj 中带有坐标转换参数（TOWGS84[${p.join(',')}]），转换到 CGCS2000 时已使用这些参数。`,
  );

export function crsFromPrj(bytes: Uint8Array): ResolvedCrs {
  // .prj names may be Chinese (custom CRSs named by local surveyors), in UTF-8 or GBK
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoded = utf8Check(raw, 0, raw.length) !== 0 ? raw.toString('utf8') : iconv.decode(raw, 'gb18030');
  const text = decoded.replace(/^\uFEFF/, '').replace(/\0+$/, '').trim();
  const sample = text.slice(0, 120);
  if (!text) throw prjInvalid('empty', '文件为空', sample);
  const asCode = parseCrsName(text);
  if (typeof asCode === 'number') {
    const r = fromCode(asCode, 'prj');
    if (r) return r;
  }
  if (!WKT_ROOT.test(text)) throw prjInvalid('not WKT', '不是 WKT 格式', sample);
  if (closing(text, text.search(/[[(]/)) === -1) throw prjInvalid('unbalanced brackets', '括号不配对', sample);

  // For compound (horizontal + height) and bound CRSs, the horizontal part is what we need.
  let wkt = text;
  if (/^(COMPD_CS|COMPOUNDCRS|BOUNDCRS)/i.test(text)) {
    const re = new RegExp(HORIZONTAL.source, 'gi');
    re.lastIndex = 1; // skip the root keyword itself
    const m = re.exec(text);
    const end = m ? closing(text, m.index + m[0].length - 1) : -1;
    if (m && end > 0) wkt = text.slice(m.index, end + 1);
  }
  const name = /^\w+\s*[[(]\s*"([^"]*)"/.exec(wkt)?.[1] ?? '';
  const warnings: Warning[] = [];
  // Datum-shift parameters in the .prj are honoured whatever the CRS is called: a Xian 1980 zone named
  // like its EPSG code and the same zone under a surveyor's own name must land in the same place.
  const towgs84 = towgs84Of(wkt);

  for (const code of [rootAuthority(wkt), codeFromName(name)]) {
    if (code === undefined) continue;
    const k = knownCrs(code);
    if (!k) continue;
    if (paramsAgree(wkt, k.def)) {
      if (!towgs84) return fromCode(code, 'prj', warnings)!;
      // the table's definition plus the file's shift; no EPSG code, so it is always transformed
      warnings.push(towgs84Warning(towgs84));
      return { source: `WKT:${name || `EPSG:${code}`}`, how: 'prj', def: `${k.def} +towgs84=${towgs84.join(',')}`, warnings };
    }
    warnings.push(
      warning(
        'prj_name_params_mismatch',
        `The .prj is named like EPSG:${code} ("${name}") but its parameters differ; its parameters were used.`,
        `.prj 的名称与 EPSG:${code}（“${name}”）相符，但参数不同；已按 .prj 中的参数处理。`,
      ),
    );
    break;
  }

  // A WKT we have no table entry for: let proj4 interpret it and use it as a custom CRS.
  try {
    // proj4 turns LOCAL_CS into an 'identity' projection: local grids cannot be placed on Earth
    const projName = (new proj4.Proj(wkt) as { projName?: string }).projName;
    if (!projName || projName === 'identity' || projName === 'geocent') throw new Error(`not a map projection (${projName})`);
    proj4(wkt, GEO_4490);
  } catch (e) {
    throw new IngestError(
      'prj_unsupported',
      `The coordinate system in the .prj ("${name}") could not be interpreted. Pass --srs EPSG:n.`,
      `无法解析 .prj 中的坐标系（“${name}”），请用 --srs EPSG:n 指定。`,
      { name, reason: e instanceof Error ? e.message : String(e) },
    );
  }
  // proj4 applies a WKT's TOWGS84 itself
  if (towgs84) warnings.push(towgs84Warning(towgs84));
  else if (/xian|beijing|krass|IAG[ _]?1975|6378140|6378245/i.test(wkt)) warnings.push(legacyWarning(`"${name}"`));
  return { source: `WKT:${name || 'custom'}`, how: 'prj', def: wkt, warnings };
}

// ---------------------------------------------------------------- GeoJSON crs member

const crsUnknown = (what: string, what_zh: string, details: Record<string, unknown>) =>
  new IngestError(
    'crs_unknown',
    `The coordinate system could not be determined (${what}). Pass --srs EPSG:n.`,
    `无法确定坐标系（${what_zh}），请用 --srs EPSG:n 指定坐标系。`,
    details,
  );

/** The (2008-era) GeoJSON `crs` member: {type:'name', properties:{name}} or {type:'EPSG', properties:{code}}. */
export function crsFromGeoJsonMember(member: unknown): ResolvedCrs {
  const props = (member as { properties?: Record<string, unknown> } | null)?.properties ?? {};
  const label = String(props.name ?? (props.code !== undefined ? `EPSG:${props.code}` : ''));
  const c = parseCrsName(label);
  if (c === 'CRS84') return { source: 'OGC:CRS84', how: 'geojson-crs', def: CRS84_DEF, warnings: [] };
  const r = c && fromCode(c, 'geojson-crs');
  if (!r) throw crsUnknown(`unsupported GeoJSON crs "${label.slice(0, 80)}"`, `不支持 GeoJSON crs 成员中的“${label.slice(0, 80)}”`, { crs: member });
  return r;
}

export const geojsonDefault = (): ResolvedCrs => ({ source: 'OGC:CRS84', how: 'geojson-default', def: CRS84_DEF, warnings: [] });

// ---------------------------------------------------------------- inference

/** The extent for error details, or null when there is no finite one. */
export const finiteBox = (b: BBox): number[] | null => (b.empty || b.nonFinite ? null : b.toArray());

/**
 * Nothing declared: guess only when the coordinates leave no doubt.
 * - 3° GK with zone prefix: every easting within one zone's 25..45 million band, at 200–800 km
 *   from the zone origin, northings 0–6000 km. (Web Mercator never exceeds 20 037 508 m, so the
 *   25–45 million band cannot be mistaken for it; 6° zones 13–23 could, and are not guessed.)
 * - lon/lat inside China (73–136°E, 3–54°N): CGCS2000 geographic.
 */
export function inferCrs(bbox: BBox): ResolvedCrs {
  const [x0, y0, x1, y1] = bbox.toArray();
  const zone = Math.floor(x0 / 1e6);
  if (!bbox.nonFinite && zone >= 25 && zone <= 45 && Math.floor(x1 / 1e6) === zone) {
    const e0 = x0 - zone * 1e6;
    const e1 = x1 - zone * 1e6;
    if (e0 >= 2e5 && e1 <= 8e5 && y0 >= 0 && y1 <= 6e6) {
      const code = 4513 + zone - 25;
      return fromCode(code, 'inferred-zone', [
        warning(
          'crs_inferred_zone',
          `No .prj: the eastings carry zone prefix ${zone}, so CGCS2000 3-degree GK zone ${zone} (EPSG:${code}) was assumed. Pass --srs if that is wrong (e.g. Xian 1980).`,
          `缺少 .prj：横坐标带号为 ${zone}，已按 CGCS2000 3度带第 ${zone} 带（EPSG:${code}）处理。如不正确（如西安80），请用 --srs 指定。`,
        ),
      ])!;
    }
  }
  if (!bbox.nonFinite && x0 >= 73 && x1 <= 136 && y0 >= 3 && y1 <= 54)
    return fromCode(4490, 'inferred-zone', [
      warning(
        'crs_assumed_geographic',
        'No .prj: the coordinates look like longitude/latitude in China, so CGCS2000 geographic (EPSG:4490) was assumed. Pass --srs if that is wrong.',
        '缺少 .prj：坐标看起来是中国范围内的经纬度，已按 CGCS2000 地理坐标（EPSG:4490）处理。如不正确，请用 --srs 指定。',
      ),
    ])!;
  throw crsUnknown('no .prj, and the coordinates do not identify it', '没有 .prj，且无法从坐标判断', { bbox: finiteBox(bbox) });
}

// ---------------------------------------------------------------- reprojection

/** Position mapper from the source CRS to EPSG:workSrid, or null when no reprojection is needed. */
export function transformer(crs: ResolvedCrs, workSrid: number): ((p: Position) => Position) | null {
  const target = workDef(workSrid);
  if (crs.epsg === workSrid) return null;
  const conv = proj4(crs.def, target);
  return (p) => conv.forward([p[0], p[1]]);
}

/**
 * A layer with no coordinates at all (0 records, or only null shapes) and nothing declared: the
 * CRS cannot matter, so it is reported as the working CRS with a warning instead of refusing.
 */
export function emptyLayerCrs(workSrid: number): ResolvedCrs {
  return {
    source: `EPSG:${workSrid}`,
    how: 'inferred-zone',
    def: workDef(workSrid),
    epsg: workSrid,
    warnings: [
      warning(
        'crs_unknown_empty',
        'The layer has no coordinates and declares no coordinate system; nothing to reproject.',
        '该图层没有坐标，也未声明坐标系；无需转换。',
      ),
    ],
  };
}
