-- Enforcement cases (台账), their polygons and their steps. Lock order everywhere: case row, then the
-- polygons (id order), then case_polygon rows: no deadlock between deciding, linking and closing.

-- name: next_seq
-- Per-year counter, in the creating transaction: unique and gapless (a rollback gives the number back).
-- $1 region, $2 year
INSERT INTO case_counter (region_code, year, last) VALUES ($1, $2::int, 1)
ON CONFLICT (region_code, year) DO UPDATE SET last = case_counter.last + 1
RETURNING last

-- name: insert_case
-- $1 region, $2 year, $3 seq, $4 party, $5 address, $6 village, $7 kind, $8 discovered_on, $9 note,
-- $10 user id, $11 username
INSERT INTO enforcement_case (region_code, year, seq, number, party, address, village, kind, discovered_on, note,
                              created_by, created_by_name)
VALUES ($1, $2::int, $3::int,
        coalesce((SELECT value FROM setting WHERE key = 'case_number_prefix'), '违建')
          || '〔' || $2::int::text || '〕第' || $3::int::text || '号',
        $4, $5, $6, $7, $8::date, $9, $10, $11)
RETURNING id

-- name: get_case
-- $1 region, $2 case id, $3 as-of date (overdue steps)
SELECT c.id, c.number, c.year, c.seq, c.party, c.address, c.village, c.kind, c.discovered_on::text AS discovered_on,
       c.note, c.status, c.outcome, c.outcome_at::text AS outcome_at, c.outcome_m2, c.outcome_ref, c.outcome_note, c.version,
       c.created_by, c.created_by_name, c.created_at, c.updated_at
FROM enforcement_case c
WHERE c.region_code = $1 AND c.id = $2

-- name: lock_case
-- $1 region, $2 case id
SELECT id, status, village, version, kind, discovered_on::text AS discovered_on
FROM enforcement_case
WHERE region_code = $1 AND id = $2
FOR UPDATE

-- name: share_case
-- Linking to a case: it must stay open until this transaction ends (closing takes FOR UPDATE).
-- $1 region, $2 case id
SELECT id, number, status, village
FROM enforcement_case
WHERE region_code = $1 AND id = $2
FOR SHARE

-- name: case_steps
-- $1 region, $2 case id, $3 as-of date
SELECT s.step, s.started_on::text AS started_on, s.deadline::text AS deadline, s.done_on::text AS done_on, s.note,
       s.recorded_by, s.recorded_by_name, s.recorded_at, s.companies, s.photo_ids,
       (c.status = 'open' AND s.done_on IS NULL AND s.deadline < $3::date) AS overdue
FROM case_step s
JOIN enforcement_case c ON c.region_code = s.region_code AND c.id = s.case_id
WHERE s.region_code = $1 AND s.case_id = $2

-- name: case_polygons
-- $1 region, $2 case id, $3 the caller's villages (NULL = all): polygons linked (now or when it closed)
-- that the caller may see. A case of one village may link a polygon of another (issue 12 item 6): a
-- village-limited caller never sees that polygon's code or village.
SELECT p.id, p.code, p.survey, p.status, p.version, p.village_name AS village, p.area_m2,
       ST_AsGeoJSON(ST_Transform(p.geom, 4326), 6)::json AS geometry,
       cp.linked_at, cp.linked_by_name, cp.is_open
FROM case_polygon cp
JOIN survey_polygon p ON p.region_code = cp.region_code AND p.id = cp.polygon_id
WHERE cp.region_code = $1 AND cp.case_id = $2 AND cp.unlinked_at IS NULL
  AND ($3::text[] IS NULL OR p.village_name = ANY ($3::text[]))
ORDER BY p.id

-- name: case_polygons_outside
-- $1 region, $2 case id, $3 the caller's villages: how many polygons linked to the case lie outside them
SELECT count(*)::int AS n
FROM case_polygon cp
JOIN survey_polygon p ON p.region_code = cp.region_code AND p.id = cp.polygon_id
WHERE cp.region_code = $1 AND cp.case_id = $2 AND cp.unlinked_at IS NULL
  AND (p.village_name IS NULL OR NOT (p.village_name = ANY ($3::text[])))

-- name: lock_case_polygons
-- Polygons currently linked to a case, locked in id order (for their case events).
-- $1 region, $2 case id
SELECT p.id, p.status
FROM survey_polygon p
WHERE p.region_code = $1
  AND p.id IN (SELECT cp.polygon_id FROM case_polygon cp
               WHERE cp.region_code = $1 AND cp.case_id = $2 AND cp.unlinked_at IS NULL)
ORDER BY p.id
FOR UPDATE OF p

-- name: link_polygons
-- $1 region, $2 case id, $3 polygon ids, $4 user id, $5 username
INSERT INTO case_polygon (region_code, case_id, polygon_id, linked_by, linked_by_name)
SELECT $1, $2, u.id, $4, $5 FROM unnest($3::bigint[]) AS u(id)

-- name: unlink_polygons
-- A returned or reopened polygon leaves its open case.
-- $1 region, $2 polygon ids
UPDATE case_polygon SET unlinked_at = now(), is_open = false
WHERE region_code = $1 AND polygon_id = ANY($2::bigint[]) AND is_open
RETURNING polygon_id, case_id

-- name: upsert_step
-- Record a step: given values replace stored ones, absent (NULL) ones keep them; photos add up.
-- $1 region, $2 case id, $3 step, $4 started_on, $5 deadline, $6 done_on, $7 note, $8 user id, $9 username,
-- $10 companies text[] (utility_notice), $11 photo evidence ids bigint[], $12 the deadline is an estimate
INSERT INTO case_step (region_code, case_id, step, started_on, deadline, done_on, note, recorded_by, recorded_by_name,
                       companies, photo_ids, deadline_estimated)
VALUES ($1, $2, $3, $4::date, $5::date, $6::date, $7, $8, $9, coalesce($10::text[], '{}'), coalesce($11::bigint[], '{}'),
        coalesce($12::boolean, false))
ON CONFLICT (region_code, case_id, step) DO UPDATE SET
  started_on = coalesce(EXCLUDED.started_on, case_step.started_on),
  deadline = coalesce(EXCLUDED.deadline, case_step.deadline),
  deadline_estimated = CASE WHEN EXCLUDED.deadline IS NULL THEN case_step.deadline_estimated ELSE EXCLUDED.deadline_estimated END,
  done_on = coalesce(EXCLUDED.done_on, case_step.done_on),
  note = coalesce(EXCLUDED.note, case_step.note),
  companies = CASE WHEN $10::text[] IS NULL THEN case_step.companies ELSE EXCLUDED.companies END,
  photo_ids = ARRAY(SELECT DISTINCT x FROM unnest(case_step.photo_ids || EXCLUDED.photo_ids) x ORDER BY x),
  recorded_by = EXCLUDED.recorded_by,
  recorded_by_name = EXCLUDED.recorded_by_name,
  recorded_at = now()
RETURNING step, started_on::text AS started_on, deadline::text AS deadline, done_on::text AS done_on, note, companies,
          photo_ids, deadline_estimated

-- name: ensure_step
-- A step the case needs from now on (it became 在建), without touching one already there.
-- $1 region, $2 case id, $3 step, $4 deadline, $5 the deadline is an estimate
INSERT INTO case_step (region_code, case_id, step, deadline, deadline_estimated)
VALUES ($1, $2, $3, $4::date, coalesce($5::boolean, false))
ON CONFLICT (region_code, case_id, step) DO NOTHING

-- name: get_step
-- $1 region, $2 case id, $3 step
SELECT step, started_on::text AS started_on, deadline::text AS deadline, done_on::text AS done_on, companies, photo_ids
FROM case_step
WHERE region_code = $1 AND case_id = $2 AND step = $3

-- name: set_step_deadline
-- $1 region, $2 case id, $3 step, $4 deadline, $5 estimate: recomputed deadline of a step not yet done
UPDATE case_step SET deadline = $4::date, deadline_estimated = coalesce($5::boolean, false)
WHERE region_code = $1 AND case_id = $2 AND step = $3 AND done_on IS NULL

-- name: update_case
-- $1 region, $2 case id, $3 party, $4 address, $5 village, $6 kind, $7 discovered_on, $8 note,
-- $9 set village (village may be set to NULL), $10 set note
UPDATE enforcement_case SET
  party = coalesce($3, party),
  address = coalesce($4, address),
  village = CASE WHEN $9::boolean THEN $5 ELSE village END,
  kind = coalesce($6, kind),
  discovered_on = coalesce($7::date, discovered_on),
  note = CASE WHEN $10::boolean THEN $8 ELSE note END,
  version = version + 1,
  updated_at = now()
WHERE region_code = $1 AND id = $2
RETURNING version

-- name: close_case
-- $1 region, $2 case id, $3 outcome, $4 outcome date, $5 demolished m², $6 permit reference, $7 note (other)
UPDATE enforcement_case SET
  status = 'closed', outcome = $3, outcome_at = $4::date, outcome_m2 = $5::double precision,
  outcome_ref = $6, outcome_note = $7,
  version = version + 1, updated_at = now()
WHERE region_code = $1 AND id = $2 AND status = 'open'
RETURNING version

-- name: step_photos_allowed
-- $1 region, $2 case id, $3 evidence ids, $4 the caller's villages (NULL = all): the ids that are photos of a
-- polygon linked to the case (and visible to the caller)
SELECT e.id
FROM evidence e
JOIN case_polygon cp ON cp.region_code = e.region_code AND cp.polygon_id = e.polygon_id AND cp.case_id = $2
                    AND cp.unlinked_at IS NULL
JOIN survey_polygon p ON p.region_code = e.region_code AND p.id = e.polygon_id
WHERE e.region_code = $1 AND e.id = ANY ($3::bigint[])
  AND ($4::text[] IS NULL OR p.village_name = ANY ($4::text[]))

-- name: case_photos
-- $1 region, $2 case id, $3 the caller's villages (NULL = all): photos of the case's polygons, newest first
SELECT e.id, e.polygon_id, p.code, e.mime, e.width, e.height, e.uploaded_at, e.captured_at, e.username
FROM evidence e
JOIN case_polygon cp ON cp.region_code = e.region_code AND cp.polygon_id = e.polygon_id AND cp.case_id = $2
                    AND cp.unlinked_at IS NULL
JOIN survey_polygon p ON p.region_code = e.region_code AND p.id = e.polygon_id
WHERE e.region_code = $1 AND ($3::text[] IS NULL OR p.village_name = ANY ($3::text[]))
ORDER BY e.uploaded_at DESC, e.id DESC

-- name: case_history
-- $1 region, $2 case id, $3 the caller's villages (NULL = all): the events the case left in its polygons'
-- histories, one per action (a step on a two-polygon case is one entry with both codes)
SELECT min(e.id) AS id, e.at, e.username, e.action, e.note, e.payload,
       array_agg(p.code ORDER BY p.code) AS codes
FROM polygon_event e
JOIN survey_polygon p ON p.region_code = e.region_code AND p.id = e.polygon_id
WHERE e.region_code = $1 AND e.case_id = $2 AND ($3::text[] IS NULL OR p.village_name = ANY ($3::text[]))
GROUP BY e.at, e.username, e.action, e.note, e.payload
ORDER BY e.at, min(e.id)

-- name: case_stats
-- $1 region, $2 year, $3 the caller's villages (NULL = all): the campaign's score — area demolished by
-- cases closed in the year (the district scores by it) against the admin's target — and cases closed per
-- ISO week (Monday, by the outcome date)
WITH closed AS (
  SELECT c.outcome, c.outcome_at, c.outcome_m2
  FROM enforcement_case c
  WHERE c.region_code = $1 AND c.status = 'closed' AND extract(year FROM c.outcome_at)::int = $2::int
    AND ($3::text[] IS NULL OR c.village = ANY ($3::text[]))
)
SELECT (SELECT coalesce(sum(outcome_m2) FILTER (WHERE outcome = 'demolished'), 0)::float8 FROM closed) AS demolished_m2,
       (SELECT count(*)::int FROM closed) AS closed,
       (SELECT target_m2 FROM demolition_target t WHERE t.region_code = $1 AND t.year = $2::int) AS target_m2,
       coalesce((SELECT json_agg(json_build_object('week_start', w.week_start::text, 'closed', w.n,
                                                   'demolished_m2', w.m2) ORDER BY w.week_start)
                 FROM (SELECT date_trunc('week', outcome_at)::date AS week_start, count(*)::int AS n,
                              coalesce(sum(outcome_m2) FILTER (WHERE outcome = 'demolished'), 0)::float8 AS m2
                       FROM closed GROUP BY 1) w), '[]'::json) AS weeks

-- name: set_target
-- $1 region, $2 year, $3 target m², $4 username
INSERT INTO demolition_target (region_code, year, target_m2, updated_by_name) VALUES ($1, $2::int, $3::float8, $4)
ON CONFLICT (region_code, year) DO UPDATE SET target_m2 = EXCLUDED.target_m2, updated_at = now(), updated_by_name = EXCLUDED.updated_by_name
