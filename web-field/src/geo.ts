/**
 * Where the polygon is relative to the phone, and links that open the phone's map app. Pure functions
 * (test/unit/field-geo.test.ts runs them in node).
 *
 * Our data is CGCS2000, which agrees with WGS84 (what the phone's GPS gives) to centimetres. Chinese map
 * apps use GCJ-02 (Amap) or BD-09 (Baidu), shifted by a few hundred metres: gcoord converts.
 */
import distance from '@turf/distance';
import bearing from '@turf/bearing';
import booleanPointInPolygon from '@turf/boolean-point-in-polygon';
import gcoord from 'gcoord';
import type { MultiPolygon, Polygon, Position } from 'geojson';

export type LonLat = [number, number];
export type Area = Polygon | MultiPolygon;

const R = 6_371_008.8;
const rad = Math.PI / 180;

const polygonsOf = (g: Area): Position[][][] => (g.type === 'Polygon' ? [g.coordinates] : g.coordinates);

/** The point of the polygon's boundary nearest to p (planar in a local equirectangular frame: exact enough within tens of km). */
export function nearestOnBoundary(p: LonLat, g: Area): LonLat {
  const k = Math.cos(p[1] * rad);
  const fx = (lon: number) => (lon - p[0]) * k;
  const fy = (lat: number) => lat - p[1];
  let best: LonLat = p;
  let bestD = Infinity;
  for (const poly of polygonsOf(g)) {
    for (const ring of poly) {
      for (let i = 0; i + 1 < ring.length; i++) {
        const ax = fx(ring[i][0]);
        const ay = fy(ring[i][1]);
        const bx = fx(ring[i + 1][0]);
        const by = fy(ring[i + 1][1]);
        const dx = bx - ax;
        const dy = by - ay;
        const len = dx * dx + dy * dy;
        const u = len > 0 ? Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len)) : 0;
        const x = ax + u * dx;
        const y = ay + u * dy;
        const d = x * x + y * y;
        if (d < bestD) {
          bestD = d;
          best = [p[0] + x / k, p[1] + y];
        }
      }
    }
  }
  return best;
}

export function inside(p: LonLat, g: Area): boolean {
  return booleanPointInPolygon(p, g);
}

export interface Relation {
  inside: boolean;
  /** metres to the nearest point of the polygon (0 inside) */
  distance: number;
  /** degrees clockwise from north, 0..360, toward that point (null inside) */
  bearing: number | null;
  nearest: LonLat;
}

export function relate(p: LonLat, g: Area): Relation {
  if (inside(p, g)) return { inside: true, distance: 0, bearing: null, nearest: p };
  const n = nearestOnBoundary(p, g);
  const d = distance(p, n, { units: 'meters' });
  const b = (bearing(p, n) + 360) % 360;
  return { inside: false, distance: d, bearing: b, nearest: n };
}

/** Great-circle metres between two points. */
export const metresBetween = (a: LonLat, b: LonLat) => distance(a, b, { units: 'meters' });

export const COMPASS = ['N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW'] as const;
export type Compass = (typeof COMPASS)[number];
export const compass = (deg: number): Compass => COMPASS[Math.round((((deg % 360) + 360) % 360) / 45) % 8];

/** WGS84 → GCJ-02 (Amap, Tencent) */
export const toGcj02 = (p: LonLat): LonLat => gcoord.transform(p, gcoord.WGS84, gcoord.GCJ02) as LonLat;
/** WGS84 → BD-09 (Baidu) */
export const toBd09 = (p: LonLat): LonLat => gcoord.transform(p, gcoord.WGS84, gcoord.BD09) as LonLat;
export const fromGcj02 = (p: LonLat): LonLat => gcoord.transform(p, gcoord.GCJ02, gcoord.WGS84) as LonLat;
export const fromBd09 = (p: LonLat): LonLat => gcoord.transform(p, gcoord.BD09, gcoord.WGS84) as LonLat;

const fix = (n: number) => n.toFixed(6);

/** Links that open the phone's map app at the target (a point inside the polygon), each in its own datum. */
export function navLinks(target: LonLat, name: string) {
  const [glon, glat] = toGcj02(target);
  const [blon, blat] = toBd09(target);
  const n = encodeURIComponent(name);
  return {
    /** RFC 5870 geo: URI (WGS84): Android offers the installed map apps */
    geo: `geo:${fix(target[1])},${fix(target[0])}?q=${fix(target[1])},${fix(target[0])}(${n})`,
    amap: `https://uri.amap.com/marker?position=${fix(glon)},${fix(glat)}&name=${n}&coordinate=gaode&callnative=1`,
    baidu: `https://api.map.baidu.com/marker?location=${fix(blat)},${fix(blon)}&title=${n}&content=${n}&output=html&coord_type=bd09ll&src=webapp.tuban.field`,
  };
}

/** Bounding box [minLon, minLat, maxLon, maxLat] of some geometries and points. */
export function bboxOf(gs: Area[], pts: LonLat[] = []): [number, number, number, number] {
  let a = Infinity;
  let b = Infinity;
  let c = -Infinity;
  let d = -Infinity;
  const add = (x: number, y: number) => {
    if (x < a) a = x;
    if (y < b) b = y;
    if (x > c) c = x;
    if (y > d) d = y;
  };
  for (const g of gs) for (const poly of polygonsOf(g)) for (const p of poly[0]) add(p[0], p[1]);
  for (const p of pts) add(p[0], p[1]);
  return [a, b, c, d];
}

/** metres → degrees of latitude, for an accuracy circle */
export const metresToLat = (m: number) => m / (R * rad);

export { polygonsOf };
