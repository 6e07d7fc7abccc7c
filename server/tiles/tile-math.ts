/**
 * Web-mercator tile arithmetic (XYZ scheme, y down, as MapLibre requests tiles). Pure functions.
 */

/** MVT geometry space: 4096 units a side, 64 units of buffer around it (the PostGIS and geojson-vt defaults). */
export const EXTENT = 4096;
export const BUFFER = 64;
/** highest zoom served; clients overzoom beyond TileJSON maxzoom anyway */
export const MAX_ZOOM = 22;
/** web mercator stops here */
export const MAX_LAT = 85.0511287798066;

const R = 6378137;
const WORLD = 2 * Math.PI * R;

export interface TileCoord {
  z: number;
  x: number;
  y: number;
}

/** lon/lat → the tile at zoom z that contains it */
export function lonLatToTile(lon: number, lat: number, z: number): TileCoord {
  const n = 2 ** z;
  const phi = (Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * Math.PI) / 180;
  const x = Math.floor(((lon + 180) / 360) * n);
  const y = Math.floor(((1 - Math.asinh(Math.tan(phi)) / Math.PI) / 2) * n);
  return { z, x: Math.min(n - 1, Math.max(0, x)), y: Math.min(n - 1, Math.max(0, y)) };
}

const tileXToLon = (x: number, n: number) => (x / n) * 360 - 180;
const tileYToLat = (y: number, n: number) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / n))) * 180) / Math.PI;

/**
 * The tile's lon/lat box [west, south, east, north], grown by `bufferUnits` of the 4096-unit tile extent on
 * each side. A web-mercator tile is a lon/lat rectangle, so this box is exact, not an approximation.
 */
export function tileLonLatBounds({ z, x, y }: TileCoord, bufferUnits = 0): [number, number, number, number] {
  const n = 2 ** z;
  const b = bufferUnits / EXTENT;
  const west = tileXToLon(x - b, n);
  const east = tileXToLon(x + 1 + b, n);
  const north = tileYToLat(Math.max(0, y - b), n);
  const south = tileYToLat(Math.min(n, y + 1 + b), n);
  return [Math.max(-180, west), south, Math.min(180, east), north];
}

/** One pixel (of the 4096 extent) in ground metres at the tile's centre latitude. */
export function pixelGroundMetres({ z, y }: TileCoord): number {
  const lat = tileYToLat(y + 0.5, 2 ** z);
  return (WORLD / 2 ** z / EXTENT) * Math.cos((lat * Math.PI) / 180);
}

export function isValidTile({ z, x, y }: TileCoord): boolean {
  if (!Number.isInteger(z) || !Number.isInteger(x) || !Number.isInteger(y)) return false;
  if (z < 0 || z > MAX_ZOOM) return false;
  const n = 2 ** z;
  return x >= 0 && x < n && y >= 0 && y < n;
}

/** Intersection of two [w, s, e, n] boxes, or undefined when they do not overlap. */
export function intersectBox(
  a: readonly [number, number, number, number],
  b: readonly [number, number, number, number],
): [number, number, number, number] | undefined {
  const w = Math.max(a[0], b[0]);
  const s = Math.max(a[1], b[1]);
  const e = Math.min(a[2], b[2]);
  const n = Math.min(a[3], b[3]);
  return w < e && s < n ? [w, s, e, n] : undefined;
}

/** Decimal places of degrees that keep a coordinate well inside one tile unit at zoom z (1e-7° ≈ 1 cm). */
export function degreeDigits(z: number): number {
  const unitDeg = 360 / 2 ** z / EXTENT;
  return Math.min(12, Math.max(6, Math.ceil(-Math.log10(unitDeg)) + 1));
}
