/**
 * GeoJSON input: a FeatureCollection, a single Feature, or a bare geometry. UTF-8 per RFC 7946
 * (a BOM is tolerated; non-UTF-8 bytes fall back to GB18030 with a warning, because Chinese tools
 * do write GBK JSON). Properties keep their JSON types; nested objects/arrays become JSON strings.
 */
import iconv from 'iconv-lite';
import type { Geometry } from 'geojson';
import { IngestError } from '../errors';
import type { EncodingInfo, ReadFeature, ReadOptions, ReadResult } from './types';
import { badEncoding, codecFor, normalizeEncodingLabel, utf8Check } from './encoding';
import { crsFromGeoJsonMember, crsFromOption, geojsonDefault, inferCrs, transformer, type ResolvedCrs } from './crs';
import { assertSaneNumbers, checkPlacement, compareWithDeclared } from './placement';
import { BBox, clean2D, COORD_DEPTH, mapCoords, typeKey } from './geometry';
import { acceptCount, acceptGeometryTypes } from './accept';
import { ControlChars } from './text';
import { warning, type Warning } from './warn';

type Props = Record<string, string | number | boolean | null>;

export const geojsonInvalid = (reason: string, reason_zh: string, details?: Record<string, unknown>) =>
  new IngestError('geojson_invalid', `The GeoJSON is not valid: ${reason}.`, `GeoJSON 无效：${reason_zh}。`, { reason, ...details });

/** Where in the file, in both languages: feature 3, feature 3.geometries[0] … */
interface Where {
  en: string;
  zh: string;
}
const featureAt = (i: number): Where => ({ en: `feature ${i}`, zh: `第 ${i} 个要素` });

function decodeText(bytes: Uint8Array, opts: ReadOptions, warnings: Warning[]): { text: string; encoding: EncodingInfo } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (opts.encoding !== undefined) {
    const enc = normalizeEncodingLabel(opts.encoding);
    if (!enc) throw badEncoding(opts.encoding);
    return { text: iconv.decode(b, codecFor(enc)).replace(/^\uFEFF/, ''), encoding: { used: enc, how: 'option' } };
  }
  if (b[0] === 0xff && b[1] === 0xfe) return { text: b.toString('utf16le', 2), encoding: { used: 'utf-16le', how: 'detected' } };
  if (b[0] === 0xfe && b[1] === 0xff) return { text: iconv.decode(b.subarray(2), 'utf-16be'), encoding: { used: 'utf-16be', how: 'detected' } };
  const start = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  if (utf8Check(b, start, b.length) !== 0) return { text: b.toString('utf8', start), encoding: { used: 'utf-8', how: 'geojson' } };
  warnings.push(
    warning(
      'encoding_geojson_not_utf8',
      'The GeoJSON is not UTF-8 as the standard requires; it was decoded as GBK/GB18030.',
      'GeoJSON 不是标准要求的 UTF-8 编码，已按 GBK/GB18030 解码。',
    ),
  );
  return { text: iconv.decode(b, 'gb18030'), encoding: { used: 'gbk', how: 'detected' } };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Structural check: known type, coordinates nested as deep as the type says, positions of numbers. */
function checkGeometry(g: unknown, where: Where): void {
  if (!isObj(g)) throw geojsonInvalid(`${where.en}: geometry is not an object`, `${where.zh}：geometry 不是对象`);
  if (g.type === 'GeometryCollection') {
    if (!Array.isArray(g.geometries))
      throw geojsonInvalid(`${where.en}: GeometryCollection without a geometries array`, `${where.zh}：GeometryCollection 缺少 geometries 数组`);
    g.geometries.forEach((x, i) => checkGeometry(x, { en: `${where.en}.geometries[${i}]`, zh: `${where.zh}.geometries[${i}]` }));
    return;
  }
  const depth = COORD_DEPTH[g.type as string];
  if (depth === undefined)
    throw geojsonInvalid(`${where.en}: unknown geometry type "${String(g.type)}"`, `${where.zh}：未知的几何类型“${String(g.type)}”`);
  const walk = (c: unknown, d: number): void => {
    if (!Array.isArray(c)) throw geojsonInvalid(`${where.en}: malformed ${g.type} coordinates`, `${where.zh}：${g.type} 的坐标结构错误`);
    if (d === 0) {
      if (c.length > 0 && (c.length < 2 || !c.every((v) => typeof v === 'number')))
        throw geojsonInvalid(`${where.en}: a position must hold at least two numbers`, `${where.zh}：每个坐标点至少需要两个数字`);
      return;
    }
    for (const x of c) walk(x, d - 1);
  };
  walk(g.coordinates, depth);
}

/** Properties as stored; text (keys, strings, nested JSON) without the control characters of text.ts. */
function toProps(p: unknown, control: ControlChars): Props {
  const out: Props = {};
  if (!isObj(p)) return out;
  for (const [rawKey, v] of Object.entries(p)) {
    const k = control.cleanName(rawKey);
    out[k] =
      v === null || v === undefined
        ? null
        : typeof v === 'object'
          ? control.clean(k, JSON.stringify(v))
          : typeof v === 'string'
            ? control.clean(k, v)
            : typeof v === 'number' || typeof v === 'boolean'
              ? v
              : String(v);
  }
  return out;
}

/** What the first look at every feature gathers: enough to accept the layer and pick its CRS. */
export interface Collected {
  count: number;
  bbox: BBox;
  kinds: Map<string, Set<string>>;
  geometryTypes: Record<string, number>;
  /** the top level's `crs` member, if any */
  crs: unknown;
}

export interface RawFeature {
  geometry: unknown;
  properties: unknown;
}

export function newCollected(): Collected {
  return { count: 0, bbox: new BBox(), kinds: new Map(), geometryTypes: {}, crs: undefined };
}

/** Checks one feature as delivered and adds it to what is collected; returns its 2D geometry. */
export function inspectFeature(f: unknown, i: number, c: Collected): Geometry | null {
  const at = featureAt(i);
  if (!isObj(f)) throw geojsonInvalid(`${at.en} is not an object`, `${at.zh}不是对象`);
  if (f.type !== undefined && f.type !== 'Feature')
    throw geojsonInvalid(`${at.en} has type ${JSON.stringify(f.type)}, not "Feature"`, `${at.zh}的类型为 ${JSON.stringify(f.type)}，不是“Feature”`);
  if (f.geometry !== null && f.geometry !== undefined) checkGeometry(f.geometry, at);
  if (f.properties !== null && f.properties !== undefined && !isObj(f.properties))
    throw geojsonInvalid(`${at.en}: properties is not an object`, `${at.zh}：properties 不是对象`);
  const g = clean2D(f.geometry as Geometry | null, c.bbox);
  c.count++;
  c.geometryTypes[typeKey(g)] = (c.geometryTypes[typeKey(g)] ?? 0) + 1;
  if (isObj(f.properties))
    for (const [k, v] of Object.entries(f.properties)) {
      if (!c.kinds.has(k)) c.kinds.set(k, new Set());
      if (v !== null && v !== undefined) c.kinds.get(k)!.add(typeof v === 'object' ? 'string' : typeof v);
    }
  return g;
}

export function readGeoJson(bytes: Uint8Array, name: string, opts: ReadOptions): Omit<ReadResult, 'availableLayers'> {
  const warnings: Warning[] = [];
  const { text, encoding } = decodeText(bytes, opts, warnings);
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw geojsonInvalid('not JSON', '不是有效的 JSON', { error: e instanceof Error ? e.message : String(e) });
  }
  if (!isObj(root)) throw geojsonInvalid('the top level is not an object', '顶层不是对象');

  let raw: RawFeature[];
  if (root.type === 'FeatureCollection') {
    if (!Array.isArray(root.features)) throw geojsonInvalid('FeatureCollection without a features array', 'FeatureCollection 缺少 features 数组');
    raw = root.features as never;
  } else if (root.type === 'Feature') raw = [root as never];
  else if (typeof root.type === 'string' && (root.type in COORD_DEPTH || root.type === 'GeometryCollection'))
    raw = [{ geometry: root, properties: null }];
  else
    throw geojsonInvalid(
      `"type" is ${JSON.stringify(root.type)}, not a FeatureCollection, Feature or geometry`,
      `“type”为 ${JSON.stringify(root.type)}，不是 FeatureCollection、Feature 或几何对象`,
    );

  const collected = newCollected();
  collected.crs = root.crs;
  const geoms = raw.map((f, i) => inspectFeature(f, i, collected));
  return finishGeoJson(name, opts, warnings, encoding, collected, function* () {
    for (let i = 0; i < raw.length; i++) yield { geometry: geoms[i], properties: raw[i].properties };
  });
}

/**
 * The rest of a GeoJSON read, the same whether the features were parsed whole (readGeoJson) or one at a
 * time from the file (geojson-stream.ts): accept the geometry, pick and check the CRS, then hand out the
 * features reprojected, through `each` (called once, when the import walks the features).
 */
export function finishGeoJson(
  name: string,
  opts: ReadOptions,
  warnings: Warning[],
  encoding: EncodingInfo,
  c: Collected,
  each: () => Iterable<{ geometry: Geometry | null; properties: unknown }>,
): Omit<ReadResult, 'availableLayers'> {
  // geometry first (accept.ts): a wrong type or an empty layer is the reason, before encoding or CRS
  const geometryTypes = c.geometryTypes;
  acceptGeometryTypes(geometryTypes, opts.accept);
  acceptCount(c.count, c.count - (geometryTypes.null ?? 0), opts.accept, name);

  const bbox = c.bbox;
  assertSaneNumbers(bbox);
  const declared = c.crs !== undefined && c.crs !== null;
  let crs: ResolvedCrs;
  if (opts.srs) {
    crs = crsFromOption(opts.srs);
    if (declared) {
      let member: ResolvedCrs | undefined;
      try {
        member = crsFromGeoJsonMember(c.crs);
      } catch {
        /* an unreadable crs member is what --srs is for */
      }
      const w = member && compareWithDeclared(crs, member, bbox, 'the GeoJSON crs member', ' GeoJSON 的 crs 成员');
      if (w) warnings.push(w);
    }
  } else
    crs = declared
      ? crsFromGeoJsonMember(c.crs)
      : bbox.empty || isLonLat(bbox)
        ? geojsonDefault()
        : inferCrs(bbox); // projected coordinates without a crs member: seen from real exports
  warnings.push(...crs.warnings);
  warnings.push(...checkPlacement(bbox, crs, opts.workSrid));
  const reproject = transformer(crs, opts.workSrid);
  const control = new ControlChars();
  // keys are cleaned like values (toProps): a field name with a NUL is one the database cannot store
  const fieldKinds = new Map<string, Set<string>>();
  for (const [k, set] of c.kinds) {
    const ck = new ControlChars().clean('', k);
    fieldKinds.set(ck, new Set([...(fieldKinds.get(ck) ?? []), ...set]));
  }

  function* features(): Generator<ReadFeature> {
    for (const f of each()) {
      const g = f.geometry;
      // GeoJSON properties stay as each feature delivered them (a shapefile row has every field anyway)
      yield { geometry: g && reproject ? mapCoords(g, reproject) : g, properties: toProps(f.properties, control) };
    }
    for (const w of control.warnings()) if (!warnings.some((x) => x.code === w.code)) warnings.push(w);
  }

  return {
    sourceLayer: name,
    // 'string' | 'number' | 'boolean', or 'mixed' when features disagree
    fields: [...fieldKinds].map(([k, st]) => ({ name: k, type: st.size === 1 ? [...st][0] : st.size === 0 ? 'string' : 'mixed' })),
    crs: { source: crs.source, how: crs.how, target: `EPSG:${opts.workSrid}` },
    encoding,
    count: c.count,
    geometryTypes,
    features,
    warnings,
  };
}

const isLonLat = (b: BBox) => {
  const [x0, y0, x1, y1] = b.toArray();
  return x0 >= -180 && x1 <= 180 && y0 >= -90 && y1 <= 90;
};
