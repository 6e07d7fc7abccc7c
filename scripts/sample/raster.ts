/**
 * A small RGB raster in map coordinates for the synthetic imagery: polygon scanline fill with a
 * per-pixel shader, lines, discs, and a tileable noise texture. Pixel (0, 0) is the north-west corner.
 */
import type { Position } from 'geojson';
import type { Rng } from './prng';

/** writes the colour of one pixel: `o` is the byte offset of its red sample, (px, py) its column and row */
export type Shader = (o: number, px: number, py: number) => void;

export class Raster {
  /** clamped, so shaders can add noise without checking the range */
  readonly rgb: Uint8ClampedArray;
  constructor(
    readonly width: number,
    readonly height: number,
    /** map coordinates of the north-west corner */
    readonly x0: number,
    readonly y0: number,
    readonly res: number,
  ) {
    this.rgb = new Uint8ClampedArray(width * height * 3);
  }

  px(x: number): number {
    return (x - this.x0) / this.res;
  }
  py(y: number): number {
    return (this.y0 - y) / this.res;
  }

  /**
   * Fill the pixels whose centres lie inside the rings (even-odd, so holes and bow-ties come out as
   * delivered), shifted by (dx, dy) pixels.
   */
  fill(rings: readonly (readonly Position[])[], shade: Shader, dx = 0, dy = 0): void {
    let n = 0;
    for (const r of rings) n += Math.max(0, r.length - 1);
    if (!n) return;
    const ex = new Float64Array(n * 4);
    let k = 0;
    let minY = Infinity;
    let maxY = -Infinity;
    for (const r of rings)
      for (let i = 0; i + 1 < r.length; i++) {
        const ax = this.px(r[i][0]) + dx;
        const ay = this.py(r[i][1]) + dy;
        const bx = this.px(r[i + 1][0]) + dx;
        const by = this.py(r[i + 1][1]) + dy;
        ex[k++] = ax;
        ex[k++] = ay;
        ex[k++] = bx;
        ex[k++] = by;
        if (ay < minY) minY = ay;
        if (ay > maxY) maxY = ay;
      }
    const r0 = Math.max(0, Math.ceil(minY - 0.5));
    const r1 = Math.min(this.height - 1, Math.floor(maxY - 0.5));
    const xs: number[] = [];
    for (let row = r0; row <= r1; row++) {
      const yc = row + 0.5;
      xs.length = 0;
      for (let e = 0; e < ex.length; e += 4) {
        const ay = ex[e + 1];
        const by = ex[e + 3];
        if (ay <= yc !== by <= yc) xs.push(ex[e] + ((yc - ay) * (ex[e + 2] - ex[e])) / (by - ay));
      }
      if (xs.length < 2) continue;
      xs.sort((a, b) => a - b);
      for (let j = 0; j + 1 < xs.length; j += 2) {
        const a = Math.max(0, Math.ceil(xs[j] - 0.5));
        const b = Math.min(this.width - 1, Math.ceil(xs[j + 1] - 0.5) - 1);
        let o = (row * this.width + a) * 3;
        for (let col = a; col <= b; col++, o += 3) shade(o, col, row);
      }
    }
  }

  /** a polyline in map coordinates, sampled every half pixel, optionally dashed (lengths in pixels) */
  line(pts: readonly Position[], shade: Shader, dash?: [number, number]): void {
    let along = 0;
    for (let i = 0; i + 1 < pts.length; i++) {
      const ax = this.px(pts[i][0]);
      const ay = this.py(pts[i][1]);
      const bx = this.px(pts[i + 1][0]);
      const by = this.py(pts[i + 1][1]);
      const len = Math.hypot(bx - ax, by - ay);
      const steps = Math.max(1, Math.ceil(len * 2));
      for (let s = 0; s < steps; s++, along += len / steps) {
        if (dash && along % (dash[0] + dash[1]) >= dash[0]) continue;
        const t = s / steps;
        const col = Math.floor(ax + (bx - ax) * t);
        const row = Math.floor(ay + (by - ay) * t);
        if (col < 0 || row < 0 || col >= this.width || row >= this.height) continue;
        shade((row * this.width + col) * 3, col, row);
      }
    }
  }

  /** a disc of radius r pixels around map point (x, y) shifted by (dx, dy) pixels; shader gets d²/r² in `t` */
  disc(x: number, y: number, r: number, shade: (o: number, t: number) => void, dx = 0, dy = 0): void {
    const cx = this.px(x) + dx;
    const cy = this.py(y) + dy;
    const r2 = r * r;
    for (let row = Math.max(0, Math.floor(cy - r)); row <= Math.min(this.height - 1, Math.ceil(cy + r)); row++)
      for (let col = Math.max(0, Math.floor(cx - r)); col <= Math.min(this.width - 1, Math.ceil(cx + r)); col++) {
        const d2 = (col + 0.5 - cx) ** 2 + (row + 0.5 - cy) ** 2;
        if (d2 < r2) shade((row * this.width + col) * 3, d2 / r2);
      }
  }
}

export const NOISE_SIZE = 512;

/** Tileable fractal value noise, NOISE_SIZE², values about in [-1, 1]. */
export function noiseTexture(rng: Rng): Float32Array {
  const s = NOISE_SIZE;
  const out = new Float32Array(s * s);
  const octaves: [number, number][] = [
    [64, 0.36],
    [32, 0.26],
    [16, 0.17],
    [8, 0.11],
    [4, 0.06],
    [2, 0.04],
  ];
  const smooth = (t: number) => t * t * (3 - 2 * t);
  for (const [cell, amp] of octaves) {
    const n = s / cell;
    const lat = new Float32Array(n * n);
    for (let i = 0; i < lat.length; i++) lat[i] = rng.range(-1, 1);
    for (let y = 0; y < s; y++) {
      const gy = Math.floor(y / cell);
      const ty = smooth((y % cell) / cell);
      const y0 = (gy % n) * n;
      const y1 = ((gy + 1) % n) * n;
      for (let x = 0; x < s; x++) {
        const gx = Math.floor(x / cell);
        const tx = smooth((x % cell) / cell);
        const x1 = (gx + 1) % n;
        const a = lat[y0 + gx] + (lat[y0 + x1] - lat[y0 + gx]) * tx;
        const b = lat[y1 + gx] + (lat[y1 + x1] - lat[y1 + gx]) * tx;
        out[y * s + x] += amp * (a + (b - a) * ty) * 1.6;
      }
    }
  }
  return out;
}
