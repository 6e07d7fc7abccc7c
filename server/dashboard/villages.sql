-- Village outlines for the coverage choropleth (GET /api/coverage/villages.geojson). The figures come
-- from coverage.sql (by_village); this only reads the shapes.

-- name: village_features
-- $1 region, $2 village scope (NULL = all). EPSG:4326, 6 decimals (~0.1 m).
SELECT f.id, f.name, f.code, ST_AsGeoJSON(ST_Transform(f.geom, 4326), 6) AS geometry
FROM layer_feature f
JOIN layer l ON l.id = f.layer_id
WHERE l.name = 'village' AND f.region_code = $1
  AND ($2::text[] IS NULL OR f.name = ANY ($2::text[]))
ORDER BY f.name, f.id
