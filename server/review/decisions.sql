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

-- name: decide_at_once
-- The whole of a plain decision (no case to open or leave, no proof) in one autocommit statement, one round
-- trip instead of six (BEGIN, claim, update, event, answer, COMMIT): lock the row and change it only at the
-- expected version (as decide_one), append its event (as insert_events), and store the answer under the
-- request id (as claim_request + store_response) — built here, so the first answer and every replay are the
-- same stored JSON. It is all or nothing like the transaction it replaces. It gives no row, or fails, when
-- anything is not plain: the version or status moved, the polygon is out of scope or removed, the request
-- id was used before (unique violation on decision_request), another event of the polygon committed since
-- this statement's snapshot (unique violation on seq); the caller then runs the full transaction, which
-- says why (decisions.ts decideOne).
-- $1 region, $2 polygon id, $3 expected version, $4 new status, $5 statuses the action starts from,
-- $6 village scope (NULL = all), $7 user id, $8 username, $9 action, $10 reason, $11 note, $12 request id,
-- $13 fingerprint, $14 the event's labels (jsonb: action_label, reason_label, to_status_label)
WITH cur AS (
  SELECT region_code, id, status
  FROM survey_polygon
  WHERE region_code = $1 AND id = $2
  FOR UPDATE
), upd AS (
  UPDATE survey_polygon p
  SET status = $4, version = p.version + 1
  FROM cur
  WHERE p.region_code = cur.region_code AND p.id = cur.id
    AND p.version = $3
    AND p.status = ANY($5::text[])
    AND p.removed_batch_id IS NULL
    AND ($6::text[] IS NULL OR p.village_name = ANY($6::text[]))
  RETURNING p.id, cur.status AS from_status, p.status, p.version
), ev AS (
  INSERT INTO polygon_event (region_code, polygon_id, seq, user_id, username, action, from_status, to_status,
                             reason, note, case_id, request_id, payload)
  SELECT $1, u.id,
         coalesce((SELECT max(e.seq) FROM polygon_event e WHERE e.region_code = $1 AND e.polygon_id = u.id), 0) + 1,
         $7, $8, $9, u.from_status, u.status, $10, $11, NULL, $12::uuid, '{}'::jsonb
  FROM upd u
  RETURNING id, polygon_id, seq, at, user_id, username, action, from_status, to_status, reason, note, case_id,
            request_id, payload
), answer AS (
  SELECT jsonb_build_object(
           'polygon', jsonb_build_object('id', u.id, 'status', u.status, 'version', u.version),
           -- `at` as JSON.stringify writes a Date (what the full transaction stores)
           'event', to_jsonb(ev) || jsonb_build_object('at', to_char(ev.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
                    || $14::jsonb,
           'case', NULL,
           'replayed', false) AS response
  FROM upd u, ev
)
INSERT INTO decision_request (region_code, user_id, request_id, fingerprint, response)
SELECT $1, $7, $12::uuid, $13, a.response
FROM answer a
RETURNING response
