/**
 * Geometry helpers shared by the shapefile and GeoJSON readers: 2D-only clean copies, emptiness,
 * bounding boxes and coordinate mapping for reprojection.
 */
import type { Geometry, Position } from 'geojson';

/** Most vertices kept in BBox's strided sample (the CRS check transforms these plus the extremes). */
export const SAMPLE_MAX = 1024;

/**
 * [minX, minY, maxX, maxY]; also tracks whether any coordinate was not a finite number, and keeps a
 * bounded sample of real vertices for the CRS plausibility check (crs.ts checkPlacement): the vertices
 * that reach the extremes of x, y, x+y and x−y, plus every k-th vertex (k doubles whenever the sample
 * fills up, so it stays evenly spread over the file and never holds more than SAMPLE_MAX). Checking
 * vertices rather than the corners of the box matters for conic projections: the corners of a box
 * drawn in Albers/Lambert metres can lie far from any vertex.
 */
export class BBox {
  minX = Infinity;
  minY = Infinity;
  maxX = -Infinity;
  maxY = -Infinity;
  nonFinite = false;
  private minS = Infinity;
  private maxS = -Infinity;
  private minD = Infinity;
  private maxD = -Infinity;
  /** x,y of the vertex reaching minX, maxX, minY, maxY, min x+y, max x+y, min x−y, max x−y */
  private readonly ext = new Array<number>(16).fill(NaN);
  private seen = 0;
  private stride = 1;
  private strided: number[] = [];
  add(x: number, y: number) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      this.nonFinite = true;
      return;
    }
    const e = this.ext;
    if (x < this.minX) (this.minX = x), (e[0] = x), (e[1] = y);
    if (x > this.maxX) (this.maxX = x), (e[2] = x), (e[3] = y);
    if (y < this.minY) (this.minY = y), (e[4] = x), (e[5] = y);
    if (y > this.maxY) (this.maxY = y), (e[6] = x), (e[7] = y);
    const s = x + y;
    const d = x - y;
    if (s < this.minS) (this.minS = s), (e[8] = x), (e[9] = y);
    if (s > this.maxS) (this.maxS = s), (e[10] = x), (e[11] = y);
    if (d < this.minD) (this.minD = d), (e[12] = x), (e[13] = y);
    if (d > this.maxD) (this.maxD = d), (e[14] = x), (e[15] = y);
    if (this.seen++ % this.stride === 0) {
      this.strided.push(x, y);
      if (this.strided.length >= 2 * SAMPLE_MAX) {
        // keep every other sampled vertex: those at multiples of the doubled stride
        const kept: number[] = [];
        for (let i = 0; i < this.strided.length; i += 4) kept.push(this.strided[i], this.strided[i + 1]);
        this.strided = kept;
        this.stride *= 2;
      }
    }
  }
  get empty() {
    return this.minX > this.maxX && !this.nonFinite;
  }
  toArray(): [number, number, number, number] {
    return [this.minX, this.minY, this.maxX, this.maxY];
  }
  /** Real vertices of the layer: the extremes first, then the strided sample (empty when no vertex). */
  sample(): [number, number][] {
    const out: [number, number][] = [];
    if (this.minX > this.maxX) return out;
    for (let i = 0; i < 16; i += 2) out.push([this.ext[i], this.ext[i + 1]]);
    for (let i = 0; i < this.strided.length; i += 2) out.push([this.strided[i], this.strided[i + 1]]);
    return out;
  }
}

type Coords = Position | Coords[];

/** Nesting depth of positions per geometry type (Point's coordinates is a position). */
export const COORD_DEPTH: Record<string, number> = {
  Point: 0,
  MultiPoint: 1,
  LineString: 1,
  MultiLineString: 2,
  Polygon: 2,
  MultiPolygon: 3,
};

/**
 * Drops Z/M (positions cut to [x, y]) in place, drops empty parts, and feeds the bbox.
 * Returns the cleaned coordinates or null when nothing is left.
 */
function clean(c: Coords, depth: number, bbox: BBox): Coords | null {
  if (depth === 0) {
    const p = c as number[];
    if (p.length < 2) return null;
    if (p.length > 2) p.length = 2;
    bbox.add(p[0], p[1]);
    return p;
  }
  // Arrays are reused as they are; a copy is made only when an empty child has to go.
  const arr = c as Coords[];
  let out: Coords[] | null = null;
  for (let i = 0; i < arr.length; i++) {
    const k = clean(arr[i], depth - 1, bbox);
    if (k === null) out ??= arr.slice(0, i);
    else if (out) out.push(k);
  }
  const res = out ?? arr;
  return res.length ? res : null;
}

/**
 * A ring closed (last position = first, as GeoJSON and shapefiles require), or null when it cannot
 * enclose an area (fewer than 4 positions once closed). PostGIS loads open or too-short rings without
 * complaint, but GEOS throws on them in ST_IsValid/ST_MakeValid — on PGlite that exception silently
 * cuts the statement short, so every later record of the import was lost. They never reach the database.
 */
function closeRing(r: Position[]): Position[] | null {
  if (!r.length) return null;
  const a = r[0];
  const z = r[r.length - 1];
  const ring = a[0] === z[0] && a[1] === z[1] ? r : [...r, [a[0], a[1]]];
  return ring.length >= 4 ? ring : null;
}

/** A polygon's rings closed; null when its shell cannot hold an area (its holes go with it). */
function polygonRings(rings: Position[][]): Position[][] | null {
  const shell = closeRing(rings[0]);
  if (!shell) return null;
  const out = [shell];
  for (let i = 1; i < rings.length; i++) {
    const h = closeRing(rings[i]);
    if (h) out.push(h);
  }
  return out;
}

/**
 * A clean 2D geometry object {type, coordinates} (no bbox, no Z/M, no empty parts, polygon rings
 * closed, rings that cannot hold an area dropped), or null when the input is null or empty. Mutates
 * position arrays of `g` in place: callers own their parse.
 */
export function clean2D(g: Geometry | null | undefined, bbox: BBox): Geometry | null {
  if (!g) return null;
  if (g.type === 'GeometryCollection') {
    const geometries = g.geometries.map((x) => clean2D(x, bbox)).filter((x): x is Geometry => x !== null);
    return geometries.length ? { type: 'GeometryCollection', geometries } : null;
  }
  const coords = clean(g.coordinates as Coords, COORD_DEPTH[g.type], bbox);
  if (coords === null) return null;
  if (g.type === 'Polygon') {
    const rings = polygonRings(coords as Position[][]);
    return rings ? { type: 'Polygon', coordinates: rings } : null;
  }
  if (g.type === 'MultiPolygon') {
    const polys = (coords as Position[][][]).map(polygonRings).filter((p): p is Position[][] => p !== null);
    return polys.length ? { type: 'MultiPolygon', coordinates: polys } : null;
  }
  return { type: g.type, coordinates: coords } as Geometry;
}

export const typeKey = (g: Geometry | null) => (g ? g.type : 'null');

function mapC(c: Coords, depth: number, fn: (p: Position) => Position): Coords {
  return depth === 0 ? fn(c as Position) : (c as Coords[]).map((x) => mapC(x, depth - 1, fn));
}

/** New geometry with every position passed through fn (reprojection). */
export function mapCoords(g: Geometry, fn: (p: Position) => Position): Geometry {
  if (g.type === 'GeometryCollection') return { type: 'GeometryCollection', geometries: g.geometries.map((x) => mapCoords(x, fn)) };
  return { type: g.type, coordinates: mapC(g.coordinates as Coords, COORD_DEPTH[g.type], fn) } as Geometry;
}
