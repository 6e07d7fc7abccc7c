-- Loading one import batch. Everything runs in the import's transaction: all stored or nothing.
-- Features arrive by COPY into the temp table `stage`, are repaired once into `stage`, then merged.

-- name: stage_create
-- codes: a survey's candidate code values (a JSON array, one per candidate field, codes.ts) when there is
-- more than one candidate; code holds the first until the choice is made. code_generated: no field gave this
-- record a code (codes.ts generatedCode). rename_to: a delivered code replacing the generated code of the
-- stored polygon this record was matched to by overlap (survey_match_overlap).
CREATE TEMP TABLE stage (
  idx int NOT NULL, geom geometry, attrs jsonb NOT NULL, code text, name text,
  parcel_code text, holder text, land_use text, approved_area double precision, width double precision,
  codes jsonb, repaired boolean NOT NULL DEFAULT false, code_generated boolean NOT NULL DEFAULT false,
  overlap_matched boolean NOT NULL DEFAULT false, rename_to text
) ON COMMIT DROP

-- name: stage_copy
COPY stage (idx, geom, attrs, code, name, parcel_code, holder, land_use, approved_area, width, codes) FROM STDIN

-- name: stage_buffer_lines
-- Frontage delivered as a centreline + width: the band is the line buffered by half the width.
UPDATE stage SET geom = ST_Multi(ST_Buffer(geom, width / 2, 'endcap=flat join=round'))
WHERE ST_Dimension(geom) = 1 AND width > 0

-- name: stage_drop_not_polygonal
-- In a polygon layer, what has no area at all (a centreline without width) is skipped and reported.
DELETE FROM stage WHERE ST_Dimension(geom) <> 2 RETURNING idx

-- name: stage_repair
-- Repair invalid rings once, here (ST_MakeValid), so the overlay never re-validates. Only the few invalid
-- rows are rewritten; the polygonal part of what the repair returns is kept.
UPDATE stage SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3)), repaired = true
WHERE ST_Dimension(geom) = 2 AND NOT ST_IsValid(geom)

-- name: stage_drop_empty
-- what the repair emptied (a ring with no area) is skipped and reported
DELETE FROM stage WHERE ST_IsEmpty(geom) RETURNING idx

-- name: stage_index
CREATE INDEX ON stage (code)

-- name: stage_analyze
ANALYZE stage

-- name: stage_counts
SELECT count(*)::int AS kept, (count(*) FILTER (WHERE repaired))::int AS repaired FROM stage

-- name: batch_lock
-- $1 layer id. Imports into one layer run one after the other: each is the layer's next version, and the
-- duplicate check (batch_current) must see the version before it. Other layers' imports do not wait.
SELECT pg_advisory_xact_lock(1101, $1::int)

-- name: batch_current
-- $1 layer id, $2 region, $3 survey (NULL for other layers). The layer's (the survey's) current version: its
-- latest batch. Only a file identical to it is a duplicate; an earlier version imported again is a rollback,
-- a new version like any other (issue 11, item 8).
SELECT id, sha256, source_layer, report FROM import_batch
WHERE layer_id = $1 AND region_code = $2 AND survey IS NOT DISTINCT FROM $3
ORDER BY id DESC LIMIT 1

-- name: batch_survey
-- $1 batch, $2 survey key (known once the delivery's dates have been read: codes.ts SurveyYearTracker)
UPDATE import_batch SET survey = $2 WHERE id = $1

-- name: batch_insert
-- $1 region, $2 layer id, $3 survey, $4 file name, $5 sha256, $6 source layer, $7 user
INSERT INTO import_batch (region_code, layer_id, survey, file_name, sha256, source_layer, report, created_by)
VALUES ($1, $2, $3, $4, $5, $6, '{}', $7) RETURNING id

-- name: batch_report
UPDATE import_batch SET report = $2 WHERE id = $1

-- name: stage_code_from
-- $1 index of the chosen candidate field (codes.ts CodeTracker.choose)
UPDATE stage SET code = codes->>$1::int

-- name: stage_code_clear
-- no candidate field qualified: every code is generated
UPDATE stage SET code = NULL WHERE code IS NOT NULL

-- name: stage_code_generate
-- $1 survey key. Records without a code get '<survey>-<record>' (codes.ts generatedCode).
UPDATE stage SET code = $1 || '-' || idx, code_generated = true WHERE code IS NULL RETURNING idx

-- name: survey_exact_duplicates
-- The same record delivered twice (same code, attributes and geometry: an export that appended a selection
-- twice). One is kept; the others are skipped as duplicate_record, whatever --duplicates says.
DELETE FROM stage s USING stage t
WHERE s.code = t.code AND s.idx > t.idx AND s.attrs = t.attrs AND ST_Equals(s.geom, t.geom)
RETURNING s.idx, s.code

-- name: survey_duplicate_codes
-- Codes that still appear more than once: different polygons under one code (refused by default).
SELECT code, array_agg(idx ORDER BY idx) AS records
FROM stage GROUP BY code HAVING count(*) > 1 ORDER BY min(idx)

-- name: survey_dedupe
-- --duplicates keep-first: the first record of a code wins, later ones are skipped as duplicate_code.
DELETE FROM stage s USING stage t
WHERE s.code = t.code AND s.idx > t.idx
RETURNING s.idx, s.code

-- name: survey_suffix_duplicates
-- --duplicates suffix: the first record of a code keeps it, the n-th becomes '<code>-<n>'.
UPDATE stage s SET code = s.code || '-' || d.n
FROM (SELECT idx, row_number() OVER (PARTITION BY code ORDER BY idx) AS n FROM stage) d
WHERE d.idx = s.idx AND d.n > 1
RETURNING s.idx, s.code

-- name: survey_has_generated
-- $1 region, $2 survey. Overlap matching is needed only when generated codes are on either side.
SELECT EXISTS (SELECT 1 FROM stage WHERE code_generated)
    OR EXISTS (SELECT 1 FROM survey_polygon WHERE region_code = $1 AND survey = $2 AND code_generated) AS any

-- name: survey_match_overlap
-- $1 region, $2 survey. A generated code says only where a record stood in one file, so a delivered polygon
-- and a stored one are matched by geometry when either code is generated and neither was matched by code:
-- the pair must overlap by at least half of their union (intersection over union ≥ 0.5), each polygon
-- takes its best partner, one to one. The delivered record then carries the stored polygon's code, so the
-- statements below treat it as matched; a real delivered code replaces a generated stored one afterwards
-- (survey_rename_matched).
-- COALESCE(s.geom, s.geom) is s.geom, made opaque to the planner: with two plain columns PostGIS estimates the
-- join from both tables' statistics, and when their extents do not intersect (a delivery elsewhere than the
-- stored survey) its estimator returns PG_RETURN_FLOAT8(0.0) from a C function typed float8. On a 64-bit
-- server that is 0; in PGlite (wasm32, float8 passed by reference) it is a pointer read as a double, and the
-- planner stops with "invalid join selectivity: 193450064". An expression gets PostGIS's default estimate;
-- the GiST index on e.geom is still probed from each staged record.
WITH cand AS (
  SELECT s.idx, e.id, e.code AS stored_code, e.code_generated AS stored_generated, x.inter / NULLIF(ST_Area(s.geom) + e.area_m2 - x.inter, 0) AS iou
  FROM stage s
  JOIN survey_polygon e ON e.region_code = $1 AND e.survey = $2 AND e.geom && COALESCE(s.geom, s.geom)
  CROSS JOIN LATERAL (SELECT ST_Area(ST_Intersection(s.geom, e.geom)) AS inter) x
  WHERE (s.code_generated OR e.code_generated)
    AND NOT EXISTS (SELECT 1 FROM stage c WHERE c.code = e.code AND NOT c.code_generated)
    AND (s.code_generated OR NOT EXISTS (
      SELECT 1 FROM survey_polygon o WHERE o.region_code = $1 AND o.survey = $2 AND o.code = s.code))
),
best_for_record AS (
  SELECT DISTINCT ON (idx) * FROM cand WHERE iou >= 0.5 ORDER BY idx, iou DESC, id
),
best AS (
  SELECT DISTINCT ON (id) * FROM best_for_record ORDER BY id, iou DESC, idx
)
UPDATE stage s
SET code = b.stored_code,
    rename_to = CASE WHEN s.code_generated THEN NULL ELSE s.code END,
    code_generated = s.code_generated AND b.stored_generated,
    overlap_matched = true
FROM best b WHERE b.idx = s.idx
RETURNING s.idx

-- name: survey_generated_unclash
-- $1 region, $2 survey, $3 batch. A generated code of a record that matched nothing must not name a stored
-- polygon of an earlier version ('2020-5' there is another record): it gets the batch as well.
UPDATE stage s SET code = s.code || '-' || $3::text
WHERE s.code_generated AND NOT s.overlap_matched
  AND EXISTS (SELECT 1 FROM survey_polygon e WHERE e.region_code = $1 AND e.survey = $2 AND e.code = s.code)

-- name: survey_rename_matched
-- $1 region, $2 survey. A stored polygon with a generated code, matched by overlap to a delivered record
-- with a real code, takes that code.
UPDATE survey_polygon e SET code = s.rename_to, code_generated = false
FROM stage s
WHERE e.region_code = $1 AND e.survey = $2 AND e.code = s.code AND s.rename_to IS NOT NULL

-- name: survey_keep_versions
-- $1 region, $2 survey, $3 batch. A new version changed the geometry: keep the superseded one.
INSERT INTO survey_polygon_version (region_code, polygon_id, batch_id, superseded_by_batch_id, attrs, geom)
SELECT e.region_code, e.id, e.batch_id, $3, e.attrs, e.geom
FROM survey_polygon e JOIN stage s ON s.code = e.code
WHERE e.region_code = $1 AND e.survey = $2 AND ST_AsBinary(e.geom) <> ST_AsBinary(s.geom)

-- name: survey_update
-- $1 region, $2 survey, $3 batch. Matched on code: decisions (status, version) are kept; the geometry
-- and attributes follow the new delivery; a changed geometry is flagged with this batch.
UPDATE survey_polygon e
SET batch_id = $3,
    attrs = s.attrs,
    geom_changed_batch_id = CASE WHEN ST_AsBinary(e.geom) <> ST_AsBinary(s.geom) THEN $3 ELSE e.geom_changed_batch_id END,
    geom = s.geom,
    area_m2 = ST_Area(s.geom),
    repaired = s.repaired,
    code_generated = s.code_generated,
    removed_batch_id = NULL
FROM stage s
WHERE e.region_code = $1 AND e.survey = $2 AND e.code = s.code
RETURNING e.id, e.geom_changed_batch_id = $3 AS changed

-- name: survey_new_create
-- The polygons this delivery brings for the first time go to {{table}}, shaped like survey_polygon (its
-- column types and defaults: ids drawn from its sequence): reconciliation reads them from there and inserts
-- each into survey_polygon once, with its results (reconcile.sql summary_insert). A plain table, not TEMP:
-- the parcel overlay's parallel workers cannot read a temp table. UNLOGGED: nothing to recover, it lives and
-- dies inside the import's transaction ({{table}} is named after the batch: no collisions).
CREATE UNLOGGED TABLE {{table}} (LIKE survey_polygon INCLUDING DEFAULTS)

-- name: survey_new_fill
-- $1 region, $2 survey, $3 batch. Ids in file order (the defaults run in the order of the sorted rows).
INSERT INTO {{table}} (region_code, survey, code, code_generated, first_batch_id, batch_id, attrs, geom, repaired, area_m2)
SELECT $1, $2, n.code, n.code_generated, $3, $3, n.attrs, n.geom, n.repaired, ST_Area(n.geom)
FROM (
  SELECT s.code, s.code_generated, s.attrs, s.geom, s.repaired, s.idx
  FROM stage s
  WHERE NOT EXISTS (SELECT 1 FROM survey_polygon e WHERE e.region_code = $1 AND e.survey = $2 AND e.code = s.code)
  ORDER BY s.idx
) n
ORDER BY n.idx

-- name: survey_new_key
-- reconciliation joins it to its scope by key (without it, a plan with no statistics scans it per polygon)
ALTER TABLE {{table}} ADD PRIMARY KEY (region_code, id)

-- name: survey_new_analyze
-- the planner must know its size (50k rows unknown to it: nested loops)
ANALYZE {{table}}

-- name: survey_new_drop
DROP TABLE {{table}}

-- name: survey_analyze
-- fresh statistics before reconciliation: with 50k new rows unknown to the planner it picks nested loops
ANALYZE survey_polygon

-- name: survey_mark_removed
-- $1 region, $2 survey, $3 batch. Absent from this version: marked, never deleted (decisions stay).
-- Every polygon this delivery holds was just stamped with batch $3 (update or insert), so "absent" is
-- simply "not stamped": no join against the delivery.
UPDATE survey_polygon e SET removed_batch_id = $3
WHERE e.region_code = $1 AND e.survey = $2 AND e.removed_batch_id IS NULL AND e.batch_id <> $3
RETURNING e.id

-- name: features_clear_results
-- $1 region, $2 layer id. A new delivery of a reference layer replaces its features and their results.
DELETE FROM polygon_layer WHERE region_code = $1 AND layer_id = $2

-- name: features_clear
-- $1 region, $2 layer id
DELETE FROM layer_feature WHERE region_code = $1 AND layer_id = $2

-- name: features_insert
-- $1 region, $2 layer id, $3 batch, $4 srid
INSERT INTO layer_feature (region_code, layer_id, batch_id, name, code, attrs, geom)
SELECT $1, $2, $3, name, code, attrs, ST_SetSRID(geom, $4::int) FROM stage ORDER BY idx

-- name: features_analyze
ANALYZE layer_feature

-- After the commit (VACUUM cannot run inside a transaction). The reconciliation's summary UPDATE rewrote
-- every polygon it reconciled, and a re-import deleted the old rows: up to half of these tables is dead
-- rows. PGlite has no autovacuum, and a server's may be off or a minute away; until it runs, every queue,
-- dashboard and tile scan reads twice the pages (measured: a count over 50k polygons 140 ms -> 27 ms).

-- name: vacuum_survey
VACUUM (ANALYZE) survey_polygon

-- name: vacuum_overlaps
VACUUM (ANALYZE) polygon_parcel

-- name: vacuum_parcels
VACUUM (ANALYZE) parcel

-- name: vacuum_features
VACUUM (ANALYZE) layer_feature
