/**
 * What a target layer accepts, checked by the readers as soon as the file's geometry is known — from
 * the .shp header's shape type, or from the GeoJSON geometry types — and before anything about the
 * encoding or the coordinate system. A point file given as a survey is refused because it holds points,
 * never because its .prj or its encoding looked odd; an empty export says it has no features rather
 * than that its code field is missing (issue 11, item 2).
 */
import { IngestError } from '../errors';

/** polygon: polygons only · band: polygons or centrelines (buffered) · any: every geometry type */
export type GeometryAccept = 'polygon' | 'band' | 'any';

export interface AcceptSpec {
  geometry: GeometryAccept;
  /** target layer name, for messages (survey, cadastral …) */
  layer: string;
}

const POLYGONAL = new Set(['Polygon', 'MultiPolygon']);
const LINEAR = new Set(['LineString', 'MultiLineString']);

/** GeoJSON / shapefile type names → what a person calls them. */
const KIND: Record<string, { en: string; zh: string }> = {
  Point: { en: 'points', zh: '点' },
  MultiPoint: { en: 'multipoints', zh: '多点' },
  LineString: { en: 'lines', zh: '线' },
  MultiLineString: { en: 'multi-part lines', zh: '多段线' },
  Polygon: { en: 'polygons', zh: '面' },
  MultiPolygon: { en: 'multi-part polygons', zh: '多部件面' },
  GeometryCollection: { en: 'geometry collections', zh: '几何集合' },
};

/** .shp header shape type → GeoJSON type its records become (Z/M variants read as 2D). */
const SHP_AS_GEOJSON: Record<number, string> = {
  1: 'Point', 11: 'Point', 21: 'Point',
  8: 'MultiPoint', 18: 'MultiPoint', 28: 'MultiPoint',
  3: 'LineString', 13: 'LineString', 23: 'LineString',
  5: 'Polygon', 15: 'Polygon', 25: 'Polygon',
};
const SHP_NAMES: Record<number, string> = {
  1: 'Point', 11: 'PointZ', 21: 'PointM', 8: 'MultiPoint', 18: 'MultiPointZ', 28: 'MultiPointM',
  3: 'PolyLine', 13: 'PolyLineZ', 23: 'PolyLineM', 5: 'Polygon', 15: 'PolygonZ', 25: 'PolygonM',
};

const accepted = (type: string, mode: GeometryAccept) =>
  mode === 'any' || POLYGONAL.has(type) || (mode === 'band' && LINEAR.has(type));

const needs = (mode: GeometryAccept) =>
  mode === 'band'
    ? { en: 'polygons or road centrelines', zh: '面或道路中心线' }
    : { en: 'polygons', zh: '面' };

function wrongGeometry(spec: AcceptSpec, en: string, zh: string, details: Record<string, unknown>): IngestError {
  const n = needs(spec.geometry);
  return new IngestError(
    'wrong_geometry_type',
    `Layer '${spec.layer}' needs ${n.en}; this file holds ${en}.`,
    `图层“${spec.layer}”需要${n.zh}数据，而该文件中是${zh}。`,
    details,
  );
}

/** The .shp header's shape type (checked before the records, the .dbf, the encoding or the .prj). */
export function acceptShapeType(shapeType: number, spec: AcceptSpec | undefined): void {
  if (!spec) return;
  const as = SHP_AS_GEOJSON[shapeType];
  if (as === undefined || accepted(as, spec.geometry)) return; // 0 = Null shapes only: the empty check says so
  const k = KIND[as];
  const name = SHP_NAMES[shapeType];
  throw wrongGeometry(spec, `${k.en} (shapefile type ${name})`, `${k.zh}（shapefile 类型 ${name}）`, {
    shapeType: name,
  });
}

/** GeoJSON: the types seen, e.g. {Polygon: 3, Point: 1, null: 2}. */
export function acceptGeometryTypes(types: Record<string, number>, spec: AcceptSpec | undefined): void {
  if (!spec) return;
  const bad = Object.keys(types).filter((t) => t !== 'null' && !accepted(t, spec.geometry));
  if (!bad.length) return;
  const list = (lang: 'en' | 'zh') =>
    bad.map((t) => `${KIND[t]?.[lang] ?? t}${lang === 'en' ? ` (${t} × ${types[t]})` : `（${t}，${types[t]} 个）`}`);
  throw wrongGeometry(spec, list('en').join(', '), list('zh').join('、'), { geometryTypes: types });
}

/**
 * A layer with no feature at all, or none with a geometry, is refused with that reason (an import is a
 * new version of its layer: storing nothing would retire a whole survey), before any field or CRS check.
 */
export function acceptCount(count: number, withGeometry: number, spec: AcceptSpec | undefined, source: string): void {
  if (!spec) return;
  if (count === 0)
    throw new IngestError(
      'empty_layer',
      `The layer "${source}" has no features (0 records); nothing to import.`,
      `图层“${source}”没有要素（0 条记录），没有可导入的内容。`,
      { read: 0, sourceLayer: source },
    );
  if (withGeometry === 0)
    throw new IngestError(
      'empty_layer',
      `The layer "${source}" has no features with a geometry: all ${count} records are without shape.`,
      `图层“${source}”没有带图形的要素：全部 ${count} 条记录都没有图形。`,
      { read: count, sourceLayer: source },
    );
}
