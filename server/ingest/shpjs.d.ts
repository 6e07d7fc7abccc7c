// shpjs ships no type declarations; only the part of its API the ingest reader uses.
declare module 'shpjs' {
  /** Geometries (GeoJSON-like, with an extra bbox) of every record, null for null shapes. No prj = no reprojection. */
  export function parseShp(shp: ArrayBuffer | ArrayBufferView | DataView, prj?: string | false): unknown[];
}
