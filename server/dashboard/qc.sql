-- Quality check (抽查): random samples of decided polygons, a verdict per item, agreement figures.

-- name: insert_sample
-- $1 region, $2 per village, $3 seed, $4 survey (NULL = all), $5 creator's villages (NULL = all), $6 user id, $7 username
INSERT INTO qc_sample (region_code, per_village, seed, survey, villages, created_by, created_by_name)
VALUES ($1, $2::int, $3, $4, $5::text[], $6::int, $7)
RETURNING id, created_at

-- name: draw_items
-- $1 region, $2 sample id, $3 per village, $4 seed, $5 survey (NULL = all), $6 village scope (NULL = all).
-- $4 decides the order (md5 of seed and polygon id): the same seed over the same decisions draws the same
-- polygons. Decided = an outcome now, never a removed polygon; the decision is the one the polygon is at.
INSERT INTO qc_item (region_code, sample_id, polygon_id, village, status, version, event_seq, decided_by, decided_at, reason)
SELECT $1, $2::bigint, x.id, x.village_name, x.status, x.version, x.seq, x.decided_by, x.decided_at, x.reason
FROM (
  SELECT p.id, p.village_name, p.status, p.version, d.seq, d.decided_by, d.decided_at, d.reason,
         row_number() OVER (PARTITION BY p.village_name ORDER BY md5($4::text || ':' || p.id::text), p.id) AS rn
  FROM survey_polygon p
  LEFT JOIN polygon_decision d ON d.region_code = p.region_code AND d.polygon_id = p.id AND d.to_status = p.status
  WHERE p.region_code = $1
    AND p.removed_batch_id IS NULL
    AND p.status IN ('verified', 'linked', 'dismissed')
    AND ($5::text IS NULL OR p.survey = $5::text)
    AND ($6::text[] IS NULL OR p.village_name = ANY ($6::text[]))
) x
WHERE x.rn <= $3::int
ORDER BY x.village_name, x.rn

-- name: get_sample
-- $1 region, $2 sample id
SELECT id, per_village, seed, survey, villages, created_by, created_by_name, created_at
FROM qc_sample
WHERE region_code = $1 AND id = $2

-- name: list_samples
-- $1 region, $2 village scope (NULL = all): samples with at least one item the caller may see
SELECT s.id, s.per_village, s.seed, s.survey, s.created_by_name, s.created_at,
       count(i.id)::int AS items, count(i.verdict)::int AS reviewed
FROM qc_sample s
JOIN qc_item i ON i.region_code = s.region_code AND i.sample_id = s.id
WHERE s.region_code = $1 AND ($2::text[] IS NULL OR i.village = ANY ($2::text[]))
GROUP BY s.region_code, s.id
ORDER BY s.id DESC
LIMIT 200

-- name: sample_items
-- $1 region, $2 sample id, $3 village scope (NULL = all)
SELECT i.id, i.polygon_id, p.code, i.village, i.status AS decided_status, i.version, i.event_seq, i.decided_by,
       i.decided_at, i.reason, i.verdict, i.comment, i.reviewed_by_name, i.reviewed_at,
       p.status AS current_status, p.version AS current_version, p.area_m2
FROM qc_item i
JOIN survey_polygon p ON p.region_code = i.region_code AND p.id = i.polygon_id
WHERE i.region_code = $1 AND i.sample_id = $2 AND ($3::text[] IS NULL OR i.village = ANY ($3::text[]))
ORDER BY i.village, i.id

-- name: sample_stats
-- $1 region, $2 sample id, $3 village scope (NULL = all).
-- reviewed_share = items with a verdict / items; agreement = approved / items with a verdict.
SELECT CASE WHEN GROUPING(i.village) = 0 THEN 'village' WHEN GROUPING(i.decided_by) = 0 THEN 'analyst' ELSE 'overall' END AS dimension,
       CASE WHEN GROUPING(i.village) = 0 THEN coalesce(i.village, '-')
            WHEN GROUPING(i.decided_by) = 0 THEN coalesce(i.decided_by, '-') END AS key,
       count(*)::int AS items,
       count(i.verdict)::int AS reviewed,
       count(*) FILTER (WHERE i.verdict = 'approve')::int AS approved,
       count(*) FILTER (WHERE i.verdict = 'return')::int AS returned,
       count(i.verdict)::float8 / count(*) AS reviewed_share,
       count(*) FILTER (WHERE i.verdict = 'approve')::float8 / nullif(count(i.verdict), 0) AS agreement
FROM qc_item i
WHERE i.region_code = $1 AND i.sample_id = $2 AND ($3::text[] IS NULL OR i.village = ANY ($3::text[]))
GROUP BY GROUPING SETS ((i.village), (i.decided_by), ())
ORDER BY 1, 2

-- name: lock_item
-- $1 region, $2 item id
SELECT i.id, i.sample_id, i.polygon_id, i.village, i.status, i.version, i.verdict,
       p.version AS current_version, p.status AS current_status
FROM qc_item i
JOIN survey_polygon p ON p.region_code = i.region_code AND p.id = i.polygon_id
WHERE i.region_code = $1 AND i.id = $2
FOR UPDATE OF i

-- name: record_verdict
-- $1 region, $2 item id, $3 verdict, $4 comment, $5 user id, $6 username
UPDATE qc_item SET verdict = $3, comment = $4, reviewed_by = $5::int, reviewed_by_name = $6, reviewed_at = now()
WHERE region_code = $1 AND id = $2 AND verdict IS NULL
RETURNING id

-- name: undo_verdict
-- The return it stood for was refused: the item is open again. $1 region, $2 item id, $3 user id
UPDATE qc_item SET verdict = NULL, comment = NULL, reviewed_by = NULL, reviewed_by_name = NULL, reviewed_at = NULL
WHERE region_code = $1 AND id = $2 AND reviewed_by = $3::int AND verdict = 'return'
