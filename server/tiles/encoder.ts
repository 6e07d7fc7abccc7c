import GeoJSONVT from 'geojson-vt';
import { fromGeojsonVt } from '@maplibre/vt-pbf';
import { PbfReader } from 'pbf';
import type { Feature, FeatureCollection, Geometry } from 'geojson';
import type { Queryable } from '../db/types';
import { geojsonQuery, mvtQuery, ROW_PROPS, type QueryShape } from './queries';
import type { TileLayer } from './catalog';
import { BUFFER, EXTENT, degreeDigits, type TileCoord } from './tile-math';

/**
 * Two ways to turn the rows of a tile into a Mapbox Vector Tile, behind one interface. Both run the same
 * rows query (queries.ts), so they return the same features and properties; geometry agrees within a pixel.
 */
export interface TileEncoder {
  readonly kind: 'postgis' | 'js';
  /** returns `epochs` read in the tile statement itself (so the caller need not read them first) */
  readonly readsEpochs: boolean;
  /**
   * `params` are the shared and kind parameters of the rows query (tiles.sql header). Returns the encoded
   * tile (zero bytes when no feature is in it) and, when the encoder reads them in the same statement, the
   * data versions of tile_epoch (saves the separate version query).
   */
  encode(q: Queryable, layer: TileLayer, tile: TileCoord, params: unknown[]): Promise<Encoded>;
}

export interface Encoded {
  bytes: Uint8Array;
  epochs?: Record<string, number>;
}

const shapeOf = (layer: TileLayer): QueryShape => ({ kind: layer.kind, geoms: layer.sublayers.map((s) => s.geom) });
const shapeKey = (s: QueryShape) => `${s.kind}:${s.geoms.join(',')}`;

function memo(build: (s: QueryShape) => string) {
  const cache = new Map<string, string>();
  return (s: QueryShape) => {
    const k = shapeKey(s);
    let sql = cache.get(k);
    if (!sql) cache.set(k, (sql = build(s)));
    return sql;
  };
}

/** PostgreSQL with PostGIS built with protobuf: ST_AsMVT + ST_AsMVTGeom, one round trip. */
export function postgisEncoder(): TileEncoder {
  const sql = memo(mvtQuery);
  return {
    kind: 'postgis',
    readsEpochs: true,
    async encode(q, layer, _tile, params) {
      const r = await q.query<{ mvt: Uint8Array | null; epochs: Record<string, number> | null }>(
        sql(shapeOf(layer)), [...params, ...layer.sublayers.map((s) => s.name)], { prepare: true });
      const b = r.rows[0]?.mvt;
      return {
        bytes: b ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(0),
        epochs: r.rows[0]?.epochs ?? {},
      };
    },
  };
}

/**
 * simplification tolerance in tile units (of 4096). ST_AsMVTGeom simplifies by half a unit; geojson-vt drops
 * vertices and rings under this. Both then snap to whole units.
 */
const JS_TOLERANCE = 0.5;

/**
 * The embedded database's PostGIS has no protobuf (no ST_AsMVT): fetch the tile's rows as GeoJSON in
 * EPSG:4326 and cut the one tile with geojson-vt, encode with vt-pbf.
 */
export function jsEncoder(): TileEncoder {
  const sql = memo(geojsonQuery);
  return {
    kind: 'js',
    readsEpochs: false,
    async encode(q, layer, tile, params) {
      const r = await q.query<Record<string, unknown>>(sql(shapeOf(layer)), [...params, degreeDigits(tile.z)]);
      if (!r.rows.length) return { bytes: new Uint8Array(0) };
      const props = ROW_PROPS[layer.kind];
      const out: Record<string, ReturnType<GeoJSONVT['getTile']>> = {};
      layer.sublayers.forEach((sub, i) => {
        const features: Feature[] = [];
        for (const row of r.rows) {
          const text = row[`g${i}`] as string | null;
          if (!text) continue;
          const geometry = JSON.parse(text) as Geometry;
          if (isEmpty(geometry)) continue;
          const properties: Record<string, unknown> = { id: row.id };
          for (const p of props) properties[p] = row[p];
          features.push({ type: 'Feature', id: row.id as number, geometry, properties });
        }
        if (!features.length) return;
        const fc: FeatureCollection = { type: 'FeatureCollection', features };
        // maxZoom one above the tile: at maxZoom geojson-vt does not simplify at all. indexMaxZoom 0: keep only
        // the source at z0 and drill straight down to this one tile.
        const index = new GeoJSONVT(fc, {
          maxZoom: Math.min(24, tile.z + 1),
          indexMaxZoom: 0,
          tolerance: JS_TOLERANCE,
          extent: EXTENT,
          buffer: BUFFER,
        });
        const t = index.getTile(tile.z, tile.x, tile.y);
        if (t && t.features.length) out[sub.name] = t;
      });
      if (!Object.keys(out).length) return { bytes: new Uint8Array(0) };
      return { bytes: fromGeojsonVt(out as Parameters<typeof fromGeojsonVt>[0], { version: 2, extent: EXTENT }) };
    },
  };
}

function isEmpty(g: Geometry): boolean {
  if (g.type === 'GeometryCollection') return g.geometries.every(isEmpty);
  return !g.coordinates || (Array.isArray(g.coordinates) && g.coordinates.length === 0);
}

/** Features in the largest layer of an encoded tile (read only when a tile is over budget). */
export function featureCount(bytes: Uint8Array): number {
  let max = 0;
  new PbfReader(bytes).readFields((tag, _r, pbf) => {
    if (tag !== 3) return; // Tile.layers
    let n = 0;
    pbf.readMessage((t) => {
      if (t === 2) n++; // Layer.features (left unread: readFields skips it)
    }, null);
    max = Math.max(max, n);
  }, null);
  return max;
}

export const encoderFor = (hasMvt: boolean): TileEncoder => (hasMvt ? postgisEncoder() : jsEncoder());
