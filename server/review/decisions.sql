-- Decisions on survey polygons. Optimistic concurrency: the client sends the version it saw; the
-- UPDATE only matches that version (one statement, race-free), and bumps it.

-- name: decide_one
-- Lock the row, then change it only if it is still at the expected version, in a status the action
-- may start from, not removed and inside the caller's village scope. No row back = refused.
-- $1 region, $2 polygon id, $3 expected version, $4 new status, $5 statuses the action starts from,
-- $6 village scope (NULL = all)
WITH cur AS (
  SELECT region_code, id, status
  FROM survey_polygon
  WHERE region_code = $1 AND id = $2
  FOR UPDATE
)
UPDATE survey_polygon p
SET status = $4, version = p.version + 1
FROM cur
WHERE p.region_code = cur.region_code AND p.id = cur.id
  AND p.version = $3
  AND p.status = ANY($5::text[])
  AND p.removed_batch_id IS NULL
  AND ($6::text[] IS NULL OR p.village_name = ANY($6::text[]))
RETURNING p.id, cur.status AS from_status, p.status, p.version

-- name: polygon_state
-- $1 region, $2 polygon id: why a decision was refused
SELECT id, status, version, village_name, removed_batch_id IS NOT NULL AS removed
FROM survey_polygon
WHERE region_code = $1 AND id = $2

-- name: polygon_villages
-- $1 region, $2 polygon ids: scope check and a new case's village (read before any lock is taken)
SELECT id, village_name
FROM survey_polygon
WHERE region_code = $1 AND id = ANY($2::bigint[])

-- name: lock_polygons
-- Bulk: lock every named polygon in id order (two bulk requests never deadlock each other).
-- $1 region, $2 polygon ids
SELECT id, status, version, village_name, removed_batch_id IS NOT NULL AS removed
FROM survey_polygon
WHERE region_code = $1 AND id = ANY($2::bigint[])
ORDER BY id
FOR UPDATE

-- name: decide_many
-- Bulk, after lock_polygons has checked every row: still guarded by the version.
-- $1 region, $2 polygon ids, $3 expected versions, $4 new status
UPDATE survey_polygon p
SET status = $4, version = p.version + 1
FROM unnest($2::bigint[], $3::int[]) AS i(id, version)
WHERE p.region_code = $1 AND p.id = i.id AND p.version = i.version
RETURNING p.id, p.status, p.version
