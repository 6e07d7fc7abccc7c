/**
 * Priority weights (issue 13 rule 9): one table an admin can change (priority_weight, migration 009); the
 * score itself is computed by reconcile.sql summary_rows. explainPriority() restates that sum term by term
 * for the detail panel — the integration test checks that its total equals the stored score.
 */
import { z } from 'zod';
import type { Db, Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { reconcile } from './reconcile';

const SQL = sqlSet(new URL('./priority.sql', import.meta.url), ['weights', 'set_weight'] as const);

export const WEIGHT_KEYS = [
  'frontage', 'compound', 'green', 'school', 'other_layer', 'area_per_100m2', 'area_cap', 'geom_changed',
] as const;
export type WeightKey = (typeof WEIGHT_KEYS)[number];
export type Weights = Record<WeightKey, number>;

/** Flags that say something about the data, not about the place: they carry no weight. */
export const DATA_FLAGS = ['no_village', 'village_straddle', 'village_mismatch'] as const;
const PRIORITY_LAYERS = ['frontage', 'compound', 'green', 'school'] as const;

export interface WeightRow {
  key: WeightKey;
  weight: number;
  sort: number;
  label_zh: string;
  label_en: string;
  updated_at: string;
  updated_by_name: string | null;
}

export async function weightRows(q: Queryable): Promise<WeightRow[]> {
  return (await q.query<WeightRow>(SQL.weights)).rows;
}

export async function weights(q: Queryable): Promise<Weights> {
  return Object.fromEntries((await weightRows(q)).map((r) => [r.key, r.weight])) as Weights;
}

export const WeightsBody = z
  .object(Object.fromEntries(WEIGHT_KEYS.map((k) => [k, z.number().min(0).max(100000).optional()])) as Record<WeightKey, z.ZodOptional<z.ZodNumber>>)
  .strict()
  .refine((b) => Object.values(b).some((v) => v !== undefined), { message: 'give at least one weight' });
export type WeightsBody = z.infer<typeof WeightsBody>;

/**
 * Changes weights and recomputes every polygon's score in the same transaction (the summary step of
 * reconciliation only: no overlay is redone). Returns the new weights and how many polygons were scored.
 */
export async function setWeights(db: Db, o: { regionCode: string; schoolDistanceM: number; by: string; body: WeightsBody }) {
  return db.tx(async (q) => {
    for (const k of WEIGHT_KEYS) {
      const w = o.body[k];
      if (w !== undefined) await q.query(SQL.set_weight, [k, w, o.by]);
    }
    const r = await reconcile(q, {
      regionCode: o.regionCode, polygons: 'all', parcels: false, layers: [], prior: false, schoolDistanceM: o.schoolDistanceM,
    });
    return { weights: await weightRows(q), polygons: r.polygons, seconds: r.seconds };
  });
}

export interface PriorityTerm {
  key: WeightKey;
  /** what the polygon has for this term: 1/0 for a flag, m² for the area */
  value: number;
  weight: number;
  points: number;
}

/** The sum of summary_rows, term by term (rounded like it to 2 decimals). */
export function explainPriority(w: Weights, p: { flags: string[]; area_m2: number; geom_changed: boolean }) {
  const has = (f: string) => (p.flags.includes(f) ? 1 : 0);
  const other = p.flags.some((f) => !(PRIORITY_LAYERS as readonly string[]).includes(f) && !(DATA_FLAGS as readonly string[]).includes(f)) ? 1 : 0;
  const terms: PriorityTerm[] = [
    ...PRIORITY_LAYERS.map((k) => ({ key: k, value: has(k), weight: w[k], points: w[k] * has(k) })),
    { key: 'other_layer', value: other, weight: w.other_layer, points: w.other_layer * other },
    {
      key: 'area_per_100m2', value: p.area_m2, weight: w.area_per_100m2,
      points: Math.min(w.area_cap, (w.area_per_100m2 * p.area_m2) / 100),
    },
    { key: 'geom_changed', value: p.geom_changed ? 1 : 0, weight: w.geom_changed, points: p.geom_changed ? w.geom_changed : 0 },
  ];
  const total = Math.round(terms.reduce((s, t) => s + t.points, 0) * 100) / 100;
  const formula =
    'frontage·[吉安大道沿线] + compound·[居民小区] + green·[公共绿地] + school·[学校周边] + other_layer·[其他图层] ' +
    '+ min(area_cap, area_per_100m2 × 面积/100) + geom_changed·[图形变化]';
  return { total, formula, area_cap: w.area_cap, terms: terms.map((t) => ({ ...t, points: Math.round(t.points * 100) / 100 })) };
}
