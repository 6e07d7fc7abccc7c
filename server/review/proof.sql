-- Proof per outcome (issue 13 item 18; migration 015). A photo's date is the China date of the camera's
-- EXIF time, else of the phone's clock at capture; the upload time proves nothing about when it was taken.

-- name: requirements
SELECT subject, outcome, proof, enforced, updated_at, updated_by_name
FROM proof_requirement
ORDER BY subject DESC, outcome, proof

-- name: requirements_of
-- $1 subject, $2 outcome
SELECT proof, enforced FROM proof_requirement WHERE subject = $1 AND outcome = $2 ORDER BY proof

-- name: delete_all
DELETE FROM proof_requirement

-- name: insert_one
-- $1 subject, $2 outcome, $3 proof, $4 enforced, $5 username
INSERT INTO proof_requirement (subject, outcome, proof, enforced, updated_by_name) VALUES ($1, $2, $3, $4, $5)

-- name: photo_dates
-- $1 region, $2 polygon ids bigint[]: per polygon, how many photos and the latest photo date (China date)
SELECT u.id AS polygon_id, count(v.id)::int AS photos,
       max(((coalesce(v.taken_at, v.captured_at)) AT TIME ZONE 'Asia/Shanghai')::date)::text AS latest_photo_on
FROM unnest($2::bigint[]) AS u(id)
LEFT JOIN evidence v ON v.region_code = $1 AND v.polygon_id = u.id
GROUP BY u.id

-- name: case_photo_dates
-- $1 region, $2 case id: the photos of the case's polygons (linked now or before): how many, the latest date
SELECT count(v.id)::int AS photos,
       max(((coalesce(v.taken_at, v.captured_at)) AT TIME ZONE 'Asia/Shanghai')::date)::text AS latest_photo_on
FROM case_polygon cp
JOIN evidence v ON v.region_code = cp.region_code AND v.polygon_id = cp.polygon_id
WHERE cp.region_code = $1 AND cp.case_id = $2

-- name: lacking
-- $1 region, $2 village scope (NULL = all). Every current outcome with a requirement, and whether each
-- requirement is met by the data now: dismissed polygons (their current dismissal event's proof) and
-- closed cases. One row per (subject, outcome, proof): outcomes, and how many of them lack that proof.
WITH photos AS (
  -- per polygon: has a photo, latest photo date
  SELECT v.polygon_id, max(((coalesce(v.taken_at, v.captured_at)) AT TIME ZONE 'Asia/Shanghai')::date) AS latest
  FROM evidence v WHERE v.region_code = $1
  GROUP BY v.polygon_id
),
dismissed AS (
  SELECT p.id, d.reason AS outcome, e.payload -> 'proof' AS proof, ph.polygon_id IS NOT NULL AS has_photo, ph.latest
  FROM survey_polygon p
  JOIN polygon_decision d ON d.region_code = p.region_code AND d.polygon_id = p.id AND d.to_status = p.status
  JOIN polygon_event e ON e.region_code = d.region_code AND e.polygon_id = d.polygon_id AND e.seq = d.seq
  LEFT JOIN photos ph ON ph.polygon_id = p.id
  WHERE p.region_code = $1 AND p.status = 'dismissed' AND p.removed_batch_id IS NULL
    AND ($2::text[] IS NULL OR p.village_name = ANY ($2::text[]))
),
closed AS (
  SELECT c.id, c.outcome, c.outcome_ref, c.outcome_at,
         EXISTS (SELECT 1 FROM case_polygon cp JOIN photos ph ON ph.polygon_id = cp.polygon_id
                 WHERE cp.region_code = c.region_code AND cp.case_id = c.id) AS has_photo,
         (SELECT max(ph.latest) FROM case_polygon cp JOIN photos ph ON ph.polygon_id = cp.polygon_id
          WHERE cp.region_code = c.region_code AND cp.case_id = c.id) AS latest
  FROM enforcement_case c
  WHERE c.region_code = $1 AND c.status = 'closed'
    AND ($2::text[] IS NULL OR c.village = ANY ($2::text[]))
),
met AS (
  SELECT 'dismiss'::text AS subject, r.outcome, r.proof, x.id,
         CASE r.proof
           WHEN 'permit_ref' THEN coalesce(btrim(x.proof ->> 'permit_ref'), '') <> ''
           WHEN 'field_photo' THEN x.has_photo
           WHEN 'photo_after' THEN x.proof ->> 'demolished_on' IS NOT NULL AND x.latest >= (x.proof ->> 'demolished_on')::date
         END AS ok
  FROM proof_requirement r JOIN dismissed x ON r.subject = 'dismiss' AND x.outcome = r.outcome
  UNION ALL
  SELECT 'case', r.outcome, r.proof, x.id,
         CASE r.proof
           WHEN 'permit_ref' THEN coalesce(btrim(x.outcome_ref), '') <> ''
           WHEN 'field_photo' THEN x.has_photo
           WHEN 'photo_after' THEN x.latest IS NOT NULL AND x.latest >= x.outcome_at
         END
  FROM proof_requirement r JOIN closed x ON r.subject = 'case' AND x.outcome = r.outcome
)
SELECT subject, outcome, proof, count(*)::int AS outcomes, count(*) FILTER (WHERE NOT coalesce(ok, false))::int AS lacking,
       coalesce(array_agg(id ORDER BY id) FILTER (WHERE NOT coalesce(ok, false)), '{}') AS lacking_ids
FROM met
GROUP BY subject, outcome, proof
ORDER BY subject DESC, outcome, proof
