-- Loading one import batch. Everything runs in the import's transaction: all stored or nothing.
-- Features arrive by COPY into the temp table `stage`, are repaired once into `stage_clean`, then merged.

-- name: stage_create
CREATE TEMP TABLE stage (
  idx int NOT NULL, geom geometry, attrs jsonb NOT NULL, code text, name text,
  parcel_code text, holder text, land_use text, approved_area double precision, width double precision
) ON COMMIT DROP

-- name: stage_copy
COPY stage (idx, geom, attrs, code, name, parcel_code, holder, land_use, approved_area, width) FROM STDIN

-- name: stage_clean_polygons
-- $1 srid. Repair invalid rings once, here (ST_MakeValid), so the overlay never re-validates; keep the
-- polygonal part of what the repair returns. Lines are buffered into a band when a width is given
-- (frontage delivered as a centreline + width).
CREATE TEMP TABLE stage_clean ON COMMIT DROP AS
SELECT idx, attrs, code, name, parcel_code, holder, land_use, approved_area,
       NOT valid AS repaired,
       ST_SetSRID(ST_Multi(CASE WHEN valid THEN g ELSE ST_CollectionExtract(ST_MakeValid(g), 3) END), $1::int) AS geom
FROM (
  SELECT s.*, ST_IsValid(s.g) AS valid
  FROM (
    SELECT st.*, CASE WHEN ST_Dimension(st.geom) = 1 AND st.width > 0
                      THEN ST_Buffer(st.geom, st.width / 2, 'endcap=flat join=round')
                      ELSE st.geom END AS g
    FROM stage st WHERE st.geom IS NOT NULL
  ) s
  WHERE ST_Dimension(s.g) = 2
) v

-- name: stage_clean_any
-- $1 srid. Points and lines kept as they are (schools as points, a custom line layer); polygons repaired.
CREATE TEMP TABLE stage_clean ON COMMIT DROP AS
SELECT idx, attrs, code, name, parcel_code, holder, land_use, approved_area,
       ST_Dimension(geom) = 2 AND NOT ST_IsValid(geom) AS repaired,
       ST_SetSRID(CASE WHEN ST_Dimension(geom) = 2 AND NOT ST_IsValid(geom)
                       THEN ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3)) ELSE geom END, $1::int) AS geom
FROM stage WHERE geom IS NOT NULL

-- name: stage_not_kept
-- records the clean step dropped: no area at all (a point or line in a polygon layer)
SELECT s.idx FROM stage s WHERE NOT EXISTS (SELECT 1 FROM stage_clean c WHERE c.idx = s.idx) ORDER BY s.idx

-- name: stage_clean_drop_empty
-- what the repair emptied (a ring with no area) is skipped and reported
DELETE FROM stage_clean WHERE geom IS NULL OR ST_IsEmpty(geom) RETURNING idx

-- name: stage_clean_index
CREATE INDEX ON stage_clean (code)

-- name: stage_clean_analyze
ANALYZE stage_clean

-- name: stage_counts
SELECT (SELECT count(*) FROM stage_clean)::int AS kept,
       (SELECT count(*) FROM stage_clean WHERE repaired)::int AS repaired

-- name: batch_find
-- $1 layer id, $2 sha256, $3 source layer
SELECT id, report FROM import_batch WHERE layer_id = $1 AND sha256 = $2 AND source_layer = $3

-- name: batch_insert
-- $1 region, $2 layer id, $3 survey, $4 file name, $5 sha256, $6 source layer, $7 user
INSERT INTO import_batch (region_code, layer_id, survey, file_name, sha256, source_layer, report, created_by)
VALUES ($1, $2, $3, $4, $5, $6, '{}', $7) RETURNING id

-- name: batch_report
UPDATE import_batch SET report = $2 WHERE id = $1

-- name: survey_dedupe
-- A code delivered twice in one file: the first record wins, later ones are skipped and reported.
DELETE FROM stage_clean s USING stage_clean t
WHERE s.code = t.code AND s.idx > t.idx
RETURNING s.idx, s.code

-- name: survey_missing_code
DELETE FROM stage_clean WHERE code IS NULL RETURNING idx

-- name: survey_keep_versions
-- $1 region, $2 survey, $3 batch. A new version changed the geometry: keep the superseded one.
INSERT INTO survey_polygon_version (region_code, polygon_id, batch_id, superseded_by_batch_id, attrs, geom)
SELECT e.region_code, e.id, e.batch_id, $3, e.attrs, e.geom
FROM survey_polygon e JOIN stage_clean s ON s.code = e.code
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
    removed_batch_id = NULL
FROM stage_clean s
WHERE e.region_code = $1 AND e.survey = $2 AND e.code = s.code
RETURNING e.id, e.geom_changed_batch_id = $3 AS changed

-- name: survey_insert
-- $1 region, $2 survey, $3 batch
INSERT INTO survey_polygon (region_code, survey, code, first_batch_id, batch_id, attrs, geom, repaired, area_m2)
SELECT $1, $2, s.code, $3, $3, s.attrs, s.geom, s.repaired, ST_Area(s.geom)
FROM stage_clean s
WHERE NOT EXISTS (SELECT 1 FROM survey_polygon e WHERE e.region_code = $1 AND e.survey = $2 AND e.code = s.code)
ORDER BY s.idx
RETURNING id

-- name: survey_mark_removed
-- $1 region, $2 survey, $3 batch. Absent from this version: marked, never deleted (decisions stay).
UPDATE survey_polygon e SET removed_batch_id = $3
WHERE e.region_code = $1 AND e.survey = $2 AND e.removed_batch_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM stage_clean s WHERE s.code = e.code)
RETURNING e.id

-- name: parcels_clear_overlaps
-- $1 region. A cadastral delivery replaces the region's parcels (and so every overlap row).
DELETE FROM polygon_parcel WHERE region_code = $1

-- name: parcels_clear
-- $1 region
DELETE FROM parcel WHERE region_code = $1

-- name: parcels_drop_index
-- Rebuilt after the load: building a GiST once is far cheaper than maintaining it row by row.
DROP INDEX IF EXISTS parcel_geom_idx

-- name: parcels_insert
-- $1 region, $2 batch
INSERT INTO parcel (region_code, batch_id, parcel_code, holder, land_use, approved_area, attrs, geom, area_m2)
SELECT $1, $2, parcel_code, holder, land_use, approved_area, attrs, geom, ST_Area(geom)
FROM stage_clean ORDER BY idx

-- name: parcels_index
CREATE INDEX parcel_geom_idx ON parcel USING gist (geom)

-- name: parcels_analyze
ANALYZE parcel

-- name: features_clear_results
-- $1 region, $2 layer id. A new delivery of a reference layer replaces its features and their results.
DELETE FROM polygon_layer WHERE region_code = $1 AND layer_id = $2

-- name: features_clear
-- $1 region, $2 layer id
DELETE FROM layer_feature WHERE region_code = $1 AND layer_id = $2

-- name: features_insert
-- $1 region, $2 layer id, $3 batch
INSERT INTO layer_feature (region_code, layer_id, batch_id, name, code, attrs, geom)
SELECT $1, $2, $3, name, code, attrs, geom FROM stage_clean ORDER BY idx

-- name: features_analyze
ANALYZE layer_feature
