-- Survey polygons also in EPSG:3857, the vector tiles' CRS, kept by PostgreSQL itself (a stored generated
-- column follows every insert and every new geometry of a later delivery). A survey tile transformed every
-- polygon it held on every request: with the transform done once, at import, a z12 overview tile (4,000+
-- polygons) takes ~15% less database time, and a z16 tile ~25% less (scripts/bench/tiles.ts,
-- docs/BENCHMARKS.md). Only the survey: it is what analysts look at all day, and parcels (500k rows) would
-- cost more at import than they gain. IF NOT EXISTS: benchmark databases got the column by hand first.
ALTER TABLE survey_polygon
  ADD COLUMN IF NOT EXISTS geom_web geometry(MultiPolygon, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
