import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';

const TEMPLATE = sqlSet(new URL('./reconcile.sql', import.meta.url), [
  'create_scope', 'clear_scope', 'scope_all', 'scope_ids', 'scope_source', 'other_surveys_source', 'analyze_scope',
  'snapshot_before', 'snapshot_fill', 'snapshot_clear',
  'session_settings', 'parcels_clear', 'parcels_overlap_compute', 'parcels_overlap_store', 'parcels_overlap_drop',
  'layer_clear', 'layer_flag', 'layer_assign', 'layer_distance', 'layer_overlap',
  'prior_clear', 'prior_overlap', 'summary_rows', 'summary', 'summary_insert', 'changes',
] as const);

/**
 * The statements with {{polygons}}, {{parcels}} (and {{summary_rows}}) filled in, per relation the polygons
 * and the parcels are read from.
 */
const bound = new Map<string, typeof TEMPLATE>();
function statementsFor(polygons: string, parcels: string): typeof TEMPLATE {
  // identifiers the caller chose (stored tables or staging table names), never user input; checked anyway
  for (const t of [polygons, parcels]) if (!/^[a-z_][a-z0-9_]*$/.test(t)) throw new Error(`reconcile: bad relation name ${t}`);
  const key = `${polygons} ${parcels}`;
  let s = bound.get(key);
  if (!s) {
    // replacer functions: a string replacement would read `$'` in the SQL (a regex's '…{12}$') as a pattern
    const fill = (t: string) => t.replaceAll('{{summary_rows}}', () => TEMPLATE.summary_rows)
      .replaceAll('{{polygons}}', () => polygons).replaceAll('{{parcels}}', () => parcels);
    s = Object.fromEntries(Object.entries(TEMPLATE).map(([k, v]) => [k, fill(v as string)])) as typeof TEMPLATE;
    // staging tables are named per import batch: keep only the stored-table set for good
    if (polygons === 'survey_polygon' && parcels === 'parcel') bound.set(key, s);
  }
  return s;
}

export interface LayerRow {
  id: number;
  name: string;
  role: 'survey' | 'overlap' | 'flag' | 'assign' | 'distance';
  distance_m: number | null;
}

export interface ReconcileOptions {
  regionCode: string;
  /** which polygons: all of the region (a reference layer changed) or these ids (new/changed polygons) */
  polygons: 'all' | number[];
  /**
   * New polygons not stored yet: the name of a table holding them with survey_polygon's columns and ids
   * already drawn from its sequence (load.sql survey_new_create). Every row of it is reconciled and then
   * inserted into survey_polygon with its results, in one write (`polygons` is ignored).
   */
  source?: string;
  /**
   * The source table already has statistics. If not, reconcile takes them just before the summary: PGlite's
   * PostGIS fails a spatial join's selectivity (out of range) against a tiny analysed table, so the embedded
   * database runs the spatial steps without them.
   */
  sourceAnalyzed?: boolean;
  /**
   * A cadastral import's new parcels, loaded into a table of their own and not yet swapped in as the
   * region's partition of parcel (ingest/parcels.ts): the overlay reads them from there. Default: parcel.
   */
  parcelsFrom?: string;
  /** which results to recompute: parcels, some layers (ids) or all layers, cross-survey overlaps */
  parcels: boolean;
  layers: 'all' | number[];
  prior: boolean;
  /** built-in school layer threshold (m) */
  schoolDistanceM: number;
}

export interface ReconcileReport {
  polygons: number;
  seconds: number;
  steps: Record<string, number>;
  /** compared with before: polygons reconciled for the first time, and those whose results changed */
  changes: { first_time: number; village: number; flags: number; parcels: number; examples: string[] };
}

/**
 * Recompute reconciliation results for a set of polygons, inside the caller's transaction. Each step is
 * one set-based statement; the summary step denormalises results onto survey_polygon for the queue.
 */
export async function reconcile(q: Queryable, o: ReconcileOptions): Promise<ReconcileReport> {
  const started = performance.now();
  const SQL = statementsFor(o.source ?? 'survey_polygon', o.parcelsFrom ?? 'parcel');
  const steps: Record<string, number> = {};
  const step = async (name: string, sql: string, params: unknown[] = []) => {
    const t = performance.now();
    const r = await q.query(sql, params);
    steps[name] = Math.round(performance.now() - t + (steps[name] ?? 0));
    return r;
  };

  await q.query(SQL.session_settings);
  await q.query(SQL.create_scope);
  await q.query(SQL.clear_scope);
  const scoped = o.source
    ? await step('scope', SQL.scope_source)
    : o.polygons === 'all'
      ? await step('scope', SQL.scope_all, [o.regionCode])
      : await step('scope', SQL.scope_ids, [o.regionCode, o.polygons]);
  await q.query(SQL.analyze_scope);
  // new polygons have no earlier results to compare with
  if (!o.source) {
    await q.query(SQL.snapshot_before);
    await q.query(SQL.snapshot_clear);
    await q.query(SQL.snapshot_fill);
  }

  if (o.parcels) {
    await step('parcels_clear', SQL.parcels_clear);
    // computed by a statement that may run in parallel, then stored in one insert (reconcile.sql)
    await step('parcels_overlap', SQL.parcels_overlap_compute,
      [o.regionCode, o.source || o.polygons === 'all' ? null : o.polygons]);
    await step('parcels_store', SQL.parcels_overlap_store);
    await q.query(SQL.parcels_overlap_drop);
  }

  const layers = (
    await q.query<LayerRow & { has_features: boolean }>(
      `SELECT l.id, l.name, l.role, l.distance_m,
              EXISTS (SELECT 1 FROM layer_feature f WHERE f.layer_id = l.id AND f.region_code = $1) AS has_features
       FROM layer l WHERE l.role NOT IN ('survey') AND l.name <> 'cadastral' ORDER BY l.id`,
      [o.regionCode],
    )
  ).rows;
  for (const l of layers) {
    if (o.layers !== 'all' && !o.layers.includes(l.id)) continue;
    await step(`layer_${l.name}`, SQL.layer_clear, [l.id]);
    if (!l.has_features) continue;
    if (l.role === 'flag') await step(`layer_${l.name}`, SQL.layer_flag, [l.id]);
    else if (l.role === 'assign') await step(`layer_${l.name}`, SQL.layer_assign, [l.id]);
    else if (l.role === 'overlap') await step(`layer_${l.name}`, SQL.layer_overlap, [l.id]);
    else if (l.role === 'distance') {
      const d = l.name === 'school' ? o.schoolDistanceM : (l.distance_m ?? 0);
      await step(`layer_${l.name}`, SQL.layer_distance, [l.id, d]);
    }
  }

  // cross-survey overlaps only exist once a second survey (or key) is in the region
  const otherSurveys = !o.prior
    ? false
    : o.source
      ? (await q.query<{ any: boolean }>(SQL.other_surveys_source, [o.regionCode])).rows[0].any
      : (await q.query<{ n: number }>(
        'SELECT count(DISTINCT survey)::int AS n FROM survey_polygon WHERE region_code = $1', [o.regionCode])).rows[0].n > 1;
  if (otherSurveys) {
    await step('prior_clear', SQL.prior_clear);
    await step('prior_overlap', SQL.prior_overlap);
  }

  const village = layers.find((l) => l.name === 'village');
  const school = layers.find((l) => l.name === 'school');
  const summaryParams = [village?.id ?? -1, school?.id ?? -1, village?.has_features ?? false];
  let changes: ReconcileReport['changes'];
  if (o.source) {
    // statistics before the summary's joins (with none, the planner expects a handful of rows and repeats
    // the per-polygon aggregates for each); taken here, after the spatial steps, when the caller could not
    if (!o.sourceAnalyzed) await q.query(`ANALYZE ${o.source}`);
    await step('summary', SQL.summary_insert, summaryParams);
    changes = { first_time: scoped.rowCount, village: 0, flags: 0, parcels: 0, examples: [] };
  } else {
    await step('summary', SQL.summary, summaryParams);
    changes = (await q.query<ReconcileReport['changes']>(SQL.changes)).rows[0];
  }
  await q.query(SQL.clear_scope);
  return {
    polygons: scoped.rowCount,
    seconds: Math.round(performance.now() - started) / 1000,
    steps,
    changes: { ...changes, examples: changes.examples ?? [] },
  };
}
