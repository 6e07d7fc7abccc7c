-- The village register (migration 010): village → responsible person and phone.

-- name: list
-- $1 region, $2 villages the caller may see (NULL: all)
SELECT village, responsible, title, phone, to_char(updated_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS updated_at, updated_by
FROM village_register
WHERE region_code = $1 AND ($2::text[] IS NULL OR village = ANY ($2::text[]))
ORDER BY village

-- name: get
-- $1 region, $2 village
SELECT village, responsible, title, phone FROM village_register WHERE region_code = $1 AND village = $2

-- name: upsert
-- $1 region, $2 village, $3 responsible, $4 title, $5 phone, $6 by whom. Returns inserted = true for a new row.
INSERT INTO village_register (region_code, village, responsible, title, phone, updated_by)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (region_code, village) DO UPDATE
  SET responsible = EXCLUDED.responsible, title = EXCLUDED.title, phone = EXCLUDED.phone,
      updated_by = EXCLUDED.updated_by, updated_at = now()
RETURNING village, responsible, title, phone, (xmax = 0) AS inserted

-- name: delete
-- $1 region, $2 village
DELETE FROM village_register WHERE region_code = $1 AND village = $2 RETURNING village

-- name: known_villages
-- $1 region: village names the data knows (the village layer, polygons, cases), to warn about a typo
SELECT f.name AS village FROM layer_feature f JOIN layer l ON l.id = f.layer_id WHERE l.name = 'village' AND f.region_code = $1 AND f.name IS NOT NULL
UNION SELECT village_name FROM survey_polygon WHERE region_code = $1 AND village_name IS NOT NULL
UNION SELECT village FROM enforcement_case WHERE region_code = $1 AND village IS NOT NULL
