import type { RowsKind, SubLayer } from './queries';

/**
 * The tile layers, built from the `layer` table (the allow-list: a request names a layer, the catalog says
 * which table, which layer id and which columns; nothing from the request reaches SQL as text).
 */
export interface TileLayer {
  /** URL name and MVT layer name: /tiles/{name}/{z}/{x}/{y}.mvt */
  name: string;
  /** row of the `layer` table */
  layerId: number;
  layerName: string;
  title_zh: string;
  title_en: string;
  kind: RowsKind;
  /** tile_epoch key of the table the rows come from */
  source: 'survey_polygon' | 'parcel' | 'layer_feature';
  /** below this zoom the tile is empty (204) */
  minzoom: number;
  /** advertised in TileJSON; the server answers up to MAX_ZOOM and clients overzoom past it */
  maxzoom: number;
  /** MVT layers in one tile: the features, and for villages also their label points */
  sublayers: SubLayer[];
  /** TileJSON vector_layers fields: property → type */
  fields: Record<string, string>;
}

export const SURVEY_MINZOOM = 10;
/** PERFORMANCE.md: a z12 tile of parcels is 53k features / 2.5 MB; from z15 a tile holds a few hundred */
export const PARCELS_MINZOOM = 15;
export const FEATURES_MINZOOM = 8;
export const DATA_MAXZOOM = 18;

const FIELDS: Record<RowsKind, Record<string, string>> = {
  survey: {
    id: 'Number', code: 'String 图斑编号', status: 'String: pending, field_check, verified, linked, dismissed',
    priority: 'Number', flags: 'String: comma-separated flags (frontage, compound, green, school, …)', village: 'String 村（社区）',
    source: 'String: survey 卫片, patrol 巡查, report 举报',
  },
  parcels: { id: 'Number', parcel_code: 'String 宗地代码', holder: 'String 权利人', land_use: 'String 土地用途' },
  features: { id: 'Number', name: 'String', code: 'String' },
};

/** Built-in layers (migration 001) and the name each is served under. */
const BUILTIN: Record<string, { name: string; kind: RowsKind; minzoom: number; labels?: string }> = {
  survey: { name: 'survey', kind: 'survey', minzoom: SURVEY_MINZOOM },
  cadastral: { name: 'parcels', kind: 'parcels', minzoom: PARCELS_MINZOOM },
  frontage: { name: 'frontage', kind: 'features', minzoom: FEATURES_MINZOOM },
  village: { name: 'villages', kind: 'features', minzoom: FEATURES_MINZOOM, labels: 'village_labels' },
  school: { name: 'schools', kind: 'features', minzoom: FEATURES_MINZOOM },
  compound: { name: 'compounds', kind: 'features', minzoom: FEATURES_MINZOOM },
  green: { name: 'green', kind: 'features', minzoom: FEATURES_MINZOOM },
};
const SOURCE: Record<RowsKind, TileLayer['source']> = { survey: 'survey_polygon', parcels: 'parcel', features: 'layer_feature' };

export interface LayerRow {
  id: number;
  name: string;
  builtin: boolean;
  role: string;
  title_zh: string;
  title_en: string;
}

export interface Catalog {
  layers: TileLayer[];
  /** URL name (or the layer table's own name for a built-in, e.g. cadastral → parcels) → layer */
  byName: Map<string, TileLayer>;
  /** custom layers whose name clashes with a tile name of a built-in: not served */
  shadowed: string[];
}

export function buildCatalog(rows: LayerRow[]): Catalog {
  const layers: TileLayer[] = [];
  const shadowed: string[] = [];
  const builtinNames = new Set(Object.values(BUILTIN).map((b) => b.name));
  for (const r of rows) {
    const b = BUILTIN[r.name];
    if (!b && builtinNames.has(r.name)) {
      shadowed.push(r.name);
      continue;
    }
    const kind = b?.kind ?? 'features';
    const name = b?.name ?? r.name;
    layers.push({
      name,
      layerId: r.id,
      layerName: r.name,
      title_zh: r.title_zh,
      title_en: r.title_en,
      kind,
      source: SOURCE[kind],
      minzoom: b?.minzoom ?? FEATURES_MINZOOM,
      maxzoom: DATA_MAXZOOM,
      sublayers: [{ name, geom: 'geom' }, ...(b?.labels ? [{ name: b.labels, geom: 'label' as const }] : [])],
      fields: FIELDS[kind],
    });
  }
  const byName = new Map<string, TileLayer>();
  for (const l of layers) byName.set(l.name, l);
  for (const l of layers) if (!byName.has(l.layerName)) byName.set(l.layerName, l);
  return { layers, byName, shadowed };
}

/** Where the work CRS can be used: [west, south, east, north] in degrees. */
export type LonLatBox = [number, number, number, number];
export const WORLD_BOX: LonLatBox = [-180, -85.0511287798066, 180, 85.0511287798066];

/**
 * A transverse Mercator (Gauss-Krüger, UTM) is only meaningful near its central meridian; far from it PROJ
 * returns nonsense (a z0 tile transformed to a GK zone is a line). Tile boxes are clipped to ±10° of the
 * meridian before they are transformed: data in the work CRS cannot lie outside that anyway.
 */
export function workCrsBox(proj4text: string | undefined): LonLatBox {
  if (!proj4text) return WORLD_BOX;
  const lon0 = /\+lon_0=(-?[\d.]+)/.exec(proj4text);
  const zone = /\+zone=(\d+)/.exec(proj4text);
  const tm = /\+proj=(tmerc|utm|etmerc)\b/.test(proj4text);
  if (!tm) return WORLD_BOX;
  const cm = lon0 ? Number(lon0[1]) : zone ? Number(zone[1]) * 6 - 183 : NaN;
  if (!Number.isFinite(cm)) return WORLD_BOX;
  return [Math.max(-180, cm - 10), -80, Math.min(180, cm + 10), 84];
}
