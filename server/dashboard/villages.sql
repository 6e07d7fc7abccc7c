-- Village outlines for the coverage choropleth (GET /api/coverage/villages.geojson). The figures come
-- from coverage.sql (by_village); this only reads the shapes.

-- name: village_features
-- $1 region, $2 village scope (NULL = all). EPSG:4326, 6 decimals (~0.1 m). label: a point inside the
-- outline (a centroid can fall outside a crescent-shaped village) where the map writes name and share.
SELECT f.id, f.name, f.code, ST_AsGeoJSON(ST_Transform(f.geom, 4326), 6) AS geometry,
       ARRAY[round(ST_X(l.pt)::numeric, 6), round(ST_Y(l.pt)::numeric, 6)]::float8[] AS label
FROM layer_feature f
JOIN layer ly ON ly.id = f.layer_id
CROSS JOIN LATERAL (SELECT ST_Transform(ST_PointOnSurface(f.geom), 4326) AS pt) l
WHERE ly.name = 'village' AND f.region_code = $1
  AND ($2::text[] IS NULL OR f.name = ANY ($2::text[]))
ORDER BY f.name, f.id
