import { sqlSet } from '../db/sql-file';

/**
 * Tile SQL, assembled once at start-up from the named pieces in tiles.sql (see its header). Column lists and
 * parameter numbers come from the constants below, never from a request.
 */
const SQL = sqlSet(new URL('./tiles.sql', import.meta.url), [
  'bounds', 'rows_survey', 'rows_parcels', 'rows_features', 'mvt_epochs', 'mvt_layer', 'geojson_geom', 'geojson_label',
  'epochs', 'instance', 'catalog', 'work_crs', 'extent_survey', 'extent_parcels', 'extent_features',
] as const);

/** the comment lines of a fragment stay in tiles.sql */
const body = (s: string) => s.split('\n').filter((l) => !/^\s*--/.test(l)).join('\n').trim();

/** How the rows of a tile are chosen: one per source table. */
export type RowsKind = 'survey' | 'parcels' | 'features';

/** Columns of each kind besides id and geometry, in the order they come from the rows query. */
export const ROW_PROPS: Record<RowsKind, readonly string[]> = {
  survey: ['code', 'status', 'priority', 'flags', 'village'],
  parcels: ['parcel_code', 'holder', 'land_use'],
  features: ['name', 'code'],
};

/** Parameters $1..$10 are shared (tiles.sql header); these follow them. */
export const KIND_PARAMS: Record<RowsKind, number> = { survey: 4, parcels: 2, features: 3 };
export const SHARED_PARAMS = 10;

const ROWS: Record<RowsKind, string> = {
  survey: body(SQL.rows_survey),
  parcels: body(SQL.rows_parcels),
  features: body(SQL.rows_features),
};

/** One MVT layer of a tile: its geometry is the row's own, or a label point on it. */
export interface SubLayer {
  name: string;
  geom: 'geom' | 'label';
}
const GEOM_EXPR = { geom: 'r.g', label: 'ST_PointOnSurface(r.g)' } as const;
/** The same in EPSG:3857 for ST_AsMVTGeom: survey polygons have it stored (migration 007), the others are transformed. */
const mvtGeom = (kind: RowsKind, g: SubLayer['geom']) =>
  kind === 'survey' && g === 'geom' ? 'r.gw' : `ST_Transform(${GEOM_EXPR[g]}, 3857)`;

const fill = (tpl: string, v: Record<string, string>) => tpl.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
  if (!(k in v)) throw new Error(`tiles.sql: no value for {{${k}}}`);
  return v[k];
});

/** The `shape` of a tile query: which rows, and which sub-layer geometries. Names are parameters. */
export interface QueryShape {
  kind: RowsKind;
  geoms: readonly SubLayer['geom'][];
}

const head = (kind: RowsKind) => `WITH ${body(SQL.bounds)},\nrows AS (\n${ROWS[kind]}\n)\n`;
const props = (kind: RowsKind) => ROW_PROPS[kind].map((p) => `r.${p}`).join(', ');

/**
 * PostGIS encoder: one bytea (`mvt`), the layers concatenated, and the data versions (`epochs`) of the same
 * snapshot. Parameters: shared, kind, then one layer name per sub-layer.
 */
export function mvtQuery(shape: QueryShape): string {
  const first = SHARED_PARAMS + KIND_PARAMS[shape.kind] + 1;
  const layers = shape.geoms.map((g, i) =>
    fill(body(SQL.mvt_layer), { name: `$${first + i}::text`, geom: mvtGeom(shape.kind, g), props: props(shape.kind) }),
  );
  return `${head(shape.kind)}SELECT ${layers.join('\n || ')} AS mvt,\n${body(SQL.mvt_epochs)}`;
}

/**
 * JS encoder: one row per feature with its properties and one GeoJSON geometry per sub-layer (`g0`, `g1`…).
 * Parameters: shared, kind, then the number of decimals.
 */
export function geojsonQuery(shape: QueryShape): string {
  const digits = `$${SHARED_PARAMS + KIND_PARAMS[shape.kind] + 1}::int`;
  const geoms = shape.geoms.map((g, i) =>
    `${g === 'label' ? fill(body(SQL.geojson_label), { digits }) : fill(body(SQL.geojson_geom), { geom: GEOM_EXPR[g], digits })} AS g${i}`);
  return `${head(shape.kind)}SELECT r.id, ${props(shape.kind)},\n${geoms.join(',\n')}\nFROM rows r, bounds b`;
}

export const META = {
  epochs: SQL.epochs,
  instance: SQL.instance,
  catalog: SQL.catalog,
  workCrs: SQL.work_crs,
  extent: { survey: SQL.extent_survey, parcels: SQL.extent_parcels, features: SQL.extent_features } as Record<RowsKind, string>,
};
