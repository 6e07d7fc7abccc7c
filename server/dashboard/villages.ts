/**
 * Coverage choropleth: the village layer's outlines with the by_village figures of GET /api/coverage
 * (same computation, same filter) as properties. Village-limited callers get their villages only.
 */
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { computeCoverage, type CoverageInput } from './coverage';

const SQL = sqlSet(new URL('./villages.sql', import.meta.url), ['village_features'] as const);

/** The FeatureCollection as text (geometries are spliced in as PostGIS wrote them, never re-parsed). */
export async function villageChoropleth(q: Queryable, c: CoverageInput): Promise<string> {
  const cov = await computeCoverage(q, c);
  const byName = new Map(cov.by_village.map((v) => [v.village, v]));
  const rows = (await q.query<{ id: number; name: string | null; code: string | null; geometry: string; label: number[] | null }>(
    SQL.village_features, [c.base.regionCode, c.base.villageScope ?? null],
  )).rows;
  const features = rows.map((r) => {
    const v = r.name !== null ? byName.get(r.name) : undefined;
    const properties = {
      id: r.id,
      name: r.name,
      code: r.code,
      label: r.label,
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
    return `{"type":"Feature","id":${r.id},"geometry":${r.geometry},"properties":${JSON.stringify(properties)}}`;
  });
  return `{"type":"FeatureCollection","as_of":${JSON.stringify(cov.as_of)},"features":[${features.join(',')}]}`;
}
