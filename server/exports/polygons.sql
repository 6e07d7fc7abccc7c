-- Polygon exports (ledger XLSX/CSV, GeoJSON, shapefile): one page of the caller's filter at a time,
-- keyset-paged on the primary key (`p.id > $1 ORDER BY p.id LIMIT $2`) so 50k rows stream through
-- ~2,000-row pages on PGlite (no server-side cursors) and PostgreSQL alike, and every page is an index
-- range scan, not an OFFSET that rereads the pages before it. The polygon_filter marker is replaced by the
-- WHERE clause of server/dashboard/filters.ts (the filters of GET /api/polygons), its values after the
-- statement's own.

-- name: ledger_page
-- $1 last id of the previous page (0 first), $2 page size, $3 with geometry (bool): GeoJSON in the work
-- CRS, full precision, for the shapefile. The decision (认定人, 认定时间, reason, case) is the one the
-- polygon is at (view polygon_decision), only for polygons with an outcome. The filter's values from $4 on.
SELECT p.id, p.code, p.survey, p.village_name AS village, p.area_m2, p.area_m2 / (10000.0 / 15) AS area_mu,
       p.flags, p.status,
       d.decided_by,
       to_char(d.decided_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS decided_at,
       d.reason, d.note,
       c.number AS case_number, c.party, c.status AS case_status, c.outcome AS case_outcome, c.outcome_m2 AS case_outcome_m2,
       CASE WHEN $3::boolean THEN ST_AsGeoJSON(p.geom, 9) END AS geometry
FROM survey_polygon p
LEFT JOIN LATERAL (
  SELECT d.decided_by, d.decided_at, d.reason, d.note, d.case_id
  FROM polygon_decision d
  WHERE d.region_code = p.region_code AND d.polygon_id = p.id AND d.to_status = p.status
    AND p.status IN ('verified', 'linked', 'dismissed')
) d ON true
LEFT JOIN enforcement_case c ON c.region_code = p.region_code AND c.id = d.case_id
WHERE /*polygon_filter*/ AND p.id > $1::bigint
ORDER BY p.id
LIMIT $2::int

-- name: geojson_page
-- $1 last id (0 first), $2 page size; the filter's values from $3 on.
-- The page as GeoJSON Feature texts joined by commas, built by PostGIS (EPSG:4326, 7 decimals ≈ 1 cm):
-- Node only concatenates. last = the page's last id, n = its feature count.
SELECT max(s.id) AS last, count(*)::int AS n, string_agg(s.f, ',' ORDER BY s.id) AS features
FROM (
  SELECT p.id,
         '{"type":"Feature","id":' || p.id || ',"geometry":' || ST_AsGeoJSON(ST_Transform(p.geom, 4326), 7)
         || ',"properties":' || json_build_object(
              'id', p.id, 'code', p.code, 'survey', p.survey, 'village', p.village_name,
              'area_m2', round(p.area_m2::numeric, 2), 'area_mu', round((p.area_m2 / (10000.0 / 15))::numeric, 4),
              'flags', p.flags, 'status', p.status, 'priority', round(p.priority::numeric, 3),
              'decided_by', d.decided_by, 'decided_at', d.decided_at, 'reason', d.reason, 'note', d.note,
              'case_number', c.number, 'party', c.party, 'removed', p.removed_batch_id IS NOT NULL)::text
         || '}' AS f
  FROM survey_polygon p
  LEFT JOIN LATERAL (
    SELECT d.decided_by, d.decided_at, d.reason, d.note, d.case_id
    FROM polygon_decision d
    WHERE d.region_code = p.region_code AND d.polygon_id = p.id AND d.to_status = p.status
      AND p.status IN ('verified', 'linked', 'dismissed')
  ) d ON true
  LEFT JOIN enforcement_case c ON c.region_code = p.region_code AND c.id = d.case_id
  WHERE /*polygon_filter*/ AND p.id > $1::bigint
  ORDER BY p.id
  LIMIT $2::int
) s

-- name: layer_titles
-- Flag labels for the ledger: layer name → Chinese title.
SELECT name, title_zh FROM layer

-- name: work_crs_wkt
-- $1 srid: OGC WKT for a .prj when the work CRS is not one of the CGCS2000 codes we write as ESRI WKT.
SELECT srtext FROM spatial_ref_sys WHERE srid = $1::int
