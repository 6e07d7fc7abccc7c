-- Imported imagery layers (server/imagery/, migration 018_imagery.sql).

-- name: stage_layer
-- A new layer, not yet visible (current = false) while its tiles are written.
-- $1 region, $2 epoch, $3 acquired_on, $4 date_source, $5 source_name, $6 crs, $7 width, $8 height,
-- $9 pixel_size_x, $10 pixel_size_y, $11 resolution_m, $12 west, $13 south, $14 east, $15 north,
-- $16 minzoom, $17 maxzoom, $18 created_by
INSERT INTO imagery_layer (region_code, epoch, acquired_on, date_source, source_name, crs, width_px, height_px,
  pixel_size_x, pixel_size_y, resolution_m, west, south, east, north, minzoom, maxzoom, created_by)
VALUES ($1, $2, $3::date, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
RETURNING id

-- name: retire_current
-- The layer a re-import replaces (inside the flip's transaction). $1 region, $2 epoch
DELETE FROM imagery_layer WHERE region_code = $1 AND epoch = $2 AND current
RETURNING id

-- name: make_current
-- $1 region, $2 id, $3 tiles, $4 bytes, $5 report
UPDATE imagery_layer SET current = true, tiles = $3, bytes = $4, report = $5::jsonb
WHERE region_code = $1 AND id = $2 AND NOT current
RETURNING id

-- name: drop_staged
-- A failed import's row. $1 region, $2 id
DELETE FROM imagery_layer WHERE region_code = $1 AND id = $2 AND NOT current

-- name: stale_staged
-- Staged rows an interrupted import left behind (a process killed mid-import). $1 region
DELETE FROM imagery_layer WHERE region_code = $1 AND NOT current AND created_at < now() - interval '1 day'
RETURNING id

-- name: known_ids
-- Every layer's id (the sweep keeps their directories). $1 region
SELECT id FROM imagery_layer WHERE region_code = $1

-- name: current_layers
-- $1 region
SELECT id, epoch, acquired_on::text AS acquired_on, date_source, source_name, crs, width_px, height_px,
       resolution_m, west, south, east, north, minzoom, maxzoom, tiles, bytes, created_at
FROM imagery_layer WHERE region_code = $1 AND current
ORDER BY epoch

-- name: work_extent
-- The work region as far as the database knows it: the extent (work CRS) of the survey polygons, parcels and
-- reference layers, each table read alone. NULLs when nothing is imported yet. $1 region
SELECT ST_XMin(b) AS xmin, ST_YMin(b) AS ymin, ST_XMax(b) AS xmax, ST_YMax(b) AS ymax
FROM (
  SELECT (SELECT ST_Extent(geom) FROM survey_polygon WHERE region_code = $1) AS b
  UNION ALL SELECT (SELECT ST_Extent(geom) FROM parcel WHERE region_code = $1)
  UNION ALL SELECT (SELECT ST_Extent(geom) FROM layer_feature WHERE region_code = $1)
) e
WHERE b IS NOT NULL

-- name: polygon_chip_geometry
-- A polygon's outline in web mercator and its bounding box, for its chip. $1 region, $2 id
SELECT ST_AsGeoJSON(geom_web, 2) AS geojson,
       ST_XMin(geom_web) AS xmin, ST_YMin(geom_web) AS ymin, ST_XMax(geom_web) AS xmax, ST_YMax(geom_web) AS ymax
FROM survey_polygon WHERE region_code = $1 AND id = $2
