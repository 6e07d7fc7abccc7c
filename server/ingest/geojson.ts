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
import { assertSaneNumbers, checkRange, crsFromGeoJsonMember, crsFromOption, geojsonDefault, inferCrs, transformer } from './crs';
import { BBox, clean2D, COORD_DEPTH, mapCoords, typeKey } from './geometry';
import { warning, type Warning } from './warn';

type Props = Record<string, string | number | boolean | null>;

export const geojsonInvalid = (reason: string, details?: Record<string, unknown>) =>
  new IngestError('geojson_invalid', `The GeoJSON is not valid: ${reason}.`, `GeoJSON 无效：${reason}。`, { reason, ...details });

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
function checkGeometry(g: unknown, where: string): void {
  if (!isObj(g)) throw geojsonInvalid(`${where}: geometry is not an object`);
  if (g.type === 'GeometryCollection') {
    if (!Array.isArray(g.geometries)) throw geojsonInvalid(`${where}: GeometryCollection without a geometries array`);
    g.geometries.forEach((x, i) => checkGeometry(x, `${where}.geometries[${i}]`));
    return;
  }
  const depth = COORD_DEPTH[g.type as string];
  if (depth === undefined) throw geojsonInvalid(`${where}: unknown geometry type "${String(g.type)}"`);
  const walk = (c: unknown, d: number): void => {
    if (!Array.isArray(c)) throw geojsonInvalid(`${where}: malformed ${g.type} coordinates`);
    if (d === 0) {
      if (c.length > 0 && (c.length < 2 || !c.every((v) => typeof v === 'number')))
        throw geojsonInvalid(`${where}: a position must hold at least two numbers`);
      return;
    }
    for (const x of c) walk(x, d - 1);
  };
  walk(g.coordinates, depth);
}

function toProps(p: unknown): Props {
  const out: Props = {};
  if (!isObj(p)) return out;
  for (const [k, v] of Object.entries(p))
    out[k] =
      v === null || v === undefined
        ? null
        : typeof v === 'object'
          ? JSON.stringify(v)
          : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
            ? v
            : String(v);
  return out;
}

export function readGeoJson(bytes: Uint8Array, name: string, opts: ReadOptions): Omit<ReadResult, 'availableLayers'> {
  const warnings: Warning[] = [];
  const { text, encoding } = decodeText(bytes, opts, warnings);
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw geojsonInvalid(`not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObj(root)) throw geojsonInvalid('the top level is not an object');

  let raw: { type?: unknown; geometry: unknown; properties: unknown }[];
  if (root.type === 'FeatureCollection') {
    if (!Array.isArray(root.features)) throw geojsonInvalid('FeatureCollection without a features array');
    raw = root.features as never;
  } else if (root.type === 'Feature') raw = [root as never];
  else if (typeof root.type === 'string' && (root.type in COORD_DEPTH || root.type === 'GeometryCollection'))
    raw = [{ geometry: root, properties: null }];
  else throw geojsonInvalid(`"type" is ${JSON.stringify(root.type)}, not a FeatureCollection, Feature or geometry`);

  const bbox = new BBox();
  const geoms: (Geometry | null)[] = [];
  const kinds = new Map<string, Set<string>>();
  raw.forEach((f, i) => {
    if (!isObj(f)) throw geojsonInvalid(`feature ${i} is not an object`);
    if (f.type !== undefined && f.type !== 'Feature') throw geojsonInvalid(`feature ${i} has type ${JSON.stringify(f.type)}, not "Feature"`);
    if (f.geometry !== null && f.geometry !== undefined) checkGeometry(f.geometry, `feature ${i}`);
    if (f.properties !== null && f.properties !== undefined && !isObj(f.properties))
      throw geojsonInvalid(`feature ${i}: properties is not an object`);
    geoms.push(clean2D(f.geometry as Geometry | null, bbox));
    if (isObj(f.properties))
      for (const [k, v] of Object.entries(f.properties)) {
        if (!kinds.has(k)) kinds.set(k, new Set());
        if (v !== null && v !== undefined) kinds.get(k)!.add(typeof v === 'object' ? 'string' : typeof v);
      }
  });

  assertSaneNumbers(bbox);
  const declared = root.crs !== undefined && root.crs !== null;
  const crs = opts.srs
    ? crsFromOption(opts.srs)
    : declared
      ? crsFromGeoJsonMember(root.crs)
      : bbox.empty || isLonLat(bbox)
        ? geojsonDefault()
        : inferCrs(bbox); // projected coordinates without a crs member: seen from real exports
  warnings.push(...crs.warnings);
  checkRange(bbox, crs);
  const reproject = transformer(crs, opts.workSrid);

  const geometryTypes: Record<string, number> = {};
  for (const g of geoms) geometryTypes[typeKey(g)] = (geometryTypes[typeKey(g)] ?? 0) + 1;
  const fieldNames = [...kinds.keys()];

  function* features(): Generator<ReadFeature> {
    for (let i = 0; i < raw.length; i++) {
      const g = geoms[i];
      // GeoJSON properties stay as each feature delivered them (a shapefile row has every field anyway)
      yield { geometry: g && reproject ? mapCoords(g, reproject) : g, properties: toProps(raw[i].properties) };
    }
  }

  return {
    sourceLayer: name,
    // 'string' | 'number' | 'boolean', or 'mixed' when features disagree
    fields: fieldNames.map((k) => {
      const s = kinds.get(k)!;
      return { name: k, type: s.size === 1 ? [...s][0] : s.size === 0 ? 'string' : 'mixed' };
    }),
    crs: { source: crs.source, how: crs.how, target: `EPSG:${opts.workSrid}` },
    encoding,
    count: raw.length,
    geometryTypes,
    features,
    warnings,
  };
}

const isLonLat = (b: BBox) => {
  const [x0, y0, x1, y1] = b.toArray();
  return x0 >= -180 && x1 <= 180 && y0 >= -90 && y1 <= 90;
};
