/**
 * OGC API – Features, Part 1 (core + GeoJSON), read-only, so QGIS and other GIS clients open tuban's layers
 * live: the survey polygons (status filter, the caller's villages only), the parcels and each reference
 * layer. Collections come from the same catalog as the vector tiles (server/tiles/catalog.ts), so a layer
 * has one name everywhere. Geometries in CRS84 or, with `crs=`, EPSG:4490 or the work CRS (Part 2, crs.ts);
 * keyset paging: a `next` link carries the last id served, so every page costs the same.
 */
import type { Db } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';
import { buildCatalog, workCrsBox, type LonLatBox, type TileLayer } from '../tiles/catalog';
import { epochsOf, type EpochCache } from '../tiles/epochs';
import { filterWhere, shiftParams } from '../dashboard/filters';
import { geomSql, servedCrs, type ServedCrs } from './crs';

const SQL = sqlSet(new URL('./ogc.sql', import.meta.url), [
  'layers', 'proj4', 'survey_count', 'survey_items', 'survey_extent', 'parcels_count', 'parcels_items', 'parcels_extent',
  'features_count', 'features_items', 'features_extent', 'bbox', 'bbox_work',
] as const);

export { CRS84 } from './crs';
export const CONFORMANCE = [
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30',
  'http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs',
];
/** Issue 17 item 6: declared in the OpenAPI document, so QGIS (and GDAL ≥ 3.8) ask for pages this size, not 10. */
export const DEFAULT_LIMIT = 1000;
export const MAX_LIMIT = 10_000;

export interface ItemsQuery {
  limit: number;
  /** keyset cursor: serve ids above this one (0 = from the start) */
  after: number;
  /** x/y box in `bboxCrs` (already in PostGIS's x/y order) */
  bbox?: [number, number, number, number];
  bboxCrs?: ServedCrs;
  /** output CRS (default CRS84) */
  crs?: ServedCrs;
  /** property filters, parsed (queryables.ts) */
  filters?: Record<string, unknown>;
  /** survey only: first imported in [from, to) — the `datetime` parameter */
  importedFrom?: string;
  importedTo?: string;
  /** one feature */
  fid?: number;
  /** compute numberMatched (the first page; a cursor page skips the count, which costs a full scan) */
  count: boolean;
}

export interface Caller {
  scope: string[] | undefined;
}

export const notFound = (what: string) =>
  new AppError('not_found', `No ${what}`, `没有${what.startsWith('collection') ? '此图层' : '此要素'}（${what}）`, 404);

/** A WHERE clause being built: values are appended to `params`, each clause refers to them by $n. */
class Where {
  readonly clauses: string[] = [];
  constructor(readonly params: unknown[] = []) {}
  add(sql: (n: (v: unknown) => string) => string) {
    this.clauses.push(sql((v) => {
      this.params.push(v);
      return `$${this.params.length}`;
    }));
  }
  get sql() {
    return this.clauses.join(' AND ');
  }
}

/** A predicate fragment of ogc.sql (comment lines dropped) with $1.. renumbered to follow `first` parameters. */
const fragment = (sql: string, first: number) =>
  sql.split('\n').filter((l) => !/^\s*--/.test(l)).join('\n').replace(/\$(\d+)\b/g, (_m, k: string) => `$${first + Number(k)}`);

export class OgcService {
  private box?: Promise<LonLatBox>;
  /** the catalog as of a version of the layer table: a GIS client pages in thousands of requests, each asked it */
  private catalog?: { epoch: number; layers: TileLayer[] };
  private readonly versions: EpochCache;

  constructor(private readonly o: { db: Db; regionCode: string; workSrid: number }) {
    this.versions = epochsOf(o.db);
  }

  /** Collections: survey, parcels, then every reference layer, named as the tile layers are. */
  async collections(fresh = false): Promise<TileLayer[]> {
    const epoch = (await this.versions.get(fresh)).layer ?? 0;
    if (this.catalog?.epoch === epoch) return this.catalog.layers;
    const rows = (await this.o.db.query<{ id: number; name: string; builtin: boolean; role: string; title_zh: string; title_en: string }>(SQL.layers)).rows;
    const layers = buildCatalog(rows).layers;
    this.catalog = { epoch, layers };
    return layers;
  }

  async collection(id: string): Promise<TileLayer> {
    // not known: perhaps created by another process whose NOTIFY has not reached us yet (tiles/epochs.ts)
    const c = (await this.collections()).find((l) => l.name === id) ?? (await this.collections(true)).find((l) => l.name === id);
    if (!c) throw notFound(`collection ${id}`);
    return c;
  }

  /** Where the work CRS means something (±10° of a Gauss-Krüger meridian): bboxes are clipped to it. */
  private workBox(): Promise<LonLatBox> {
    this.box ??= this.o.db
      .query<{ proj4text: string }>(SQL.proj4, [this.o.workSrid])
      .then((r) => workCrsBox(r.rows[0]?.proj4text));
    return this.box;
  }

  /** The filter of a collection for this caller; `null` when the bbox lies outside the work CRS's area. */
  private async where(c: TileLayer, caller: Caller, q: Partial<ItemsQuery>): Promise<Where | null> {
    let w: Where;
    if (c.kind === 'survey') {
      const f = q.filters ?? {};
      const { where, params } = filterWhere(
        {
          regionCode: this.o.regionCode, villageScope: caller.scope, includeRemoved: false,
          village: f.village as string[] | undefined, status: f.status as string[] | undefined,
          flags: f.flags as string[] | undefined, batch: f.batch_id as number | undefined, survey: f.survey as string | undefined,
        },
        { imported_from: q.importedFrom, imported_to: q.importedTo }, this.o.workSrid,
      );
      w = new Where(params);
      w.clauses.push(where);
    } else {
      w = new Where();
      w.add((n) => `p.region_code = ${n(this.o.regionCode)}`);
      if (c.kind === 'features') {
        w.add((n) => `p.layer_id = ${n(c.layerId)}`);
        // village outlines are per village: a village-limited caller sees only its own
        if (c.layerName === 'village' && caller.scope) w.add((n) => `p.name = ANY(${n(caller.scope)}::text[])`);
      }
      // property filters: column names from this fixed map, values as parameters
      const COLUMNS: Record<string, string> = { land_use: 'p.land_use', parcel_code: 'p.parcel_code', name: 'p.name', code: 'p.code' };
      for (const [k, v] of Object.entries(q.filters ?? {})) {
        if (v !== undefined && COLUMNS[k]) w.add((n) => `${COLUMNS[k]} = ${n(v)}`);
      }
    }
    if (q.fid !== undefined) w.add((n) => `p.id = ${n(q.fid)}`);
    if (q.bbox && q.bboxCrs && !q.bboxCrs.geographic) {
      const first = w.params.length;
      w.params.push(...q.bbox, this.o.workSrid);
      w.clauses.push(`(${fragment(SQL.bbox_work, first)})`);
    } else if (q.bbox) {
      // CRS84 or EPSG:4490 (same numbers within centimetres): a lon/lat box
      const [bw, bs, be, bn] = await this.workBox();
      const box: LonLatBox = [Math.max(q.bbox[0], bw), Math.max(q.bbox[1], bs), Math.min(q.bbox[2], be), Math.min(q.bbox[3], bn)];
      if (box[0] >= box[2] || box[1] >= box[3]) return null;
      const first = w.params.length;
      w.params.push(...box, this.o.workSrid);
      w.clauses.push(`(${fragment(SQL.bbox, first)})`);
    }
    return w;
  }

  /** CRS84 extent of what the caller may see, or null for an empty collection. */
  async extent(c: TileLayer, caller: Caller): Promise<[number, number, number, number] | null> {
    const w = (await this.where(c, caller, {}))!;
    const sql = SQL[`${c.kind}_extent`].replace('/*filter*/', shiftParams(w.sql, 1));
    const r = (await this.o.db.query<{ xmin: number | null; ymin: number; xmax: number; ymax: number }>(sql, [this.o.workSrid, ...w.params])).rows[0];
    return r && r.xmin !== null ? [r.xmin, r.ymin, r.xmax, r.ymax] : null;
  }

  /**
   * One page: the features as GeoJSON text (written by PostGIS), how many were returned, how many matched
   * (when asked), and the cursor of the next page (the last id served) when there is one.
   */
  async items(c: TileLayer, caller: Caller, q: ItemsQuery): Promise<{ features: string; returned: number; matched?: number; next?: number }> {
    const w = await this.where(c, caller, q);
    if (!w) return { features: '', returned: 0, matched: q.count ? 0 : undefined };
    const crs = q.crs ?? servedCrs(this.o.workSrid)[0];
    const count = SQL[`${c.kind}_count`].replace('/*filter*/', w.sql);
    const page = SQL[`${c.kind}_items`].replace('/*filter*/', shiftParams(w.sql, 3)).replace('/*geom*/', geomSql(crs, this.o.workSrid));
    const [m, p] = await Promise.all([
      q.count ? this.o.db.query<{ n: number }>(count, w.params) : undefined,
      // prepared: a GIS client sends the same statement for every page (the filters give a few texts at most)
      this.o.db.query<{ features: string; n: number; last: string | number | null; more: boolean }>(page, [q.limit, q.after, crs.decimals, ...w.params], { prepare: true }),
    ]);
    const r = p.rows[0];
    return { features: r.features, returned: r.n, matched: m?.rows[0].n, next: r.more && r.last !== null ? Number(r.last) : undefined };
  }
}
