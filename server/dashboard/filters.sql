-- Review filters: predicates on a survey polygon `p` that GET /api/polygons, every export and the
-- dashboard's click-through share (server/dashboard/filters.ts appends them to polygons/repo.ts's
-- polygonWhere). Each one is a WHERE fragment, not a statement: `$1` (and `$2`) are renumbered to the
-- caller's parameter positions. They read the review-fact views of migration 005 — the same ones
-- coverage.sql groups by — so a figure and the list behind it cannot disagree.

-- name: reason
-- Dismissed polygons whose current dismissal has one of these reasons ('-' = none recorded).
-- $1 text[]
p.status = 'dismissed' AND coalesce(
  (SELECT d.reason FROM polygon_decision d
   WHERE d.region_code = p.region_code AND d.polygon_id = p.id AND d.to_status = p.status), '-') = ANY($1::text[])

-- name: decided_by
-- Polygons with an outcome decided by one of these users (username of the last outcome event; '-' = none).
-- $1 text[]
p.status IN ('verified', 'linked', 'dismissed') AND coalesce(
  (SELECT d.decided_by FROM polygon_decision d
   WHERE d.region_code = p.region_code AND d.polygon_id = p.id AND d.to_status = p.status), '-') = ANY($1::text[])

-- name: first_outcome_from
-- First reached an outcome at or after $1 (timestamptz).
EXISTS (SELECT 1 FROM polygon_first_outcome f
        WHERE f.region_code = p.region_code AND f.polygon_id = p.id AND f.first_outcome_at >= $1::timestamptz)

-- name: first_outcome_to
-- First reached an outcome before $1 (timestamptz).
EXISTS (SELECT 1 FROM polygon_first_outcome f
        WHERE f.region_code = p.region_code AND f.polygon_id = p.id AND f.first_outcome_at < $1::timestamptz)

-- name: first_outcome_none
-- Never reached an outcome through a decision event (no verify/link/dismiss in its history).
NOT EXISTS (SELECT 1 FROM polygon_first_outcome f WHERE f.region_code = p.region_code AND f.polygon_id = p.id)

-- name: imported_from
-- First imported (the batch that first delivered it) at or after $1 (timestamptz).
(SELECT b.created_at FROM import_batch b WHERE b.id = p.first_batch_id) >= $1::timestamptz

-- name: imported_to
-- First imported before $1 (timestamptz).
(SELECT b.created_at FROM import_batch b WHERE b.id = p.first_batch_id) < $1::timestamptz

-- name: evidence_yes
-- Has photo evidence.
EXISTS (SELECT 1 FROM polygon_evidence v WHERE v.region_code = p.region_code AND v.polygon_id = p.id)

-- name: evidence_no
-- Has no photo evidence.
NOT EXISTS (SELECT 1 FROM polygon_evidence v WHERE v.region_code = p.region_code AND v.polygon_id = p.id)

-- name: field_result_yes
-- A field finding came back (issue 13 item 16: the queue marks and filters these).
EXISTS (SELECT 1 FROM field_finding f WHERE f.region_code = p.region_code AND f.polygon_id = p.id)

-- name: field_result_no
-- No field finding yet.
NOT EXISTS (SELECT 1 FROM field_finding f WHERE f.region_code = p.region_code AND f.polygon_id = p.id)
