-- Idempotent writes (idempotency.ts): one row per (user, request id) in decision_request, claimed in the
-- transaction that does the work, the answer stored in it. Decisions and opening a case use it.

-- name: claim_request
-- Idempotency: claim (user, request id) first. A concurrent twin blocks on the primary key until this
-- transaction ends, then gets no row and reads the stored answer.
-- $1 region, $2 user id, $3 request id, $4 fingerprint of what was asked
INSERT INTO decision_request (region_code, user_id, request_id, fingerprint)
VALUES ($1, $2, $3::uuid, $4)
ON CONFLICT (region_code, user_id, request_id) DO NOTHING
RETURNING request_id

-- name: find_request
-- $1 region, $2 user id, $3 request id
SELECT fingerprint, response
FROM decision_request
WHERE region_code = $1 AND user_id = $2 AND request_id = $3::uuid

-- name: store_response
-- $1 region, $2 user id, $3 request id, $4 response jsonb
UPDATE decision_request SET response = $4::jsonb
WHERE region_code = $1 AND user_id = $2 AND request_id = $3::uuid
