/**
 * Coverage choropleth: the village layer's outlines with the by_village figures of GET /api/coverage
 * (same computation, same filter) as properties. Village-limited callers get their villages only.
 * Without figures (`figures=0`) only the outlines and label points: the dashboard fetches them once and
 * colours them with the by_village figures it already has, instead of having coverage computed twice.
 */
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { computeCoverage, type CoverageInput } from './coverage';

const SQL = sqlSet(new URL('./villages.sql', import.meta.url), ['village_features'] as const);

interface OutlineRow {
  id: number;
  name: string | null;
  code: string | null;
  geometry: string;
  label: number[] | null;
}

/** A FeatureCollection as text: geometries are spliced in as PostGIS wrote them, never re-parsed. */
async function outlines(q: Queryable, regionCode: string, scope: string[] | undefined, more: (r: OutlineRow) => object, head = '') {
  const rows = (await q.query<OutlineRow>(SQL.village_features, [regionCode, scope ?? null])).rows;
  const features = rows.map((r) => {
    const properties = { id: r.id, name: r.name, code: r.code, label: r.label, ...more(r) };
    return `{"type":"Feature","id":${r.id},"geometry":${r.geometry},"properties":${JSON.stringify(properties)}}`;
  });
  return `{"type":"FeatureCollection",${head}"features":[${features.join(',')}]}`;
}

/** The outlines alone (id, name, code, label point). */
export const villageOutlines = (q: Queryable, regionCode: string, scope: string[] | undefined) => outlines(q, regionCode, scope, () => ({}));

export async function villageChoropleth(q: Queryable, c: CoverageInput): Promise<string> {
  const cov = await computeCoverage(q, c);
  const byName = new Map(cov.by_village.map((v) => [v.village, v]));
  return outlines(q, c.base.regionCode, c.base.villageScope, (r) => {
    const v = r.name !== null ? byName.get(r.name) : undefined;
    return {
      total: v?.total ?? 0,
      decided: v?.decided ?? 0,
      share: v?.share ?? null,
      verified: v?.verified ?? 0,
      linked: v?.linked ?? 0,
      dismissed: v?.dismissed ?? 0,
      pending: v?.pending ?? 0,
      field_check: v?.field_check ?? 0,
      filter: v?.filter ?? { ...c.baseQuery, village: r.name ?? '-' },
    };
  }, `"as_of":${JSON.stringify(cov.as_of)},`);
}
