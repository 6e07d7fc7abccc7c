/**
 * Geometry helpers shared by the shapefile and GeoJSON readers: 2D-only clean copies, emptiness,
 * bounding boxes and coordinate mapping for reprojection.
 */
import type { Geometry, Position } from 'geojson';

/** [minX, minY, maxX, maxY]; also tracks whether any coordinate was not a finite number. */
export class BBox {
  minX = Infinity;
  minY = Infinity;
  maxX = -Infinity;
  maxY = -Infinity;
  nonFinite = false;
  add(x: number, y: number) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      this.nonFinite = true;
      return;
    }
    if (x < this.minX) this.minX = x;
    if (x > this.maxX) this.maxX = x;
    if (y < this.minY) this.minY = y;
    if (y > this.maxY) this.maxY = y;
  }
  get empty() {
    return this.minX > this.maxX && !this.nonFinite;
  }
  toArray(): [number, number, number, number] {
    return [this.minX, this.minY, this.maxX, this.maxY];
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
 * A clean 2D geometry object {type, coordinates} (no bbox, no Z/M, no empty parts), or null when
 * the input is null or empty. Mutates position arrays of `g` in place: callers own their parse.
 */
export function clean2D(g: Geometry | null | undefined, bbox: BBox): Geometry | null {
  if (!g) return null;
  if (g.type === 'GeometryCollection') {
    const geometries = g.geometries.map((x) => clean2D(x, bbox)).filter((x): x is Geometry => x !== null);
    return geometries.length ? { type: 'GeometryCollection', geometries } : null;
  }
  const coords = clean(g.coordinates as Coords, COORD_DEPTH[g.type], bbox);
  return coords === null ? null : ({ type: g.type, coordinates: coords } as Geometry);
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
