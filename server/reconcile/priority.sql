-- Priority weights (migration 009, issue 13 rule 9); the score is computed in reconcile.sql summary_rows.

-- name: weights
SELECT key, weight, sort, label_zh, label_en, updated_at, updated_by_name FROM priority_weight ORDER BY sort

-- name: set_weight
-- $1 key, $2 weight, $3 username
UPDATE priority_weight SET weight = $2::double precision, updated_at = now(), updated_by_name = $3 WHERE key = $1
