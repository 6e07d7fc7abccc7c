-- Case ledger export: the cases come from review/cases.ts listCases (same filters, scope and overdue rule
-- as GET /api/cases); these add their steps and polygons, one page of case ids at a time.

-- name: case_steps
-- $1 region, $2 case ids
SELECT s.case_id, s.step, s.started_on::text AS started_on, s.deadline::text AS deadline, s.done_on::text AS done_on
FROM case_step s
WHERE s.region_code = $1 AND s.case_id = ANY ($2::bigint[])

-- name: case_polygons
-- $1 region, $2 case ids, $3 the caller's villages (NULL = all): polygons linked now (or when the case
-- closed) that the caller may see (a case may link a polygon of another village: issue 12 item 6)
SELECT cp.case_id, string_agg(p.code, '、' ORDER BY p.code) AS codes, sum(p.area_m2) AS area_m2
FROM case_polygon cp
JOIN survey_polygon p ON p.region_code = cp.region_code AND p.id = cp.polygon_id
WHERE cp.region_code = $1 AND cp.case_id = ANY ($2::bigint[]) AND cp.unlinked_at IS NULL
  AND ($3::text[] IS NULL OR p.village_name = ANY ($3::text[]))
GROUP BY cp.case_id

-- name: case_notes
-- $1 region, $2 case ids
SELECT c.id, c.note, c.seq FROM enforcement_case c WHERE c.region_code = $1 AND c.id = ANY ($2::bigint[])
