-- Polygon exports (ledger XLSX/CSV, GeoJSON, shapefile): one page of the caller's filter at a time,
-- keyset-paged on the primary key (`p.id > $1 ORDER BY p.id LIMIT $2`) so 50k rows stream through
-- ~2,000-row pages on PGlite (no server-side cursors) and PostgreSQL alike, and every page is an index
-- range scan, not an OFFSET that rereads the pages before it. The polygon_filter marker is replaced by the
-- WHERE clause of server/dashboard/filters.ts (the filters of GET /api/polygons), its values after the
-- statement's own.

-- name: ledger_page
-- $1 last id of the previous page (0 first), $2 page size, $3 geometry SRID (0: none; the work SRID for
-- the shapefile, full precision; 4326 for the Chinese-named GeoJSON, 7 decimals). The decision (认定人,
-- 认定时间, reason, case) is the one the polygon is at (view polygon_decision), only for polygons with an
-- outcome. What a town office expects beside it (issue 14.3): the delivered attributes (变化类型, 前时相,
-- 后时相, 面积 as delivered), a centre point in CGCS2000 longitude/latitude (EPSG:4490), the last field
-- finding, the case's outcome and next open deadline, and the village's responsible person (village_register).
-- The filter's values from $4 on.
SELECT p.id, p.code, p.survey, p.source, p.village_name AS village, p.area_m2, p.area_m2 / (10000.0 / 15) AS area_mu,
       p.flags, p.status,
       p.attrs ->> '变化类型' AS change_type, p.attrs ->> '前时相' AS before_date, p.attrs ->> '后时相' AS after_date,
       CASE WHEN jsonb_typeof(p.attrs -> '面积') = 'number' THEN (p.attrs ->> '面积')::float8 END AS delivered_m2,
       ST_X(ST_Transform(ST_PointOnSurface(p.geom), 4490)) AS center_lon, ST_Y(ST_Transform(ST_PointOnSurface(p.geom), 4490)) AS center_lat,
       d.decided_by,
       to_char(d.decided_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS decided_at,
       d.reason, d.note,
       c.number AS case_number, c.party, c.status AS case_status, c.outcome AS case_outcome, c.outcome_m2 AS case_outcome_m2,
       c.outcome_at::text AS case_outcome_at,
       (SELECT min(s.deadline)::text FROM case_step s
        WHERE s.region_code = c.region_code AND s.case_id = c.id AND c.status = 'open' AND s.done_on IS NULL) AS next_deadline,
       f.finding, f.finding_note, f.finding_by, to_char(f.received_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS finding_on,
       vr.responsible, vr.title AS responsible_title, vr.phone AS responsible_phone,
       CASE WHEN $3::int = 0 THEN NULL
            WHEN $3::int = ST_SRID(p.geom) THEN ST_AsGeoJSON(p.geom, 9)
            ELSE ST_AsGeoJSON(ST_Transform(p.geom, $3::int), 7) END AS geometry
FROM survey_polygon p
LEFT JOIN LATERAL (
  SELECT d.decided_by, d.decided_at, d.reason, d.note, d.case_id
  FROM polygon_decision d
  WHERE d.region_code = p.region_code AND d.polygon_id = p.id AND d.to_status = p.status
    AND p.status IN ('verified', 'linked', 'dismissed')
) d ON true
LEFT JOIN enforcement_case c ON c.region_code = p.region_code AND c.id = d.case_id
LEFT JOIN LATERAL (
  SELECT ff.finding, ff.note AS finding_note, ff.username AS finding_by, ff.received_at
  FROM field_finding ff WHERE ff.region_code = p.region_code AND ff.polygon_id = p.id
  ORDER BY ff.id DESC LIMIT 1
) f ON true
LEFT JOIN village_register vr ON vr.region_code = p.region_code AND vr.village = p.village_name
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
