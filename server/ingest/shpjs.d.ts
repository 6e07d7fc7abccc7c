// shpjs ships no type declarations; only the part of its API tuban uses.
declare module 'shpjs' {
  /** Geometries (GeoJSON-like, with an extra bbox) of every record, null for null shapes. No prj = no reprojection. */
  export function parseShp(shp: ArrayBuffer | ArrayBufferView | DataView, prj?: string | false): unknown[];
  /** Attribute rows (tests use it as an independent reader of what the generator and exports write). */
  export function parseDbf(dbf: ArrayBuffer | ArrayBufferView | DataView, cpg?: string): Record<string, unknown>[];
}
