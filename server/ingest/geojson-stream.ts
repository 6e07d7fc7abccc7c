/**
 * A GeoJSON FeatureCollection read from its file one feature at a time (issue 11 item 6: peak memory must
 * not grow with the file; JSON.parse of a 500 MB file needs several GB). The file is scanned twice through
 * the same sliding window as the shapefile readers (bytes.ts): the first pass checks every feature and
 * collects what picks the CRS and the fields, the second hands the features to the import. Each feature's
 * bytes are cut out by a small scanner (depth, strings, escapes) and parsed on their own with JSON.parse.
 *
 * Only UTF-8 (with or without a BOM) is scanned this way: there the structural characters {}[]," and \
 * are single bytes that never occur inside a multi-byte character. In GBK they do ('\' and '{' are valid
 * trail bytes), so any other encoding — a non-UTF-8 feature found in the first pass, an --encoding option,
 * a UTF-16 BOM — and any top level that is not a FeatureCollection answer `undefined`, and the caller reads
 * the file whole as before (readGeoJson).
 */
import type { Geometry } from 'geojson';
import type { ByteSource } from './bytes';
import { utf8Check } from './encoding';
import { clean2D, BBox } from './geometry';
import { finishGeoJson, geojsonInvalid, inspectFeature, newCollected, type Collected } from './geojson';
import type { ReadOptions, ReadResult } from './types';

const CHUNK = 1 << 20;
const [LBRACE, RBRACE, LBRACKET, RBRACKET, QUOTE, BACKSLASH, COMMA, COLON] = [0x7b, 0x7d, 0x5b, 0x5d, 0x22, 0x5c, 0x2c, 0x3a];
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

class NotScannable extends Error {}

const truncated = () => geojsonInvalid('not JSON', '不是有效的 JSON', { error: 'Unexpected end of JSON input' });

/** Bytes [from, to) as UTF-8 text, or NotScannable when they are not UTF-8 (another encoding: read whole). */
function text(src: ByteSource, from: number, to: number): string {
  const { buf, at } = src.view(from, to - from);
  if (utf8Check(buf, at, at + (to - from)) === 0) throw new NotScannable();
  return buf.toString('utf8', at, at + (to - from));
}

function parse(src: ByteSource, from: number, to: number, featureIndex?: number): unknown {
  const t = text(src, from, to);
  try {
    return JSON.parse(t);
  } catch (e) {
    throw geojsonInvalid('not JSON', '不是有效的 JSON', {
      error: e instanceof Error ? e.message : String(e),
      ...(featureIndex === undefined ? {} : { feature: featureIndex }),
    });
  }
}

/**
 * One walk over the file: the top level's members other than `features` are parsed and returned; each
 * element of `features` is handed to onFeature as its byte range. Throws NotScannable when the top level
 * is not an object holding a `features` array.
 */
function scan(src: ByteSource, onFeature: (from: number, to: number, index: number) => void): Record<string, unknown> {
  const size = src.size;
  let pos = 0;
  let chunk: Buffer = Buffer.alloc(0);
  let chunkAt = 0;
  const byte = (p: number): number => {
    if (p < chunkAt || p >= chunkAt + chunk.length) {
      const { buf, at } = src.view(p, Math.min(CHUNK, size - p));
      chunk = buf.subarray(at, at + Math.min(CHUNK, size - p));
      chunkAt = p;
    }
    return chunk[p - chunkAt];
  };
  const skipSpace = () => {
    while (pos < size && isSpace(byte(pos))) pos++;
  };
  /** from pos at the start of any JSON value to just past its end */
  const skipValue = () => {
    let depth = 0;
    let inString = false;
    for (; pos < size; pos++) {
      const b = byte(pos);
      if (inString) {
        if (b === BACKSLASH) pos++;
        else if (b === QUOTE) {
          inString = false;
          if (depth === 0) { pos++; return; }
        }
        continue;
      }
      if (b === QUOTE) inString = true;
      else if (b === LBRACE || b === LBRACKET) depth++;
      else if (b === RBRACE || b === RBRACKET) {
        depth--;
        if (depth === 0) { pos++; return; }
        if (depth < 0) return; // the end of the enclosing container: a bare value ended just before it
      } else if (depth === 0 && (b === COMMA || isSpace(b))) return; // a number, true, false or null ended
    }
    if (depth > 0 || inString) throw truncated();
  };

  if (byte(0) === 0xef && byte(1) === 0xbb && byte(2) === 0xbf) pos = 3;
  skipSpace();
  if (pos >= size || byte(pos) !== LBRACE) throw new NotScannable();
  pos++;
  const top: Record<string, unknown> = {};
  let sawFeatures = false;
  for (;;) {
    skipSpace();
    if (pos >= size) throw truncated();
    if (byte(pos) === RBRACE) break;
    if (byte(pos) === COMMA) { pos++; continue; }
    if (byte(pos) !== QUOTE) throw new NotScannable(); // not JSON: the whole-file parser says where
    const keyFrom = pos;
    skipValue();
    const key = parse(src, keyFrom, pos) as string;
    skipSpace();
    if (pos >= size || byte(pos) !== COLON) throw new NotScannable();
    pos++;
    skipSpace();
    if (key === 'features' && byte(pos) === LBRACKET) {
      sawFeatures = true;
      pos++;
      let index = 0;
      for (;;) {
        skipSpace();
        if (pos >= size) throw truncated();
        const b = byte(pos);
        if (b === RBRACKET) { pos++; break; }
        if (b === COMMA) { pos++; continue; }
        const from = pos;
        skipValue();
        onFeature(from, pos, index++);
      }
    } else {
      const from = pos;
      skipValue();
      top[key] = parse(src, from, pos);
    }
  }
  if (!sawFeatures || top.type !== 'FeatureCollection') throw new NotScannable();
  return top;
}

/**
 * The features of a UTF-8 FeatureCollection, read from `src` without holding the file; undefined when the
 * file must be read whole instead (see the header). Errors are the whole-file reader's, feature by feature.
 */
export function readGeoJsonStream(src: ByteSource, name: string, opts: ReadOptions): Omit<ReadResult, 'availableLayers'> | undefined {
  if (opts.encoding !== undefined && !/^utf-?8$/i.test(opts.encoding)) return undefined;
  const b0 = src.size >= 2 ? src.view(0, 2) : undefined;
  if (b0 && ((b0.buf[b0.at] === 0xff && b0.buf[b0.at + 1] === 0xfe) || (b0.buf[b0.at] === 0xfe && b0.buf[b0.at + 1] === 0xff))) return undefined;
  const collected: Collected = newCollected();
  // where each feature lies, from the first pass (three numbers per feature: ~24 bytes, 500k features ≈
  // 12 MB), so the second pass parses the same slices without scanning again
  const offsets: number[] = [];
  try {
    const top = scan(src, (from, to, i) => {
      inspectFeature(parse(src, from, to, i), i, collected);
      offsets.push(from, to);
    });
    collected.crs = top.crs;
  } catch (e) {
    if (e instanceof NotScannable) return undefined;
    throw e;
  }
  const encoding = { used: 'utf-8', how: opts.encoding !== undefined ? 'option' : 'geojson' } as const;
  return finishGeoJson(name, opts, [], encoding, collected, function* () {
    for (let k = 0; k < offsets.length; k += 2) {
      // parsed again one at a time: nothing but the current feature is held
      const f = parse(src, offsets[k], offsets[k + 1], k / 2) as { geometry?: unknown; properties?: unknown };
      yield { geometry: clean2D((f.geometry ?? null) as Geometry | null, new BBox()), properties: f.properties };
    }
  });
}
