/**
 * The zoom of a polygon's image chip (server/imagery/chips.ts): the deepest at which the polygon's box, with
 * its margin, fits the 320 × 240 chip; a small house on 1 m imagery is enlarged past the layer's last zoom
 * (at most OVERZOOM levels), a large polygon is shown whole at a shallower zoom, never before the first.
 */
import { describe, expect, it } from 'vitest';
import { chipZoom, OVERZOOM } from '../../server/imagery/chips';

/** a square box of `side` metres (web mercator) near Ji'an */
const box = (side: number) => ({ xmin: 11_795_000, ymin: 3_425_000, xmax: 11_795_000 + side, ymax: 3_425_000 + side });
const layer = { minzoom: 11, maxzoom: 17 };

describe('chip zoom', () => {
  it('enlarges a small polygon past the layer, by at most OVERZOOM levels', () => {
    expect(chipZoom(box(12), layer)).toBe(layer.maxzoom + OVERZOOM);
    expect(chipZoom(box(1), layer)).toBe(layer.maxzoom + OVERZOOM);
  });
  it('fits a larger polygon whole: its box takes at most 60 % of the chip', () => {
    for (const side of [40, 100, 400, 2000]) {
      const z = chipZoom(box(side), layer);
      const metresPerPixel = (2 * 20037508.342789244) / (256 * 2 ** z);
      expect(side / metresPerPixel, `${side} m at z${z}`).toBeLessThanOrEqual(0.6 * 240);
      // and one zoom deeper it would not fit (unless capped)
      if (z < layer.maxzoom + OVERZOOM) expect(side / (metresPerPixel / 2)).toBeGreaterThan(0.6 * 240);
    }
  });
  it('never goes above the layer', () => {
    expect(chipZoom(box(200_000), layer)).toBe(layer.minzoom);
  });
});
