-- name: public_villages
-- The town's village outlines for the public report page's map (names and shapes are public; simplified to
-- 5 m, 5 decimals). $1 region
SELECT f.name, ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(f.geom, 5), 4326), 5)::json AS geometry,
       ARRAY[round(ST_X(ST_Transform(ST_PointOnSurface(f.geom), 4326))::numeric, 6)::float8,
             round(ST_Y(ST_Transform(ST_PointOnSurface(f.geom), 4326))::numeric, 6)::float8] AS label
FROM layer_feature f JOIN layer l ON l.id = f.layer_id
WHERE f.region_code = $1 AND l.name = 'village' AND ST_Dimension(f.geom) = 2
ORDER BY f.name, f.id
LIMIT 500
