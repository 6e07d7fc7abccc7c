-- The per-village report page (GET /reports/village/:name): outline and polygons as SVG paths in the
-- work CRS (planar metres), translated so the map's top-left corner is (0, 0): browsers draw paths in
-- single precision and GK eastings (35 593 000) would lose metres.

-- name: frame
-- $1 region, $2 village name. The map frame: the village outline(s) and every polygon of the village.
WITH outline AS (
  SELECT ST_Collect(f.geom) AS geom, min(f.code) AS code
  FROM layer_feature f JOIN layer l ON l.id = f.layer_id
  WHERE l.name = 'village' AND f.region_code = $1 AND f.name = $2
),
polys AS (
  SELECT ST_Collect(p.geom) AS geom, count(*)::int AS n
  FROM survey_polygon p
  WHERE p.region_code = $1 AND p.village_name = $2 AND p.removed_batch_id IS NULL
),
box AS (
  SELECT ST_Extent(g) AS b FROM (SELECT geom AS g FROM outline UNION ALL SELECT geom FROM polys) x WHERE g IS NOT NULL
)
SELECT (SELECT code FROM outline) AS code,
       (SELECT n FROM polys) AS polygons,
       (SELECT geom IS NOT NULL FROM outline) AS has_outline,
       ST_XMin(b) AS x0, ST_YMax(b) AS y1, ST_XMax(b) - ST_XMin(b) AS width, ST_YMax(b) - ST_YMin(b) AS height,
       (SELECT ST_AsSVG(ST_Translate(geom, -ST_XMin(b), -ST_YMax(b)), 0, 2) FROM outline) AS outline_svg
FROM box

-- name: polygons
-- $1 region, $2 village name, $3 x0, $4 y1 (the frame's top-left corner). Every polygon of the village
-- with its decision (view polygon_decision) and case number, in code order; the label point (lx, ly), the
-- polygon's east edge and extent (a polygon smaller than its number gets the number beside it).
SELECT p.id, p.code, p.status, p.area_m2, p.area_m2 / (10000.0 / 15) AS area_mu, p.flags,
       d.decided_by, to_char(d.decided_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS decided_at,
       d.reason, c.number AS case_number,
       ST_AsSVG(ST_Translate(p.geom, -$3::float8, -$4::float8), 0, 2) AS svg,
       ST_X(ST_PointOnSurface(p.geom)) - $3::float8 AS lx, $4::float8 - ST_Y(ST_PointOnSurface(p.geom)) AS ly,
       ST_XMax(p.geom) - $3::float8 AS right_x, ST_XMax(p.geom) - ST_XMin(p.geom) AS span_x, ST_YMax(p.geom) - ST_YMin(p.geom) AS span_y
FROM survey_polygon p
LEFT JOIN LATERAL (
  SELECT d.decided_by, d.decided_at, d.reason, d.case_id FROM polygon_decision d
  WHERE d.region_code = p.region_code AND d.polygon_id = p.id AND d.to_status = p.status
    AND p.status IN ('verified', 'linked', 'dismissed')
) d ON true
LEFT JOIN enforcement_case c ON c.region_code = p.region_code AND c.id = d.case_id
WHERE p.region_code = $1 AND p.village_name = $2 AND p.removed_batch_id IS NULL
ORDER BY p.code, p.id
