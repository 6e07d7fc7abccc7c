/**
 * Geometry helpers for the sample generator: the town's curvilinear frame (local u/v metres → GK
 * eastings/northings), building footprints, and tracing the outline of a set of grid cells.
 */
import type { Position } from 'geojson';
import type { Rng } from './prng';

export type XY = [number, number];

export interface FrameParams {
  /** GK easting / northing of the local origin (the town centre, on the avenue) */
  ox: number;
  oy: number;
  /** rotation of the local u axis from east, radians (counter-clockwise) */
  theta: number;
  /** the avenue bends sideways by up to `amp` metres … */
  amp: number;
  /** … with this wavelength along u */
  wavelength: number;
  phase: number;
  /** the bend fades out to 0 at |v| = taper, so the frame's edges |v| = taper are straight */
  taper: number;
}

/**
 * Local frame: u along the avenue, v across it (v = 0 is the avenue centreline). The map
 * (u, v) → (u, v + amp·sin(2πu/λ + φ)·w(v)) with w(v) = ½(1 + cos(πv/taper)) keeps a positive
 * Jacobian while amp·π/(2·taper) < 1, so a tiling in (u, v) stays a tiling in the world.
 */
export class Frame {
  private readonly c: number;
  private readonly s: number;
  constructor(readonly p: FrameParams) {
    this.c = Math.cos(p.theta);
    this.s = Math.sin(p.theta);
    if ((p.amp * Math.PI) / (2 * p.taper) >= 0.5) throw new Error('frame bend too strong for its taper');
  }

  /** sideways offset of the line v at u */
  bend(u: number, v: number): number {
    const { amp, wavelength, phase, taper } = this.p;
    if (amp === 0 || Math.abs(v) >= taper) return 0;
    const w = 0.5 * (1 + Math.cos((Math.PI * v) / taper));
    return amp * Math.sin((2 * Math.PI * u) / wavelength + phase) * w;
  }

  toWorld(u: number, v: number): XY {
    const b = v + this.bend(u, v);
    const x = this.p.ox + u * this.c - b * this.s;
    const y = this.p.oy + u * this.s + b * this.c;
    return [round4(x), round4(y)];
  }

  ring(uv: readonly XY[]): Position[] {
    const out: Position[] = uv.map(([u, v]) => this.toWorld(u, v));
    out.push(out[0]);
    return out;
  }
}

/** ArcGIS's default XY resolution is 0.0001 m; round to it so shared vertices print the same. */
export const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** Signed area, > 0 counter-clockwise (closed or open ring). */
export function signedArea(ring: readonly (readonly number[])[]): number {
  const n = ring.length;
  if (n < 3) return 0;
  const x0 = ring[0][0];
  const y0 = ring[0][1];
  let s = 0;
  for (let i = 1; i < n - 1; i++) {
    s += (ring[i][0] - x0) * (ring[i + 1][1] - y0) - (ring[i + 1][0] - x0) * (ring[i][1] - y0);
  }
  return s / 2;
}

/** Area of a polygon (outer minus holes, any orientation). */
export function polygonArea(rings: readonly (readonly (readonly number[])[])[]): number {
  let a = 0;
  rings.forEach((r, i) => (a += (i === 0 ? 1 : -1) * Math.abs(signedArea(r))));
  return a;
}

function rotate(pts: XY[], cx: number, cy: number, angle: number): XY[] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return pts.map(([x, y]) => [cx + x * c - y * s, cy + x * s + y * c]);
}

/** Rectangle w × h centred on (cx, cy), rotated; counter-clockwise, open. */
export function rectangle(cx: number, cy: number, w: number, h: number, angle: number): XY[] {
  const a = w / 2;
  const b = h / 2;
  return rotate(
    [
      [-a, -b],
      [a, -b],
      [a, b],
      [-a, b],
    ],
    cx,
    cy,
    angle,
  );
}

/** L-shape: w × h rectangle with a cw × ch notch cut from one corner; counter-clockwise, open. */
export function lShape(cx: number, cy: number, w: number, h: number, cw: number, ch: number, angle: number): XY[] {
  const a = w / 2;
  const b = h / 2;
  return rotate(
    [
      [-a, -b],
      [a, -b],
      [a, b - ch],
      [a - cw, b - ch],
      [a - cw, b],
      [-a, b],
    ],
    cx,
    cy,
    angle,
  );
}

/** Irregular blob (earth fill, hardened ground): n vertices around a circle of radius r. */
export function blob(cx: number, cy: number, r: number, n: number, rng: Rng): XY[] {
  const pts: XY[] = [];
  const start = rng.range(0, Math.PI * 2);
  for (let k = 0; k < n; k++) {
    const t = start + (k / n) * Math.PI * 2 + rng.range(-0.15, 0.15);
    const rr = r * rng.range(0.72, 1.25);
    pts.push([cx + rr * Math.cos(t), cy + rr * Math.sin(t)]);
  }
  return pts;
}

/**
 * Self-intersecting ring from a quadrilateral (a common digitising error): the last corner is
 * replaced by two points on its adjacent edges in the wrong order, so two edges cross near that
 * corner and a small twisted lobe appears. Most of the area stays where it was.
 */
export function bowTie(q: XY[]): XY[] {
  const [p0, p1, p2, p3] = q;
  const t = 0.2;
  const a: XY = [p3[0] + t * (p0[0] - p3[0]), p3[1] + t * (p0[1] - p3[1])];
  const b: XY = [p3[0] + t * (p2[0] - p3[0]), p3[1] + t * (p2[1] - p3[1])];
  return [p0, p1, p2, a, b];
}

/**
 * Outline of a set of cells of a grid `nc` cells wide, as rings of vertex ids (vid = j·(nc+1) + i).
 * Outer rings counter-clockwise, holes clockwise (in index space, j up). Where a region touches
 * itself at a corner the rings are split there (so every ring is simple).
 * Returns polygons: [outer, ...holes][].
 */
export function traceCells(cells: Iterable<number>, nc: number): number[][][] {
  const set = cells instanceof Set ? (cells as Set<number>) : new Set(cells);
  const nv = nc + 1;
  // outgoing boundary edges per vertex: packed (to << 2 | dir); dir 0 E, 1 N, 2 W, 3 S
  const out = new Map<number, number[]>();
  const addEdge = (from: number, to: number, dir: number) => {
    let l = out.get(from);
    if (!l) out.set(from, (l = []));
    l.push(to * 4 + dir);
  };
  for (const c of set) {
    const i = c % nc;
    const j = (c - i) / nc;
    const v00 = j * nv + i;
    const v10 = v00 + 1;
    const v01 = v00 + nv;
    const v11 = v01 + 1;
    if (j === 0 || !set.has(c - nc)) addEdge(v00, v10, 0);
    if (i === nc - 1 || !set.has(c + 1)) addEdge(v10, v11, 1);
    if (!set.has(c + nc)) addEdge(v11, v01, 2);
    if (i === 0 || !set.has(c - 1)) addEdge(v01, v00, 3);
  }
  const rings: number[][] = [];
  /** take the outgoing edge at `from` that turns most to the left of `inDir` (left, straight, right) */
  const take = (from: number, inDir: number): number => {
    const l = out.get(from)!;
    let best = 0;
    if (l.length > 1) {
      let bestRank = 9;
      l.forEach((e, k) => {
        const t = ((e & 3) - inDir + 4) % 4;
        const r = t === 1 ? 0 : t === 0 ? 1 : 2;
        if (r < bestRank) {
          bestRank = r;
          best = k;
        }
      });
    }
    const e = l[best];
    l.splice(best, 1);
    if (l.length === 0) out.delete(from);
    return e;
  };
  while (out.size > 0) {
    const start = out.keys().next().value as number;
    const ring: number[] = [];
    let v = start;
    let inDir = out.get(start)![0] & 3; // first edge: any
    do {
      ring.push(v);
      const e = take(v, inDir);
      v = e >> 2;
      inDir = e & 3;
    } while (v !== start);
    rings.push(ring);
  }
  // classify: outer (ccw) / hole (cw), then give each hole to the smallest outer containing it
  const xy = (vid: number): XY => [vid % nv, Math.floor(vid / nv)];
  const outers: { ring: number[]; area: number; pts: XY[] }[] = [];
  const holes: { ring: number[]; pts: XY[] }[] = [];
  for (const r of rings) {
    const pts = r.map(xy);
    const a = signedArea(pts);
    if (a > 0) outers.push({ ring: r, area: a, pts });
    else holes.push({ ring: r, pts });
  }
  const polys = outers.map((o) => [o.ring]);
  for (const h of holes) {
    // a point just inside the hole: midpoint of its first edge, nudged to its (clockwise) right = inside the hole
    const [ax, ay] = h.pts[0];
    const [bx, by] = h.pts[1];
    const px = (ax + bx) / 2 + (by - ay) * 0.25;
    const py = (ay + by) / 2 - (bx - ax) * 0.25;
    let bestK = -1;
    let bestA = Infinity;
    outers.forEach((o, k) => {
      if (o.area < bestA && pointInRing(px, py, o.pts)) {
        bestA = o.area;
        bestK = k;
      }
    });
    if (bestK >= 0) polys[bestK].push(h.ring);
  }
  return polys;
}

export function pointInRing(x: number, y: number, ring: readonly (readonly number[])[]): boolean {
  let inside = false;
  const n = ring.length;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = ring[i][0];
    const yi = ring[i][1];
    const xj = ring[j][0];
    const yj = ring[j][1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
