/** Web-mercator tile arithmetic (EPSG:3857, 256-px tiles, XYZ rows from the north). */
export const R = 6378137;
export const HALF = Math.PI * R;
export const TILE = 256;
export const MAX_LAT = 85.0511287798;

/** metres of mercator per pixel at zoom z */
export const mercRes = (z: number) => (2 * HALF) / (TILE * 2 ** z);

export const lonLatToMerc = (lon: number, lat: number): [number, number] => {
  const l = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat));
  return [(R * lon * Math.PI) / 180, R * Math.log(Math.tan(Math.PI / 4 + (l * Math.PI) / 360))];
};

export const mercToLonLat = (x: number, y: number): [number, number] => [
  (x / R) * (180 / Math.PI),
  (2 * Math.atan(Math.exp(y / R)) - Math.PI / 2) * (180 / Math.PI),
];

/** ground metres of one pixel at zoom z at latitude lat */
export const groundRes = (z: number, lat: number) => mercRes(z) * Math.cos((lat * Math.PI) / 180);

/** tile column/row holding a lon/lat at zoom z (clamped to the grid) */
export function tileOf(lon: number, lat: number, z: number): [number, number] {
  const [x, y] = lonLatToMerc(lon, lat);
  const n = 2 ** z;
  const clamp = (v: number) => Math.max(0, Math.min(n - 1, Math.floor(v)));
  return [clamp((x + HALF) / (TILE * mercRes(z))), clamp((HALF - y) / (TILE * mercRes(z)))];
}

/** the tile's bounds in mercator metres: [xmin, ymin, xmax, ymax] */
export function tileBounds(z: number, x: number, y: number): [number, number, number, number] {
  const s = TILE * mercRes(z);
  return [-HALF + x * s, HALF - (y + 1) * s, -HALF + (x + 1) * s, HALF - y * s];
}

export const validTile = (z: number, x: number, y: number) =>
  Number.isInteger(z) && Number.isInteger(x) && Number.isInteger(y) && z >= 0 && z <= 24 && x >= 0 && y >= 0 && x < 2 ** z && y < 2 ** z;
