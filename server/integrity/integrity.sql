-- The integrity check (issue 12 item 4/5; README "Integrity check"): what it compares.

-- name: polygon_statuses
-- $1 region: every polygon's stored status
SELECT p.id, p.code, p.survey, p.status, p.village_name AS village
FROM survey_polygon p
WHERE p.region_code = $1
ORDER BY p.id

-- name: event_chain
-- $1 region: every event of every polygon, in (polygon, seq) order, for replay
SELECT e.polygon_id, e.seq, e.action, e.from_status, e.to_status
FROM polygon_event e
WHERE e.region_code = $1
ORDER BY e.polygon_id, e.seq

-- name: evidence_files
-- every stored photo's content (all regions share the data directory's photo store)
SELECT e.sha256, e.mime, array_agg(e.id ORDER BY e.id) AS ids
FROM evidence e
GROUP BY e.sha256, e.mime
