import type { Feature, FeatureCollection, Geometry, Polygon, Position } from 'geojson';

/**
 * Small hand-made layers in EPSG:4523 (CGCS2000 GK zone 35, planar metres, eastings with the zone
 * prefix) around E 35 593 000, N 3 254 000 (≈ 105.96°E 29.40°N, Ji'an). Expected results in tests are
 * worked out from these coordinates independently of PostGIS (turf clipping + shoelace areas).
 */
export const X0 = 35_593_000;
export const Y0 = 3_254_000;

export const rect = (x: number, y: number, w: number, h: number): Polygon => ({
  type: 'Polygon',
  coordinates: [[[X0 + x, Y0 + y], [X0 + x + w, Y0 + y], [X0 + x + w, Y0 + y + h], [X0 + x, Y0 + y + h], [X0 + x, Y0 + y]]],
});

export function fc(features: { geometry: Geometry | null; properties: Record<string, unknown> }[], srid = 4523): FeatureCollection {
  return {
    type: 'FeatureCollection',
    // the GeoJSON 2008 crs member: real deliveries still carry it
    ...({ crs: { type: 'name', properties: { name: `urn:ogc:def:crs:EPSG::${srid}` } } } as object),
    features: features.map((f) => ({ type: 'Feature', geometry: f.geometry, properties: f.properties }) as Feature),
  };
}

export const bytesOf = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

/** Shoelace area of a polygon (outer ring minus holes), planar. */
export function ringArea(r: Position[]): number {
  let s = 0;
  for (let i = 0; i < r.length - 1; i++) s += r[i][0] * r[i + 1][1] - r[i + 1][0] * r[i][1];
  return Math.abs(s) / 2;
}
export function area(g: Geometry | null): number {
  if (!g) return 0;
  if (g.type === 'Polygon') return ringArea(g.coordinates[0]) - g.coordinates.slice(1).reduce((a, r) => a + ringArea(r), 0);
  if (g.type === 'MultiPolygon') return g.coordinates.reduce((a, p) => a + area({ type: 'Polygon', coordinates: p }), 0);
  return 0;
}
