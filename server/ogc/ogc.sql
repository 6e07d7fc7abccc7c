-- OGC API – Features (read-only): collections are the survey polygons, the parcels and each reference
-- layer of the `layer` table. The collection and its columns come from server/ogc/service.ts's catalog,
-- never from the request; values are $n. The filter marker is replaced by the WHERE clause the service
-- builds (village scope, property filters, bbox, fid), whose values follow the statement's own; the geom
-- marker by the fixed expression of the requested CRS (server/ogc/crs.ts: CRS84, EPSG:4490, work CRS).
--
-- Items are paged by keyset (issue 17 item 6): `p.id > $2` on the primary key, ordered by id, so a page
-- costs the same at any depth (an OFFSET scanned and dropped every earlier row: 590 ms at 28,700 against
-- 13 ms at 20). One row more than the page is read to know whether there is a next page.

-- name: layers
SELECT id, name, builtin, role, title_zh, title_en FROM layer ORDER BY id

-- name: proj4
-- $1 srid: to know where the work CRS is meaningful (bbox clipping)
SELECT proj4text FROM spatial_ref_sys WHERE srid = $1::int

-- name: survey_count
SELECT count(*)::int AS n FROM survey_polygon p WHERE /*filter*/

-- name: survey_items
-- $1 limit, $2 after (the keyset cursor: ids above it; 0 = from the start), $3 decimals
SELECT coalesce(string_agg(s.f, ',' ORDER BY s.id) FILTER (WHERE s.rn <= $1::int), '') AS features,
       (count(*) FILTER (WHERE s.rn <= $1::int))::int AS n,
       max(s.id) FILTER (WHERE s.rn <= $1::int) AS last,
       count(*) > $1::int AS more
FROM (
  SELECT p.id, row_number() OVER (ORDER BY p.id) AS rn,
         '{"type":"Feature","id":' || p.id || ',"geometry":' || ST_AsGeoJSON(/*geom*/, $3::int)
         || ',"properties":' || json_build_object(
              'id', p.id, 'code', p.code, 'survey', p.survey, 'status', p.status, 'village', p.village_name,
              'area_m2', round(p.area_m2::numeric, 2), 'flags', array_to_string(p.flags, ','),
              'priority', round(p.priority::numeric, 3), 'batch_id', p.batch_id)::text
         || '}' AS f
  FROM survey_polygon p
  WHERE /*filter*/ AND p.id > $2::bigint
  ORDER BY p.id
  LIMIT $1::int + 1
) s

-- name: survey_extent
-- $1 work srid
SELECT ST_XMin(b) AS xmin, ST_YMin(b) AS ymin, ST_XMax(b) AS xmax, ST_YMax(b) AS ymax
FROM (SELECT ST_Transform(ST_SetSRID(ST_Extent(p.geom)::geometry, $1::int), 4326)::box2d AS b
      FROM survey_polygon p WHERE /*filter*/) e

-- name: parcels_count
SELECT count(*)::int AS n FROM parcel p WHERE /*filter*/

-- name: parcels_items
-- $1 limit, $2 after (the keyset cursor: ids above it; 0 = from the start), $3 decimals
SELECT coalesce(string_agg(s.f, ',' ORDER BY s.id) FILTER (WHERE s.rn <= $1::int), '') AS features,
       (count(*) FILTER (WHERE s.rn <= $1::int))::int AS n,
       max(s.id) FILTER (WHERE s.rn <= $1::int) AS last,
       count(*) > $1::int AS more
FROM (
  SELECT p.id, row_number() OVER (ORDER BY p.id) AS rn,
         '{"type":"Feature","id":' || p.id || ',"geometry":' || ST_AsGeoJSON(/*geom*/, $3::int)
         || ',"properties":' || json_build_object(
              'id', p.id, 'parcel_code', p.parcel_code, 'holder', p.holder, 'land_use', p.land_use,
              'approved_area', p.approved_area, 'area_m2', round(p.area_m2::numeric, 2))::text
         || '}' AS f
  FROM parcel p
  WHERE /*filter*/ AND p.id > $2::bigint
  ORDER BY p.id
  LIMIT $1::int + 1
) s

-- name: parcels_extent
-- $1 work srid
SELECT ST_XMin(b) AS xmin, ST_YMin(b) AS ymin, ST_XMax(b) AS xmax, ST_YMax(b) AS ymax
FROM (SELECT ST_Transform(ST_SetSRID(ST_Extent(p.geom)::geometry, $1::int), 4326)::box2d AS b
      FROM parcel p WHERE /*filter*/) e

-- name: features_count
SELECT count(*)::int AS n FROM layer_feature p WHERE /*filter*/

-- name: features_items
-- $1 limit, $2 after (the keyset cursor: ids above it; 0 = from the start), $3 decimals
SELECT coalesce(string_agg(s.f, ',' ORDER BY s.id) FILTER (WHERE s.rn <= $1::int), '') AS features,
       (count(*) FILTER (WHERE s.rn <= $1::int))::int AS n,
       max(s.id) FILTER (WHERE s.rn <= $1::int) AS last,
       count(*) > $1::int AS more
FROM (
  SELECT p.id, row_number() OVER (ORDER BY p.id) AS rn,
         '{"type":"Feature","id":' || p.id || ',"geometry":' || ST_AsGeoJSON(/*geom*/, $3::int)
         || ',"properties":' || json_build_object('id', p.id, 'name', p.name, 'code', p.code)::text
         || '}' AS f
  FROM layer_feature p
  WHERE /*filter*/ AND p.id > $2::bigint
  ORDER BY p.id
  LIMIT $1::int + 1
) s

-- name: features_extent
-- $1 work srid
SELECT ST_XMin(b) AS xmin, ST_YMin(b) AS ymin, ST_XMax(b) AS xmax, ST_YMax(b) AS ymax
FROM (SELECT ST_Transform(ST_SetSRID(ST_Extent(p.geom)::geometry, $1::int), 4326)::box2d AS b
      FROM layer_feature p WHERE /*filter*/) e

-- name: bbox_work
-- Not a statement: the bbox predicate when the bbox is given in the work CRS itself, $1..$4 = min x, min y,
-- max x, max y (easting/northing, as PostGIS stores them), $5 work srid.
p.geom && ST_MakeEnvelope($1::float8, $2::float8, $3::float8, $4::float8, $5::int)
AND ST_Intersects(p.geom, ST_MakeEnvelope($1::float8, $2::float8, $3::float8, $4::float8, $5::int))

-- name: bbox
-- Not a statement: the bbox predicate on `p.geom`, $1..$4 = west, south, east, north (CRS84, already
-- clipped to where the work CRS is meaningful), $5 work srid. The lon/lat box is densified before it is
-- transformed (its edges curve in Gauss-Krüger), && uses the GiST index, ST_Intersects is exact.
p.geom && ST_Transform(ST_Segmentize(ST_MakeEnvelope($1::float8, $2::float8, $3::float8, $4::float8, 4326), 0.05), $5::int)
AND ST_Intersects(p.geom, ST_Transform(ST_Segmentize(ST_MakeEnvelope($1::float8, $2::float8, $3::float8, $4::float8, 4326), 0.05), $5::int))
