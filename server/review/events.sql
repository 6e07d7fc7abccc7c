-- Polygon events: append-only (the table refuses UPDATE/DELETE by trigger). Written only while the
-- polygon's row is locked by the same transaction, so seq = max + 1 is race-free.

-- name: insert_events
-- One event per polygon, set-based.
-- $1 region, $2 polygon ids bigint[], $3 from statuses text[], $4 to statuses text[], $5 case ids bigint[]
-- (per polygon, may hold nulls; falls back to $11), $6 user id, $7 username, $8 action, $9 reason,
-- $10 note, $11 case id (all), $12 request id uuid, $13 payload jsonb
INSERT INTO polygon_event (region_code, polygon_id, seq, user_id, username, action, from_status, to_status,
                           reason, note, case_id, request_id, payload)
SELECT $1, u.id,
       coalesce((SELECT max(e.seq) FROM polygon_event e WHERE e.region_code = $1 AND e.polygon_id = u.id), 0) + 1,
       $6, $7, $8, u.from_status, u.to_status, $9, $10, coalesce(u.case_id, $11::bigint), $12::uuid,
       coalesce($13::jsonb, '{}'::jsonb)
FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[]) AS u(id, from_status, to_status, case_id)
ORDER BY u.id
RETURNING id, polygon_id, seq, at, user_id, username, action, from_status, to_status, reason, note, case_id,
          request_id, payload

-- name: history
-- $1 region, $2 polygon id: every event, oldest first, with the case number when there is one
SELECT e.id, e.seq, e.at, e.user_id, e.username, e.action, e.from_status, e.to_status, e.reason, e.note,
       e.case_id, c.number AS case_number, e.request_id, e.payload
FROM polygon_event e
LEFT JOIN enforcement_case c ON c.region_code = e.region_code AND c.id = e.case_id
WHERE e.region_code = $1 AND e.polygon_id = $2
ORDER BY e.seq

-- name: polygon_head
-- $1 region, $2 polygon id: current state, for the history answer and its village scope
SELECT id, code, status, version, village_name, removed_batch_id IS NOT NULL AS removed
FROM survey_polygon
WHERE region_code = $1 AND id = $2

-- name: last_decision
-- $1 region, $2 polygon id: who changed the status last (for a conflict answer)
SELECT e.username, e.at, e.action, e.seq
FROM polygon_event e
WHERE e.region_code = $1 AND e.polygon_id = $2 AND e.from_status IS DISTINCT FROM e.to_status
ORDER BY e.seq DESC
LIMIT 1

-- name: replay_source
-- $1 region: every event of every polygon (id, seq order) for replay checks
SELECT e.polygon_id, e.seq, e.action, e.from_status, e.to_status
FROM polygon_event e
WHERE e.region_code = $1
ORDER BY e.polygon_id, e.seq
