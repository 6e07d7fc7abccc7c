/**
 * The reprojection grid (server/imagery/pyramid.ts): each tile's source positions are computed exactly on a
 * 17 × 17 grid and interpolated in between. The issue allows it while the error stays under half a source
 * pixel; this measures the error over every pixel of a tile (gridErrorPx) for the CRSs deliveries come in,
 * at the deepest zoom their resolution gives (docs/IMAGERY.md has the figures).
 */
import proj4 from 'proj4';
import { describe, expect, it } from 'vitest';
import { gridErrorPx, planPyramid } from '../../server/imagery/pyramid';
import { tileOf } from '../../server/imagery/mercator';
import { crsFromOption } from '../../server/ingest/crs';
import type { ImagerySource } from '../../server/imagery/source';

/** a 4000-px-square source of `res` CRS units per pixel whose centre is at lon/lat */
function source(srs: string, lon: number, lat: number, res: number): ImagerySource {
  const crs = crsFromOption(srs);
  const [x, y] = proj4('+proj=longlat +ellps=GRS80 +no_defs', crs.def, [lon, lat]);
  const n = 4000;
  return { crs, width: n, height: n, geo: { a: res, b: 0, c: x - (n / 2) * res, d: 0, e: -res, f: y + (n / 2) * res } } as ImagerySource;
}

describe('imagery reprojection grid error', () => {
  const cases: [string, number, number, number][] = [
    ['EPSG:4523', 105.9, 29.4, 0.5], // Ji'an, 0.9° from the central meridian
    ['EPSG:4523', 106.49, 29.4, 0.5], // the zone's eastern edge
    ['EPSG:4545', 105.9, 29.4, 2], // 3° GK without the zone prefix (CM 105°E)
    ['EPSG:4490', 105.9, 29.4, 0.000005], // CGCS2000 degrees, ≈ 0.5 m
    ['EPSG:4490', 105.9, 29.4, 0.0003], // ≈ 30 m: a coarse delivery, shallow zoom, long grid cells
    ['EPSG:32648', 105.9, 29.4, 10], // UTM 48N
    ['EPSG:3857', 105.9, 29.4, 0.6],
  ];
  for (const [srs, lon, lat, res] of cases) {
    it(`${srs} at ${lon}°E, ${res} units/px: under half a pixel at the deepest zoom`, () => {
      const src = source(srs, lon, lat, res);
      const plan = planPyramid(src);
      const [x, y] = tileOf(lon, lat, plan.maxzoom);
      expect(gridErrorPx(src, plan.maxzoom, x, y)).toBeLessThan(0.5);
    });
  }
});
