-- Reading polygons for the API. The list's WHERE clause is assembled from an allow-list in
-- polygons/repo.ts (values always as $n); everything else is here.

-- name: detail
-- $1 region, $2 id. Geometry to EPSG:4326 for the browser; area also in 亩 (1 亩 = 10000/15 m²).
SELECT p.id, p.region_code, p.survey, p.source, p.code, p.status, p.version, p.attrs, p.area_m2,
       p.duplicate_of, (SELECT d.code FROM survey_polygon d WHERE d.region_code = p.region_code AND d.id = p.duplicate_of) AS duplicate_of_code,
       p.merged_into, (SELECT m.code FROM survey_polygon m WHERE m.region_code = p.region_code AND m.id = p.merged_into) AS merged_into_code,
       (SELECT coalesce(json_agg(json_build_object('id', l.id, 'code', l.code, 'source', l.source, 'status', l.status) ORDER BY l.id), '[]')
        FROM survey_polygon l WHERE l.region_code = p.region_code AND l.merged_into = p.id) AS merged_leads,
       p.area_m2 / (10000.0 / 15) AS area_mu, p.repaired,
       p.village_name, p.village_code, p.village_share, p.village2_name, p.village2_code,
       p.flags, p.priority, p.school_distance_m,
       p.parcel_count, p.largest_parcel_id, p.largest_parcel_share,
       p.batch_id, p.first_batch_id, p.geom_changed_batch_id, p.removed_batch_id, p.reconciled_at,
       ST_AsGeoJSON(ST_Transform(p.geom, 4326), 7)::json AS geometry,
       ARRAY[ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)] AS bbox
FROM survey_polygon p
CROSS JOIN LATERAL (SELECT ST_Transform(ST_Envelope(p.geom), 4326)::box2d AS b) e(b)
WHERE p.region_code = $1 AND p.id = $2

-- name: detail_parcels
-- $1 region, $2 polygon id
SELECT c.id, c.parcel_code, c.holder, c.land_use, c.approved_area, c.area_m2, pp.overlap_m2, pp.share
FROM polygon_parcel pp JOIN parcel c ON c.region_code = pp.region_code AND c.id = pp.parcel_id
WHERE pp.region_code = $1 AND pp.polygon_id = $2
ORDER BY pp.overlap_m2 DESC, c.id

-- name: detail_layers
-- $1 region, $2 polygon id: every flag/assign/distance/overlap result with the feature it came from
SELECT l.name AS layer, l.role, l.title_zh, l.title_en, pl.hit, pl.overlap_m2, pl.share, pl.distance_m,
       f.id AS feature_id, f.name AS feature_name, f.code AS feature_code
FROM polygon_layer pl
JOIN layer l ON l.id = pl.layer_id
LEFT JOIN layer_feature f ON f.region_code = pl.region_code AND f.id = pl.feature_id
WHERE pl.region_code = $1 AND pl.polygon_id = $2
ORDER BY l.id, pl.overlap_m2 DESC NULLS LAST

-- name: detail_prior
-- $1 region, $2 polygon id: overlapping polygons of other surveys and the state they are in
SELECT q.id, q.survey, q.code, q.status, q.version, pr.share
FROM polygon_prior pr JOIN survey_polygon q ON q.region_code = pr.region_code AND q.id = pr.prior_id
WHERE pr.region_code = $1 AND pr.polygon_id = $2
ORDER BY q.survey, pr.share DESC

-- name: detail_versions
-- $1 region, $2 polygon id: geometries/attributes superseded by later deliveries
SELECT v.batch_id, v.superseded_by_batch_id, v.attrs, ST_Area(v.geom) AS area_m2,
       ST_AsGeoJSON(ST_Transform(v.geom, 4326), 7)::json AS geometry
FROM survey_polygon_version v
WHERE v.region_code = $1 AND v.polygon_id = $2
ORDER BY v.superseded_by_batch_id

-- name: batches
-- $1 region
SELECT b.id, l.name AS layer, b.survey, b.file_name, b.sha256, b.source_layer, b.created_by, b.created_at,
       b.report->'read' AS read, b.report->'stored' AS stored, b.report->'repaired' AS repaired,
       b.report->'skipped'->'total' AS skipped
FROM import_batch b JOIN layer l ON l.id = b.layer_id
WHERE b.region_code = $1
ORDER BY b.id DESC

-- name: batch
-- $1 region, $2 id
SELECT b.id, l.name AS layer, b.report FROM import_batch b JOIN layer l ON l.id = b.layer_id
WHERE b.region_code = $1 AND b.id = $2

-- name: layers
-- Three independent counts, not joined to each other nor correlated with the layer row: on Citus each is a
-- distributed aggregate planned on its own (a correlated subquery on a distributed table in the select
-- list is not supported there; docs/SCALING.md).
SELECT l.id, l.name, l.builtin, l.role, l.title_zh, l.title_en, l.distance_m,
       COALESCE(fc.n, 0)::int
       + CASE WHEN l.name = 'cadastral' THEN pc.n::int
              WHEN l.name = 'survey' THEN sc.n::int ELSE 0 END AS features
FROM layer l
LEFT JOIN (SELECT f.layer_id, count(*) AS n FROM layer_feature f GROUP BY f.layer_id) fc ON fc.layer_id = l.id
CROSS JOIN (SELECT count(*) AS n FROM parcel) pc
CROSS JOIN (SELECT count(*) AS n FROM survey_polygon) sc
ORDER BY l.id
