/**
 * The field page's geometry (web-field/src/geo.ts): datum shifts for Chinese map apps, distance and bearing
 * to the nearest point of a polygon, the navigation links.
 */
import { describe, expect, it } from 'vitest';
import type { Polygon } from 'geojson';
import {
  compass, fromBd09, fromGcj02, metresBetween, navLinks, nearestOnBoundary, relate, toBd09, toGcj02, type LonLat,
} from '../../web-field/src/geo';

const JIAN: LonLat = [105.93, 29.4];

/** a square of `m` metres around a centre (small: planar is fine) */
function square(c: LonLat, m: number): Polygon {
  const dLat = m / 2 / 111_195;
  const dLon = dLat / Math.cos((c[1] * Math.PI) / 180);
  const [x, y] = c;
  return { type: 'Polygon', coordinates: [[[x - dLon, y - dLat], [x + dLon, y - dLat], [x + dLon, y + dLat], [x - dLon, y + dLat], [x - dLon, y - dLat]]] };
}

describe('datum shifts for Chinese map apps (gcoord)', () => {
  it('moves a point near Ji\'an by a few hundred metres to GCJ-02 and to BD-09', () => {
    const g = toGcj02(JIAN);
    const b = toBd09(JIAN);
    const dg = metresBetween(JIAN, g);
    const db = metresBetween(JIAN, b);
    // GCJ-02 at 105.93°E 29.40°N: ≈ +0.0035° east, −0.0030° north — about 460 m
    expect(dg).toBeGreaterThan(200);
    expect(dg).toBeLessThan(700);
    expect(g[0]).toBeGreaterThan(JIAN[0]);
    // BD-09 adds ≈ +0.0065° east, +0.006° north on top of GCJ-02
    expect(db).toBeGreaterThan(dg);
    expect(db).toBeLessThan(1500);
  });

  it('comes back within 1 m', () => {
    for (const p of [JIAN, [105.95, 29.37] as LonLat, [105.9, 29.42] as LonLat]) {
      expect(metresBetween(p, fromGcj02(toGcj02(p)))).toBeLessThan(1);
      expect(metresBetween(p, fromBd09(toBd09(p)))).toBeLessThan(1);
    }
  });

  it('writes the navigation links in each app\'s datum', () => {
    const l = navLinks(JIAN, 'JA2020-0001');
    expect(l.geo).toBe('geo:29.400000,105.930000?q=29.400000,105.930000(JA2020-0001)');
    const [glon, glat] = toGcj02(JIAN);
    expect(l.amap).toBe(`https://uri.amap.com/marker?position=${glon.toFixed(6)},${glat.toFixed(6)}&name=JA2020-0001&coordinate=gaode&callnative=1`);
    const [blon, blat] = toBd09(JIAN);
    expect(l.baidu).toContain(`location=${blat.toFixed(6)},${blon.toFixed(6)}`);
    expect(l.baidu).toContain('coord_type=bd09ll');
    expect(navLinks(JIAN, '吉安 1号').amap).toContain('name=%E5%90%89%E5%AE%89%201%E5%8F%B7');
  });
});

describe('where the polygon is from the phone', () => {
  const poly = square(JIAN, 20); // 20 m square centred on JIAN

  it('is 0 m away, with no bearing, from inside', () => {
    expect(relate(JIAN, poly)).toMatchObject({ inside: true, distance: 0, bearing: null });
  });

  it('measures to the nearest point of the boundary, not the centre', () => {
    // 100 m due north of the centre: 90 m from the northern edge, walking south
    const p: LonLat = [JIAN[0], JIAN[1] + 100 / 111_195];
    const r = relate(p, poly);
    expect(r.inside).toBe(false);
    expect(r.distance).toBeGreaterThan(89);
    expect(r.distance).toBeLessThan(91);
    expect(r.bearing!).toBeGreaterThan(179);
    expect(r.bearing!).toBeLessThan(181);
    expect(compass(r.bearing!)).toBe('S');
    // 100 m east and 100 m south: toward the south-east corner, walking north-west
    const k = Math.cos((JIAN[1] * Math.PI) / 180);
    const q: LonLat = [JIAN[0] + 100 / 111_195 / k, JIAN[1] - 100 / 111_195];
    const s = relate(q, poly);
    expect(s.distance).toBeGreaterThan(Math.hypot(90, 90) - 1);
    expect(s.distance).toBeLessThan(Math.hypot(90, 90) + 1);
    expect(compass(s.bearing!)).toBe('NW');
    const corner = nearestOnBoundary(q, poly);
    expect(metresBetween(corner, [poly.coordinates[0][1][0], poly.coordinates[0][1][1]])).toBeLessThan(0.5);
  });

  it('names the eight directions', () => {
    expect([0, 44, 46, 90, 180, 225, 270, 315, 359].map(compass)).toEqual(['N', 'NE', 'NE', 'E', 'S', 'SW', 'W', 'NW', 'N']);
  });
});
