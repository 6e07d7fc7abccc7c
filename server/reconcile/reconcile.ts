import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';

const SQL = sqlSet(new URL('./reconcile.sql', import.meta.url), [
  'create_scope', 'clear_scope', 'scope_all', 'scope_ids', 'analyze_scope',
  'snapshot_before', 'snapshot_fill', 'snapshot_clear',
  'session_settings', 'parcels_clear', 'parcels_overlap_compute', 'parcels_overlap_store', 'parcels_overlap_drop',
  'layer_clear', 'layer_flag', 'layer_assign', 'layer_distance', 'layer_overlap',
  'prior_clear', 'prior_overlap', 'summary', 'changes',
] as const);

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
  const scoped =
    o.polygons === 'all'
      ? await step('scope', SQL.scope_all, [o.regionCode])
      : await step('scope', SQL.scope_ids, [o.regionCode, o.polygons]);
  await q.query(SQL.analyze_scope);
  await q.query(SQL.snapshot_before);
  await q.query(SQL.snapshot_clear);
  await q.query(SQL.snapshot_fill);

  if (o.parcels) {
    await step('parcels_clear', SQL.parcels_clear);
    // computed by a statement that may run in parallel, then stored in one insert (reconcile.sql)
    await step('parcels_overlap', SQL.parcels_overlap_compute, [o.regionCode, o.polygons === 'all' ? null : o.polygons]);
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
  const otherSurveys = o.prior
    ? (await q.query<{ n: number }>(
        'SELECT count(DISTINCT survey)::int AS n FROM survey_polygon WHERE region_code = $1', [o.regionCode])).rows[0].n > 1
    : false;
  if (otherSurveys) {
    await step('prior_clear', SQL.prior_clear);
    await step('prior_overlap', SQL.prior_overlap);
  }

  const village = layers.find((l) => l.name === 'village');
  const school = layers.find((l) => l.name === 'school');
  await step('summary', SQL.summary, [village?.id ?? -1, school?.id ?? -1, village?.has_features ?? false]);
  const changes = (await q.query<ReconcileReport['changes']>(SQL.changes)).rows[0];
  await q.query(SQL.clear_scope);
  return {
    polygons: scoped.rowCount,
    seconds: Math.round(performance.now() - started) / 1000,
    steps,
    changes: { ...changes, examples: changes.examples ?? [] },
  };
}
