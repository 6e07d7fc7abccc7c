import type { Geometry, Position } from 'geojson';

/**
 * GeoJSON → hex EWKB (little endian, with SRID), the text form PostGIS accepts for a geometry column in
 * COPY. Building WKB here is much cheaper than having PostGIS parse WKT or GeoJSON for every row.
 */
const TYPE = { Point: 1, LineString: 2, Polygon: 3, MultiPoint: 4, MultiLineString: 5, MultiPolygon: 6, GeometryCollection: 7 } as const;
const EWKB_SRID_FLAG = 0x20000000;

class Writer {
  buf = Buffer.allocUnsafe(1024);
  n = 0;
  ensure(k: number) {
    if (this.n + k <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }
  u8(v: number) { this.ensure(1); this.buf.writeUInt8(v, this.n); this.n += 1; }
  u32(v: number) { this.ensure(4); this.buf.writeUInt32LE(v, this.n); this.n += 4; }
  f64(v: number) { this.ensure(8); this.buf.writeDoubleLE(v, this.n); this.n += 8; }
}

function header(w: Writer, type: number, srid?: number) {
  w.u8(1);
  if (srid !== undefined) { w.u32(type | EWKB_SRID_FLAG); w.u32(srid); } else w.u32(type);
}
function points(w: Writer, pts: Position[]) {
  w.u32(pts.length);
  for (const p of pts) { w.f64(p[0]); w.f64(p[1]); }
}
function geom(w: Writer, g: Geometry, srid?: number) {
  switch (g.type) {
    case 'Point': header(w, TYPE.Point, srid); w.f64(g.coordinates[0]); w.f64(g.coordinates[1]); return;
    case 'LineString': header(w, TYPE.LineString, srid); points(w, g.coordinates); return;
    case 'Polygon': header(w, TYPE.Polygon, srid); w.u32(g.coordinates.length); for (const r of g.coordinates) points(w, r); return;
    case 'MultiPoint': header(w, TYPE.MultiPoint, srid); w.u32(g.coordinates.length);
      for (const c of g.coordinates) geom(w, { type: 'Point', coordinates: c }); return;
    case 'MultiLineString': header(w, TYPE.MultiLineString, srid); w.u32(g.coordinates.length);
      for (const c of g.coordinates) geom(w, { type: 'LineString', coordinates: c }); return;
    case 'MultiPolygon': header(w, TYPE.MultiPolygon, srid); w.u32(g.coordinates.length);
      for (const c of g.coordinates) geom(w, { type: 'Polygon', coordinates: c }); return;
    case 'GeometryCollection': header(w, TYPE.GeometryCollection, srid); w.u32(g.geometries.length);
      for (const c of g.geometries) geom(w, c); return;
  }
}

const shared = new Writer();
/** `multi`: write a Polygon as a one-part MultiPolygon (the tables' geometry type), as ST_Multi would. */
export function toHexEwkb(g: Geometry, srid: number, multi = false): string {
  shared.n = 0;
  if (multi && g.type === 'Polygon') geom(shared, { type: 'MultiPolygon', coordinates: [g.coordinates] }, srid);
  else geom(shared, g, srid);
  return shared.buf.toString('hex', 0, shared.n);
}
