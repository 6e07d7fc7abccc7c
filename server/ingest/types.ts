import type { Geometry } from 'geojson';
import type { AcceptSpec } from './accept';

/** Roles a layer can play in reconciliation. Built-in layers have fixed roles; custom layers declare one. */
export type LayerRole = 'survey' | 'overlap' | 'flag' | 'assign' | 'distance';

export const BUILTIN_LAYERS = {
  survey: 'survey',
  cadastral: 'overlap',
  frontage: 'flag',
  village: 'assign',
  school: 'distance',
  compound: 'flag',
  green: 'flag',
} as const satisfies Record<string, LayerRole>;
export type BuiltinLayer = keyof typeof BUILTIN_LAYERS;

export interface IngestLimits {
  /** bytes of one uploaded file (zip or GeoJSON) */
  maxUploadBytes: number;
  /** entries in one zip */
  maxZipEntries: number;
  /** total uncompressed bytes of all entries read from one zip */
  maxUncompressedBytes: number;
  /** uncompressed / compressed for one entry; above it the zip is treated as a bomb */
  maxCompressionRatio: number;
  /** uncompressed bytes of one zip entry (default: maxUncompressedBytes) */
  maxEntryBytes?: number;
}

export interface ReadOptions {
  /** original file name, used for the kind (.zip, .geojson, .json) and in messages */
  fileName: string;
  /** override CRS, e.g. 'EPSG:4523' (from --srs); wins over .prj and inference */
  srs?: string;
  /** override attribute encoding, e.g. 'gbk', 'utf-8', 'gb18030' (from --encoding) */
  encoding?: string;
  /** which layer of a multi-layer zip to read (base name of the .shp without extension, or path) */
  sourceLayer?: string;
  /**
   * What the target layer accepts. When given, the reader refuses a wrong geometry type or an empty
   * layer as soon as it knows, before encoding and CRS (accept.ts); without it, it reads anything.
   */
  accept?: AcceptSpec;
  /** SRID everything is reprojected to (planar, metres), e.g. 4523 */
  workSrid: number;
  limits: IngestLimits;
  /**
   * An empty folder the reader may write to (the caller removes it): zip entries are inflated there and
   * read through a window, so memory stays bounded. Without it, entries are inflated into memory.
   */
  scratchDir?: string;
}

export interface ReadFeature {
  /** reprojected to workSrid, 2D (Z/M dropped); null when the record had no/empty geometry */
  geometry: Geometry | null;
  /** attribute values exactly as delivered (strings decoded, numbers as numbers, dates as 'YYYY-MM-DD') */
  properties: Record<string, string | number | boolean | null>;
  /**
   * Optional shortcut some readers give (the shapefile reader, for single-ring polygons already in the
   * work CRS): the geometry as hex EWKB, the same text toHexEwkb(geometry, srid, multi) gives, written
   * from the file's bytes without building GeoJSON. When present, geometry is not null.
   */
  hexEwkb?(srid: number, multi: boolean): string;
}

export interface CrsInfo {
  /** what the source was, e.g. 'EPSG:4523' or 'WKT:Xian_1980_3_Degree_GK_Zone_35' */
  source: string;
  /** how we know: a .prj, a GeoJSON crs member, the GeoJSON default (CRS84), inferred from GK zone prefix, or --srs */
  how: 'prj' | 'geojson-crs' | 'geojson-default' | 'inferred-zone' | 'option';
  /** always `EPSG:${workSrid}` */
  target: string;
}

export interface EncodingInfo {
  /** the encoding used for attributes, e.g. 'gbk', 'utf-8' */
  used: string;
  how: 'cpg' | 'ldid' | 'detected' | 'option' | 'geojson';
}

export interface ReadResult {
  /** name of the layer read (shapefile base name, or GeoJSON file name) */
  sourceLayer: string;
  /** every layer the file holds (for a multi-layer zip) */
  availableLayers: string[];
  fields: { name: string; type: string }[];
  crs: CrsInfo;
  encoding: EncodingInfo;
  /** number of records (features) including null/empty ones */
  count: number;
  /** geometry types seen, e.g. {Polygon: 10, MultiPolygon: 2, null: 1} */
  geometryTypes: Record<string, number>;
  /** records come out in file order; reprojection happens lazily so huge layers are not held twice */
  features(): Iterable<ReadFeature>;
  /** non-fatal remarks a person should see in the import report (English; zh alongside) */
  warnings: { code: string; message: string; message_zh: string }[];
  /** releases the files features() reads from (a zip inflated to the scratch folder) */
  close?(): void;
}
