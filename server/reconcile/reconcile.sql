-- Reconciliation: every statement is set-based over the polygons listed in the temp table
-- reconcile_scope(region_code, id), except the parcel overlay, which takes the ids as a parameter (see
-- there). No per-polygon round trips. Geometries are in the planar work CRS.
--
-- {{polygons}} is the relation the polygons are read from: survey_polygon, or — for polygons a survey
-- import delivers for the first time — that import's staging table (see scope_source and summary_insert),
-- so new polygons are written once, with their results, instead of inserted and then rewritten by an
-- UPDATE. reconcile.ts substitutes it (an identifier it checks), and {{summary_rows}} likewise.

-- name: create_scope
CREATE TEMP TABLE IF NOT EXISTS reconcile_scope (region_code text NOT NULL, id bigint NOT NULL, PRIMARY KEY (region_code, id))
ON COMMIT DELETE ROWS

-- name: clear_scope
DELETE FROM reconcile_scope

-- name: scope_all
-- $1 region_code: every polygon of the region (a reference layer changed)
INSERT INTO reconcile_scope (region_code, id) SELECT region_code, id FROM survey_polygon WHERE region_code = $1

-- name: scope_source
-- every polygon of the staging table of new polygons ({{polygons}})
INSERT INTO reconcile_scope (region_code, id) SELECT region_code, id FROM {{polygons}}

-- name: other_surveys_source
-- $1 region: polygons of another survey than the new ones are already stored (cross-survey overlaps)
SELECT EXISTS (
  SELECT 1 FROM survey_polygon e WHERE e.region_code = $1 AND e.survey NOT IN (SELECT survey FROM {{polygons}})
) AS any

-- name: scope_ids
-- $1 region_code, $2 bigint[] polygon ids
INSERT INTO reconcile_scope (region_code, id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING

-- name: analyze_scope
ANALYZE reconcile_scope

-- name: snapshot_before
-- what the scope looked like before, to report what changed
CREATE TEMP TABLE IF NOT EXISTS reconcile_before AS
SELECT p.region_code, p.id, p.flags, p.village_name, p.largest_parcel_id, p.parcel_count, p.reconciled_at
FROM survey_polygon p WHERE false

-- name: snapshot_fill
INSERT INTO reconcile_before
SELECT p.region_code, p.id, p.flags, p.village_name, p.largest_parcel_id, p.parcel_count, p.reconciled_at
FROM reconcile_scope s JOIN survey_polygon p ON p.region_code = s.region_code AND p.id = s.id

-- name: snapshot_clear
DELETE FROM reconcile_before

-- name: parcels_clear
DELETE FROM polygon_parcel pp USING reconcile_scope s
WHERE pp.region_code = s.region_code AND pp.polygon_id = s.id

-- name: session_settings
-- For this transaction only. The summary's sorts (overlap rows per polygon) spill to disk at the stock
-- 4 MB work_mem on a district (100k overlap rows); 64 MB keeps them in memory.
SET LOCAL work_mem = '64MB'

-- name: parcels_overlap_compute
-- $1 region_code, $2 bigint[] polygon ids or NULL for every polygon of the region (NULL IS NULL folds
-- away: the driver sends a fresh plan per call). {{parcels}}: parcel, or a cadastral import's new parcels
-- before they are swapped in (ingest/parcels.ts).
-- Step 1 of the overlay: intersection areas only, driven from the polygons into the parcel GiST index.
-- Why this shape (measured on the district, 50k polygons × 518k parcels, PostgreSQL 15, 2 cores):
-- * CREATE TABLE AS, not INSERT … SELECT: PostgreSQL 15 never runs an INSERT plan in parallel, but the
--   SELECT of a CREATE TABLE AS may use parallel workers (the leader alone writes the result, so even a
--   TEMP target is fine; no scratch name can collide between concurrent imports). INSERT: 6.5 s serial;
--   this: 2.3 s with 2 workers. PGlite has no workers and runs the same plan serially.
-- * The polygons are read from survey_polygon with the ids as an array parameter, not joined to the
--   temp reconcile_scope: a query touching a temp table is never parallel.
-- * COALESCE(p.geom, p.geom) is p.geom, but it is not the indexed column, so the planner cannot turn the
--   join around and drive it from the 518k parcels into the survey GiST index (that parallel plan was
--   5.7–7.2 s); it drives from the polygons and probes parcel_geom_idx, as intended.
-- * Plain ST_Area(ST_Intersection()) measured faster than testing ST_CoveredBy first (most polygons
--   straddle parcels). The sliver filter is applied in parcels_overlap_store, so ST_Intersection is
--   evaluated once.
CREATE TEMP TABLE reconcile_overlap AS
SELECT p.region_code, p.id AS polygon_id, c.id AS parcel_id, p.area_m2 AS polygon_area,
       ST_Area(ST_Intersection(p.geom, c.geom)) AS a
FROM {{polygons}} p
JOIN {{parcels}} c ON c.region_code = p.region_code AND ST_Intersects(c.geom, COALESCE(p.geom, p.geom))
WHERE p.region_code = $1 AND ($2::bigint[] IS NULL OR p.id = ANY ($2::bigint[]))

-- name: parcels_overlap_store
-- Step 2: one bulk insert of the computed pairs (0.5 s for 100k rows, primary key maintained; dropping
-- and rebuilding the key saved 0.15 s but would lock polygon_parcel exclusively for the whole import).
-- Slivers under 0.01 m² are numeric noise from shared edges, not overlaps.
INSERT INTO polygon_parcel (region_code, polygon_id, parcel_id, overlap_m2, share)
SELECT region_code, polygon_id, parcel_id, a, LEAST(1, a / NULLIF(polygon_area, 0))
FROM reconcile_overlap
WHERE a >= 0.01

-- name: parcels_overlap_drop
DROP TABLE reconcile_overlap

-- name: layer_clear
-- $1 layer id
DELETE FROM polygon_layer pl USING reconcile_scope s
WHERE pl.layer_id = $1 AND pl.region_code = s.region_code AND pl.polygon_id = s.id

-- name: layer_flag
-- $1 layer id. Role 'flag': the polygon touches any feature; keep the feature with the largest overlap.
-- Line or point features (a centreline, a well) have no area: they count by intersection alone. A
-- polygonal feature must overlap by the same 0.01 m² floor as parcels: a shared edge leaves a sliver of
-- numeric noise (2.5×10⁻⁷ m² against a green space gave +20 priority: issue 13 rule 10).
INSERT INTO polygon_layer (region_code, polygon_id, layer_id, feature_id, overlap_m2, share, distance_m, hit)
SELECT p.region_code, p.id, $1, b.id, b.a, b.a / NULLIF(p.area_m2, 0), 0, true
FROM reconcile_scope s
JOIN {{polygons}} p ON p.region_code = s.region_code AND p.id = s.id
CROSS JOIN LATERAL (
  SELECT x.id, x.a
  FROM (
    SELECT f.id, CASE WHEN ST_Dimension(f.geom) = 2 THEN ST_Area(ST_Intersection(f.geom, p.geom)) END AS a
    FROM layer_feature f
    WHERE f.region_code = p.region_code AND f.layer_id = $1 AND ST_Intersects(f.geom, p.geom)
  ) x
  WHERE x.a IS NULL OR x.a >= 0.01
  ORDER BY x.a DESC NULLS LAST, x.id
  LIMIT 1
) b

-- name: layer_assign
-- $1 layer id. Role 'assign': the polygonal feature of largest overlap (e.g. the village) is the hit; the
-- second largest is kept too, not a hit, so a polygon straddling two villages can name both (issue 13
-- rule 11). Slivers under 0.01 m² are noise, as for parcels.
INSERT INTO polygon_layer (region_code, polygon_id, layer_id, feature_id, overlap_m2, share, distance_m, hit)
SELECT p.region_code, p.id, $1, b.id, b.a, LEAST(1, b.a / NULLIF(p.area_m2, 0)), 0, b.rank = 1
FROM reconcile_scope s
JOIN {{polygons}} p ON p.region_code = s.region_code AND p.id = s.id
CROSS JOIN LATERAL (
  SELECT x.id, x.a, row_number() OVER (ORDER BY x.a DESC, x.id) AS rank
  FROM (
    SELECT f.id, ST_Area(ST_Intersection(f.geom, p.geom)) AS a
    FROM layer_feature f
    WHERE f.region_code = p.region_code AND f.layer_id = $1 AND ST_Intersects(f.geom, p.geom)
      AND ST_Dimension(f.geom) = 2
  ) x
  WHERE x.a >= 0.01
  ORDER BY x.a DESC, x.id
  LIMIT 2
) b

-- name: layer_distance
-- $1 layer id, $2 threshold metres. Role 'distance': the nearest feature, flagged when within the
-- threshold. Two index steps instead of ORDER BY geom <-> geom: the exact-distance KNN operator's recheck
-- failed on PostGIS/PGlite with "index returned tuples in wrong order" after point and line layers were
-- imported. The box-distance operator <#> (no recheck) finds a near feature, its exact distance ub bounds
-- the answer from above, and the exact nearest is the closest of the features within ub (+1 µm so float
-- rounding in ST_DWithin cannot drop the bounding feature itself; ties: lowest id,
-- so reruns pick the same feature).
INSERT INTO polygon_layer (region_code, polygon_id, layer_id, feature_id, overlap_m2, share, distance_m, hit)
SELECT p.region_code, p.id, $1, n.id, NULL, NULL, n.d, n.d <= $2
FROM reconcile_scope s
JOIN {{polygons}} p ON p.region_code = s.region_code AND p.id = s.id
CROSS JOIN LATERAL (
  SELECT ST_Distance(f.geom, p.geom) AS ub
  FROM layer_feature f
  WHERE f.region_code = p.region_code AND f.layer_id = $1
  ORDER BY f.geom <#> p.geom
  LIMIT 1
) b
CROSS JOIN LATERAL (
  SELECT f.id, ST_Distance(f.geom, p.geom) AS d
  FROM layer_feature f
  WHERE f.region_code = p.region_code AND f.layer_id = $1 AND ST_DWithin(f.geom, p.geom, b.ub + 1e-6)
  ORDER BY d, f.id
  LIMIT 1
) n

-- name: layer_overlap
-- $1 layer id. Role 'overlap': every polygonal feature overlapping the polygon, with area and share.
-- COALESCE(p.geom, p.geom): the join is estimated from no statistics (ST_Intersects' support function
-- otherwise runs PostGIS's join estimator, which in PGlite returns a pointer as the selectivity when the
-- layer and the survey do not overlap at all: "invalid function selectivity"; see load.sql
-- survey_match_overlap). The layer's GiST index is still probed from each polygon.
INSERT INTO polygon_layer (region_code, polygon_id, layer_id, feature_id, overlap_m2, share, distance_m, hit)
SELECT p.region_code, p.id, $1, f.id, o.a, LEAST(1, o.a / NULLIF(p.area_m2, 0)), 0, true
FROM reconcile_scope s
JOIN {{polygons}} p ON p.region_code = s.region_code AND p.id = s.id
JOIN layer_feature f ON f.region_code = p.region_code AND f.layer_id = $1 AND ST_Intersects(f.geom, COALESCE(p.geom, p.geom))
CROSS JOIN LATERAL (SELECT ST_Area(ST_Intersection(f.geom, p.geom)) AS a) o
WHERE ST_Dimension(f.geom) = 2 AND o.a >= 0.01

-- name: prior_clear
DELETE FROM polygon_prior pr USING reconcile_scope s
WHERE pr.region_code = s.region_code AND (pr.polygon_id = s.id OR pr.prior_id = s.id)

-- name: prior_overlap
-- Polygons of other surveys overlapping a polygon in scope, stored both ways: a 2021 polygon shows the
-- decision taken on the 2020 one (by geometry, codes differ between surveys).
INSERT INTO polygon_prior (region_code, polygon_id, prior_id, share)
SELECT x.region_code, v.a, v.b, v.sh
FROM (
  SELECT p.region_code, p.id AS pid, q.id AS qid, p.area_m2 AS pa, q.area_m2 AS qa, o.ar
  FROM reconcile_scope s
  JOIN {{polygons}} p ON p.region_code = s.region_code AND p.id = s.id
  JOIN survey_polygon q ON q.region_code = p.region_code AND q.survey <> p.survey AND q.geom && p.geom
  -- the overlay snap-rounds to a 1 mm grid (OverlayNG, gridSize): two surveys' edges a nanometre apart (a
  -- re-survey reprojected from another CRS) made GEOS throw a TopologyException out of the whole import,
  -- valid inputs or not (found by the ingest invariant test on PostgreSQL); a 1 mm grid moves no area
  -- that the 0.01 m² floor could notice
  CROSS JOIN LATERAL (SELECT ST_Area(ST_Intersection(q.geom, p.geom, 0.001)) AS ar) o
  WHERE o.ar >= 0.01
) x
CROSS JOIN LATERAL (VALUES (x.pid, x.qid, LEAST(1, x.ar / NULLIF(x.pa, 0))),
                           (x.qid, x.pid, LEAST(1, x.ar / NULLIF(x.qa, 0)))) v(a, b, sh)
ON CONFLICT DO NOTHING

-- name: summary_rows
-- The per-polygon results (a subquery of summary and summary_insert; $1 village layer id, $2 school layer
-- id, $3 whether the village layer has features — no layer yet: no 'no_village' flag on everything).
-- The inputs are aggregated set-wise (hash joins against the scope) rather than looked up polygon by
-- polygon in LATERAL subqueries: on the district the select side went from 1.9 s to under 0.5 s. The parcel
-- summary (count, largest overlap), the layer results denormalised for the queue — flags = names of every
-- flag/distance/overlap layer hit, plus the data flags no_village, village_straddle, village_mismatch —
-- and the priority score computed from them.
--
-- Priority (issue 13 rule 9): the plan's 整治重点 in order, with the weights of table priority_weight (an
-- admin may change them; polygons/priority.ts explains the sum in the detail panel, term by term):
--   frontage·[吉安大道沿线] + compound·[居民小区] + green·[公共绿地] + school·[学校周边]
--   + other_layer·[any custom layer] + min(area_cap, area_per_100m2 · area/100) + geom_changed·[geometry changed]
-- The data flags (no village, straddling, 村名 differs) carry no weight: they are problems of the data to
-- fix, not reasons to act first. Documented in docs/RECONCILIATION.md.
--
-- Village (属地, rule 11): the village of largest overlap, its 12-digit code (行政区代码 from the village
-- layer's attributes: XZQDM, ZLDWDM, 村代码 …), its share; below 80% the polygon straddles villages and keeps
-- the second; a delivered 村名 that differs from the computed village is flagged.
WITH village_code AS MATERIALIZED (
  -- the villages (a few dozen features, once) with their code: the first attribute holding 12 digits, in
  -- this order of names; the importer's feature code (polygon-code synonyms) only when it is 12 digits
  SELECT f.region_code, f.id, f.name,
         COALESCE((SELECT kv.value FROM jsonb_each_text(f.attrs) kv
                   WHERE kv.value ~ '^[0-9]{12}$' AND array_position(k.names, upper(kv.key)) IS NOT NULL
                   ORDER BY array_position(k.names, upper(kv.key))
                   LIMIT 1),
                  CASE WHEN f.code ~ '^[0-9]{12}$' THEN f.code END) AS code12
  FROM layer_feature f
  CROSS JOIN (SELECT ARRAY['XZQDM', 'ZLDWDM', '村代码', '行政区代码', 'XZQHDM', '行政区划代码', 'CUNDM', 'CDM', '村级代码']
                     AS names) k
  WHERE f.layer_id = $1
)
SELECT y.region_code, y.id, y.flags, y.village_id, y.village_name, y.village_code, y.village_share,
       y.village2_name, y.village2_code, y.school_distance_m,
       y.parcel_count, y.largest_parcel_id, y.largest_parcel_share,
       round((
           w.frontage * (('frontage' = ANY (y.flags))::int)
         + w.compound * (('compound' = ANY (y.flags))::int)
         + w.green * (('green' = ANY (y.flags))::int)
         + w.school * (('school' = ANY (y.flags))::int)
         + w.other_layer * (EXISTS (SELECT 1 FROM unnest(y.flags) f
                                    WHERE f NOT IN ('frontage', 'school', 'compound', 'green',
                                                    'no_village', 'village_straddle', 'village_mismatch')))::int
         + LEAST(w.area_cap, w.area_per_100m2 * y.area_m2 / 100.0)
         + w.geom_changed * y.geom_changed::int
       )::numeric, 2)::float8 AS priority
FROM (
  SELECT s.region_code, s.id, p.area_m2, p.geom_changed_batch_id IS NOT NULL AS geom_changed,
         COALESCE(fl.flags, '{}')
           || CASE WHEN v.feature_id IS NULL AND $3::boolean THEN ARRAY['no_village'] ELSE '{}'::text[] END
           || CASE WHEN v.share < 0.8 THEN ARRAY['village_straddle'] ELSE '{}'::text[] END
           || CASE WHEN vf.name IS NOT NULL AND dv.name IS NOT NULL AND dv.name <> vf.name
                   THEN ARRAY['village_mismatch'] ELSE '{}'::text[] END AS flags,
         v.feature_id AS village_id, vf.name AS village_name, vf.code12 AS village_code, v.share AS village_share,
         vf2.name AS village2_name, vf2.code12 AS village2_code,
         sc.distance_m AS school_distance_m,
         COALESCE(pc.n, 0)::int AS parcel_count, pc.parcel_id AS largest_parcel_id, pc.share AS largest_parcel_share
  FROM reconcile_scope s
  JOIN {{polygons}} p ON p.region_code = s.region_code AND p.id = s.id
  -- the 村名 the delivery gave (the importer's village-name synonyms), blank = none
  CROSS JOIN LATERAL (
    SELECT NULLIF(btrim(COALESCE(p.attrs->>'村名', p.attrs->>'村名称', p.attrs->>'CM', p.attrs->>'XZQMC',
                                 p.attrs->>'村（社区）', p.attrs->>'村社区')), '') AS name
  ) dv
  LEFT JOIN (
    SELECT pl.region_code, pl.polygon_id, array_agg(DISTINCT l.name ORDER BY l.name) AS flags
    FROM reconcile_scope s1
    JOIN polygon_layer pl ON pl.region_code = s1.region_code AND pl.polygon_id = s1.id
    JOIN layer l ON l.id = pl.layer_id
    WHERE pl.hit AND l.role IN ('flag', 'distance', 'overlap')
    GROUP BY pl.region_code, pl.polygon_id
  ) fl ON fl.region_code = s.region_code AND fl.polygon_id = s.id
  LEFT JOIN polygon_layer v ON v.region_code = s.region_code AND v.polygon_id = s.id AND v.layer_id = $1 AND v.hit
  LEFT JOIN polygon_layer v2 ON v2.region_code = s.region_code AND v2.polygon_id = s.id AND v2.layer_id = $1
                            AND NOT v2.hit AND v.share < 0.8
  LEFT JOIN village_code vf ON vf.region_code = v.region_code AND vf.id = v.feature_id
  LEFT JOIN village_code vf2 ON vf2.region_code = v2.region_code AND vf2.id = v2.feature_id
  LEFT JOIN polygon_layer sc ON sc.region_code = s.region_code AND sc.polygon_id = s.id AND sc.layer_id = $2
  -- largest overlap (ties: lowest parcel id) and the number of parcels, from the overlap rows; both
  -- windows share one sort
  LEFT JOIN (
    SELECT o.region_code, o.polygon_id, o.parcel_id, o.share, o.n
    FROM (
      SELECT pp.region_code, pp.polygon_id, pp.parcel_id, pp.share,
             count(*) OVER w AS n,
             row_number() OVER (w ORDER BY pp.overlap_m2 DESC, pp.parcel_id) AS rank
      FROM reconcile_scope s2
      JOIN polygon_parcel pp ON pp.region_code = s2.region_code AND pp.polygon_id = s2.id
      WINDOW w AS (PARTITION BY pp.region_code, pp.polygon_id)
    ) o
    WHERE o.rank = 1
  ) pc ON pc.region_code = s.region_code AND pc.polygon_id = s.id
) y
-- the weights, one row
CROSS JOIN (
  SELECT max(weight) FILTER (WHERE key = 'frontage') AS frontage,
         max(weight) FILTER (WHERE key = 'compound') AS compound,
         max(weight) FILTER (WHERE key = 'green') AS green,
         max(weight) FILTER (WHERE key = 'school') AS school,
         max(weight) FILTER (WHERE key = 'other_layer') AS other_layer,
         max(weight) FILTER (WHERE key = 'area_per_100m2') AS area_per_100m2,
         max(weight) FILTER (WHERE key = 'area_cap') AS area_cap,
         max(weight) FILTER (WHERE key = 'geom_changed') AS geom_changed
  FROM priority_weight
) w

-- name: summary
-- Stored polygons: ONE update per polygon (each rewrite of a wide row and its index entries costs).
UPDATE survey_polygon p
SET parcel_count = x.parcel_count,
    largest_parcel_id = x.largest_parcel_id,
    largest_parcel_share = x.largest_parcel_share,
    flags = x.flags,
    village_id = x.village_id,
    village_name = x.village_name,
    village_code = x.village_code,
    village_share = x.village_share,
    village2_name = x.village2_name,
    village2_code = x.village2_code,
    school_distance_m = x.school_distance_m,
    priority = x.priority,
    reconciled_at = now()
FROM ({{summary_rows}}) x
WHERE p.region_code = x.region_code AND p.id = x.id

-- name: summary_insert
-- New polygons (staging table {{polygons}}, ids already drawn from survey_polygon's sequence): inserted
-- once, with their results. The UPDATE above rewrote all 50k rows of a first district delivery after
-- inserting them (2–3 s, plus a VACUUM for the dead rows it left); this writes each row once.
INSERT INTO survey_polygon (region_code, id, survey, code, code_generated, first_batch_id, batch_id, attrs, geom, repaired, area_m2,
                            parcel_count, largest_parcel_id, largest_parcel_share, flags, village_id, village_name,
                            village_code, village_share, village2_name, village2_code, school_distance_m, priority,
                            reconciled_at)
SELECT p.region_code, p.id, p.survey, p.code, p.code_generated, p.first_batch_id, p.batch_id, p.attrs, p.geom, p.repaired, p.area_m2,
       x.parcel_count, x.largest_parcel_id, x.largest_parcel_share, x.flags, x.village_id, x.village_name,
       x.village_code, x.village_share, x.village2_name, x.village2_code, x.school_distance_m, x.priority, now()
FROM {{polygons}} p
JOIN ({{summary_rows}}) x ON x.region_code = p.region_code AND x.id = p.id
ORDER BY p.id

-- name: changes
-- What reconciliation changed in scope, compared with the snapshot taken before it.
SELECT
  count(*) FILTER (WHERE b.reconciled_at IS NULL)::int AS first_time,
  count(*) FILTER (WHERE b.reconciled_at IS NOT NULL AND b.village_name IS DISTINCT FROM p.village_name)::int AS village,
  count(*) FILTER (WHERE b.reconciled_at IS NOT NULL AND b.flags IS DISTINCT FROM p.flags)::int AS flags,
  count(*) FILTER (WHERE b.reconciled_at IS NOT NULL AND (b.largest_parcel_id IS DISTINCT FROM p.largest_parcel_id
                                                        OR b.parcel_count IS DISTINCT FROM p.parcel_count))::int AS parcels,
  (array_agg(p.code ORDER BY p.code) FILTER (WHERE b.reconciled_at IS NOT NULL AND (
      b.village_name IS DISTINCT FROM p.village_name OR b.flags IS DISTINCT FROM p.flags
      OR b.largest_parcel_id IS DISTINCT FROM p.largest_parcel_id)))[1:20] AS examples
FROM reconcile_before b JOIN survey_polygon p ON p.region_code = b.region_code AND p.id = b.id
