-- Vector tiles (server/tiles/). Every tile query is assembled once, at start-up, from the pieces below:
--
--   WITH <bounds>, rows AS (<rows_*>)  <mvt_layer ...>    PostGIS encoder (ST_AsMVT; PostgreSQL)
--   WITH <bounds>, rows AS (<rows_*>)  <geojson_rows>     JS encoder (geojson-vt + vt-pbf; PGlite)
--
-- so both encoders see exactly the same features: only the encoding differs. {{placeholders}} are filled
-- from constants in server/tiles/queries.ts (column lists, parameter numbers), never from a request.
--
-- Parameters shared by every tile query:
--   $1 z, $2 x, $3 y
--   $4..$7 west, south, east, north: the tile's lon/lat box grown by the 64-unit buffer, clipped to where
--          the work CRS is usable (a Gauss-Krüger zone is garbage 100° away from its meridian)
--   $8 segment length in degrees for densifying that box, $9 work SRID, $10 region code

-- name: bounds
-- tile: the exact tile in EPSG:3857 for ST_AsMVTGeom and clipping.
-- work: the buffered tile transformed to the work CRS ONCE, so `geom && work` uses the GiST index on geom
--       (transform bbox to the source CRS; transforming every row to 3857 instead would scan the table).
--       Densified first: straight lon/lat edges are curves in Gauss-Krüger, and the bbox of only the four
--       transformed corners could miss a sliver of the tile.
bounds AS MATERIALIZED (
  SELECT ST_TileEnvelope($1::int, $2::int, $3::int) AS tile,
         ST_Transform(
           ST_Segmentize(ST_MakeEnvelope($4::float8, $5::float8, $6::float8, $7::float8, 4326), $8::float8),
           $9::int) AS work
)

-- name: rows_survey
-- Survey polygons in the tile. $11 include removed ones (bool), $12 village scope (text[], NULL = all),
-- $13 smallest area shown in m² (about one pixel: smaller is invisible anyway, and dropping it keeps low-zoom
-- tiles small), $14 most features in one tile. Largest first: a cap drops the smallest; small ones draw on top.
SELECT p.id, p.geom AS g, p.geom_web AS gw, p.code, p.status, p.priority, array_to_string(p.flags, ',') AS flags, p.source,
       p.village_name AS village
FROM survey_polygon p, bounds b
WHERE p.region_code = $10::text
  AND p.geom && b.work
  AND ($11::boolean OR p.removed_batch_id IS NULL)
  AND ($12::text[] IS NULL OR p.village_name = ANY ($12::text[]))
  AND p.area_m2 >= $13::float8
ORDER BY p.area_m2 DESC, p.id
LIMIT $14::int

-- name: rows_parcels
-- Cadastral parcels in the tile (served from a minimum zoom only). $11 smallest area (m²), $12 most features.
SELECT c.id, c.geom AS g, c.parcel_code, c.holder, c.land_use
FROM parcel c, bounds b
WHERE c.region_code = $10::text
  AND c.geom && b.work
  AND c.area_m2 >= $11::float8
ORDER BY c.area_m2 DESC, c.id
LIMIT $12::int

-- name: rows_features
-- Features of one reference layer (frontage, villages, schools, compounds, green, custom). $11 layer id,
-- $12 smallest polygon area (m²; points and lines always kept), $13 most features.
SELECT f.id, f.geom AS g, f.name, f.code
FROM layer_feature f, bounds b
WHERE f.region_code = $10::text
  AND f.layer_id = $11::int
  AND f.geom && b.work
  AND (ST_Dimension(f.geom) < 2 OR ST_Area(f.geom) >= $12::float8)
ORDER BY f.id
LIMIT $13::int

-- name: mvt_epochs
-- The data versions, read in the same statement (so the same snapshot) as the tile: its ETag is exact.
(SELECT json_object_agg(e.key, e.n) FROM (SELECT key, sum(n)::bigint AS n FROM tile_epoch GROUP BY key) e) AS epochs

-- name: mvt_layer
-- One MVT layer of the tile. {{name}} the $n holding its layer name, {{geom}} its geometry in EPSG:3857 (the
-- survey's stored copy r.gw, the others' r.g or a label point transformed),
-- {{props}} its columns. The feature id is the row id; id is also a property (MapLibre promoteId / filters).
-- ST_AsMVT skips rows whose geometry came out NULL (outside the buffer, collapsed): no `WHERE geom IS NOT NULL`,
-- which the planner pushes down and so computes ST_AsMVTGeom twice per row. No rows → an empty bytea; layers
-- are concatenated (a tile is a repeated `layers` field).
(SELECT COALESCE(ST_AsMVT(t, {{name}}, 4096, 'geom', 'fid'), ''::bytea)
 FROM (SELECT ST_AsMVTGeom({{geom}}, b.tile, 4096, 64, true) AS geom, r.id AS fid, r.id, {{props}}
       FROM rows r, bounds b) t)

-- name: geojson_geom
-- One geometry for the JS encoder, in EPSG:4326 with {{digits}} ($n) decimals. Large geometries (a village
-- boundary of thousands of vertices) are cut to the tile plus a margin wider than the 64-unit buffer first,
-- so neither the database nor geojson-vt handles the part that lies far outside; geojson-vt clips exactly.
ST_AsGeoJSON(ST_Transform(
  CASE WHEN ST_NPoints({{geom}}) > 64
       THEN ST_ClipByBox2D(ST_Transform({{geom}}, 3857), ST_Expand(b.tile, (ST_XMax(b.tile) - ST_XMin(b.tile)) / 16))
       ELSE {{geom}} END, 4326), {{digits}})

-- name: geojson_label
-- A label point of the feature (whole geometry, so neighbouring tiles agree on it), for the JS encoder.
ST_AsGeoJSON(ST_Transform(ST_PointOnSurface(r.g), 4326), {{digits}})

-- name: epochs
-- Data version of each source table (migration 004): sum of its slots.
SELECT key, sum(n)::bigint AS n FROM tile_epoch GROUP BY key

-- name: instance
SELECT value FROM setting WHERE key = 'tile_instance'

-- name: catalog
-- The layer table is the allow-list of tile layers: names come from here, never from the request.
SELECT l.id, l.name, l.builtin, l.role, l.title_zh, l.title_en FROM layer l ORDER BY l.id

-- name: work_crs
-- $1 work SRID: its PROJ definition tells where it is usable (central meridian of a transverse Mercator)
SELECT proj4text FROM spatial_ref_sys WHERE srid = $1::int

-- name: extent_survey
-- $1 region, $2 work SRID: lon/lat bounds of the polygons shown (the work-CRS box densified, then transformed)
SELECT ST_XMin(x.b) AS west, ST_YMin(x.b) AS south, ST_XMax(x.b) AS east, ST_YMax(x.b) AS north
FROM (SELECT ST_Transform(ST_Segmentize(ST_SetSRID(e.box::geometry, $2::int), 500), 4326)::box2d AS b
      FROM (SELECT ST_Extent(p.geom) AS box FROM survey_polygon p
            WHERE p.region_code = $1::text AND p.removed_batch_id IS NULL) e
      WHERE e.box IS NOT NULL) x

-- name: extent_parcels
-- $1 region, $2 work SRID
SELECT ST_XMin(x.b) AS west, ST_YMin(x.b) AS south, ST_XMax(x.b) AS east, ST_YMax(x.b) AS north
FROM (SELECT ST_Transform(ST_Segmentize(ST_SetSRID(e.box::geometry, $2::int), 500), 4326)::box2d AS b
      FROM (SELECT ST_Extent(c.geom) AS box FROM parcel c WHERE c.region_code = $1::text) e
      WHERE e.box IS NOT NULL) x

-- name: extent_features
-- $1 region, $2 work SRID, $3 layer id
SELECT ST_XMin(x.b) AS west, ST_YMin(x.b) AS south, ST_XMax(x.b) AS east, ST_YMax(x.b) AS north
FROM (SELECT ST_Transform(ST_Segmentize(ST_SetSRID(e.box::geometry, $2::int), 500), 4326)::box2d AS b
      FROM (SELECT ST_Extent(f.geom) AS box FROM layer_feature f
            WHERE f.region_code = $1::text AND f.layer_id = $3::int) e
      WHERE e.box IS NOT NULL) x
