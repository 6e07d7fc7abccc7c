-- Daily patrol (日常巡查, 实施方案 五(一), 六(三); migration 017): patrol records and their findings.
-- A finding is a lead (survey_polygon, source 'patrol'), written with the owner's connection like every
-- lead (server/leads/leads.ts); the patrol record itself is written by the runtime role.

-- name: client_lock
-- One writer per phone id at a time (two retries racing): $1 the client id as text
SELECT pg_advisory_xact_lock(hashtext('tuban-patrol:' || $1::text))

-- name: finding_get
-- A finding as its phone sees it. $1 region, $2 the finding's client id
SELECT f.client_id, f.patrol_client_id, f.category, f.under_construction, f.found_at, f.created_by, f.created_by_name,
       f.received_at, p.id AS polygon_id, p.code, p.status, p.village_name AS village, p.duplicate_of,
       (SELECT d.code FROM survey_polygon d WHERE d.region_code = p.region_code AND d.id = p.duplicate_of) AS duplicate_of_code,
       f.case_id, c.number AS case_number,
       (SELECT s.deadline FROM case_step s
        WHERE s.region_code = f.region_code AND s.case_id = f.case_id AND s.step = 'report_to_town') AS report_deadline
FROM patrol_finding f
JOIN survey_polygon p ON p.region_code = f.region_code AND p.id = f.polygon_id
LEFT JOIN enforcement_case c ON c.region_code = f.region_code AND c.id = f.case_id
WHERE f.region_code = $1 AND f.client_id = $2::uuid

-- name: finding_insert
-- $1 region, $2 client id, $3 patrol client id, $4 polygon (the lead), $5 category, $6 under construction,
-- $7 case id or NULL, $8 found at, $9 user id, $10 username
INSERT INTO patrol_finding (region_code, client_id, patrol_client_id, polygon_id, category, under_construction, case_id,
                            found_at, created_by, created_by_name)
VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6, $7, $8::timestamptz, $9, $10)

-- name: lead_link
-- The lead opened with its case (在建): pending → linked, its version bumped as every decision does; the
-- event follows in the same transaction (review/events.ts). $1 region, $2 lead id
UPDATE survey_polygon SET status = 'linked', version = version + 1
WHERE region_code = $1 AND id = $2 AND status = 'pending'
RETURNING id, version

-- name: village_names
-- The villages a patrol may be of: the village layer's names (属地). $1 region, $2 the caller's villages or NULL
SELECT DISTINCT f.name
FROM layer_feature f JOIN layer l ON l.id = f.layer_id
WHERE f.region_code = $1 AND l.name = 'village' AND f.name IS NOT NULL AND f.name <> ''
  AND ($2::text[] IS NULL OR f.name = ANY($2::text[]))
ORDER BY f.name
LIMIT 1000

-- name: patrol_insert
-- $1 region, $2 client id, $3 village, $4 members text[], $5 started, $6 ended, $7 the track as a GeoJSON
-- LineString (WGS84) or NULL, $8 number of positions, $9 note, $10 user id, $11 username, $12 the work CRS.
-- The distance is the track's length in the work CRS (planar metres), not the phone's own sum.
-- A resend of the same id inserts nothing (the caller answers the stored record).
INSERT INTO patrol (region_code, client_id, village, members, started_at, ended_at, distance_m, track, track_points, note,
                    created_by, created_by_name)
SELECT $1, $2::uuid, $3, $4::text[], $5::timestamptz, $6::timestamptz, coalesce(ST_Length(t.geom), 0), t.geom, $8, $9, $10, $11
FROM (SELECT CASE WHEN $7::text IS NULL THEN NULL
                  ELSE ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON($7::text), 4326), $12::int) END AS geom) t
ON CONFLICT (region_code, client_id) DO NOTHING
RETURNING client_id

-- name: patrol_get
-- One patrol with its track (WGS84 GeoJSON). $1 region, $2 client id
SELECT p.client_id, p.village, p.members, p.started_at, p.ended_at, round(p.distance_m::numeric, 1)::float8 AS distance_m,
       p.track_points, p.note, p.created_by, p.created_by_name, p.received_at,
       ST_AsGeoJSON(ST_Transform(p.track, 4326), 6)::json AS track
FROM patrol p
WHERE p.region_code = $1 AND p.client_id = $2::uuid

-- name: patrol_findings
-- The findings of some patrols, each with its lead and case. $1 region, $2 patrol client ids uuid[]
SELECT f.patrol_client_id, f.client_id, f.found_at, f.category, f.under_construction,
       s.id AS polygon_id, s.code, s.status, s.village_name AS village, s.attrs->>'note' AS note,
       (s.attrs->>'lon')::float8 AS lon, (s.attrs->>'lat')::float8 AS lat,
       f.case_id, c.number AS case_number, f.created_by_name,
       (SELECT count(*)::int FROM evidence e WHERE e.region_code = f.region_code AND e.polygon_id = f.polygon_id) AS photos
FROM patrol_finding f
JOIN survey_polygon s ON s.region_code = f.region_code AND s.id = f.polygon_id
LEFT JOIN enforcement_case c ON c.region_code = f.region_code AND c.id = f.case_id
WHERE f.region_code = $1 AND f.patrol_client_id = ANY($2::uuid[])
ORDER BY f.found_at, f.client_id

-- name: patrol_list
-- The ledger's patrols, oldest first (序号 1 = the first patrol). $1 region, $2 the caller's villages or NULL,
-- $3 village filter text[] or NULL, $4 from (date, Beijing) or NULL, $5 to (date, inclusive) or NULL,
-- $6 limit, $7 offset
SELECT p.client_id, p.village, p.members, p.started_at, p.ended_at, round(p.distance_m::numeric, 1)::float8 AS distance_m,
       p.track_points, p.note, p.created_by_name, p.received_at,
       (SELECT count(*)::int FROM patrol_finding f WHERE f.region_code = p.region_code AND f.patrol_client_id = p.client_id) AS findings,
       count(*) OVER ()::int AS total
FROM patrol p
WHERE p.region_code = $1
  AND ($2::text[] IS NULL OR p.village = ANY($2::text[]))
  AND ($3::text[] IS NULL OR p.village = ANY($3::text[]))
  AND ($4::date IS NULL OR (p.started_at AT TIME ZONE 'Asia/Shanghai')::date >= $4::date)
  AND ($5::date IS NULL OR (p.started_at AT TIME ZONE 'Asia/Shanghai')::date <= $5::date)
ORDER BY p.started_at, p.client_id
LIMIT $6 OFFSET $7

-- name: patrol_weeks
-- The reviewer dashboard's patrol figures per village and ISO week (Monday 00:00 Beijing), issue 16 item 10.
-- One definition of an item with the coverage (server/dashboard/coverage.sql): every survey_polygon row not
-- removed, counted once in its source; an item's week is when it arrived — the finding's time for a patrol
-- finding, the report's for a public report, else the delivery's import — and its village is its own (by
-- location). So the leads of all weeks add up to the coverage's by_source (test/integration/dashboard-coverage).
--   patrols, patrol_days (days with a patrol), km   the patrols of the village that started that week
--   findings            items that are patrol findings (patrol_finding), by the lead's village
--   reports, responded  public reports that made a new lead; responded = the item has an event other than a
--                       photo since (the same rule as the overdue reports, server/leads/reports.sql);
--                       response_h_median / _max: hours from receipt to that event
-- $1 region, $2 the caller's villages or NULL, $3 village filter text[] or NULL, $4 from date or NULL,
-- $5 to date or NULL
WITH
items AS MATERIALIZED (
  SELECT p.village_name AS village, p.source, pf.client_id IS NOT NULL AS finding,
         date_trunc('week', coalesce(pf.found_at, pr.received_at, ib.created_at) AT TIME ZONE 'Asia/Shanghai') AS monday
  FROM survey_polygon p
  JOIN import_batch ib ON ib.id = p.first_batch_id
  LEFT JOIN patrol_finding pf ON pf.region_code = p.region_code AND pf.polygon_id = p.id
  LEFT JOIN LATERAL (
    SELECT min(r.received_at) AS received_at FROM public_report r
    WHERE r.region_code = p.region_code AND r.polygon_id = p.id AND r.new_lead
  ) pr ON true
  WHERE p.region_code = $1 AND p.removed_batch_id IS NULL
    AND ($2::text[] IS NULL OR p.village_name = ANY($2::text[]))
    AND ($3::text[] IS NULL OR p.village_name = ANY($3::text[]))
),
item_weeks AS (
  SELECT i.village, i.monday,
         count(*) FILTER (WHERE i.finding)::int AS findings,
         count(*) FILTER (WHERE i.source = 'survey')::int AS survey,
         count(*) FILTER (WHERE i.source = 'patrol')::int AS patrol,
         count(*) FILTER (WHERE i.source = 'report')::int AS report
  FROM items i GROUP BY 1, 2
),
patrol_weeks AS (
  SELECT pt.village, date_trunc('week', pt.started_at AT TIME ZONE 'Asia/Shanghai') AS monday,
         count(*)::int AS patrols,
         count(DISTINCT (pt.started_at AT TIME ZONE 'Asia/Shanghai')::date)::int AS patrol_days,
         sum(pt.distance_m) / 1000 AS km
  FROM patrol pt
  WHERE pt.region_code = $1
    AND ($2::text[] IS NULL OR pt.village = ANY($2::text[]))
    AND ($3::text[] IS NULL OR pt.village = ANY($3::text[]))
  GROUP BY 1, 2
),
report_weeks AS (
  SELECT l.village_name AS village, date_trunc('week', r.received_at AT TIME ZONE 'Asia/Shanghai') AS monday,
         count(*)::int AS reports,
         count(fr.at)::int AS responded,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM fr.at - r.received_at) / 3600) AS median_h,
         max(extract(epoch FROM fr.at - r.received_at) / 3600) AS max_h
  FROM public_report r
  JOIN survey_polygon l ON l.region_code = r.region_code AND l.id = r.polygon_id
  LEFT JOIN LATERAL (
    SELECT min(e.at) AS at FROM polygon_event e
    WHERE e.region_code = l.region_code AND e.polygon_id = coalesce(l.merged_into, l.id) AND e.action <> 'evidence_added'
  ) fr ON true
  WHERE r.region_code = $1 AND r.new_lead AND l.removed_batch_id IS NULL
    AND ($2::text[] IS NULL OR l.village_name = ANY($2::text[]))
    AND ($3::text[] IS NULL OR l.village_name = ANY($3::text[]))
  GROUP BY 1, 2
),
keys AS (
  SELECT village, monday FROM item_weeks UNION SELECT village, monday FROM patrol_weeks UNION SELECT village, monday FROM report_weeks
)
SELECT k.village, to_char(k.monday, 'IYYY-"W"IW') AS week, to_char(k.monday, 'YYYY-MM-DD') AS monday,
       coalesce(pw.patrols, 0) AS patrols, coalesce(pw.patrol_days, 0) AS patrol_days,
       round(coalesce(pw.km, 0)::numeric, 3)::float8 AS km,
       coalesce(iw.findings, 0) AS findings, coalesce(iw.survey, 0) AS survey, coalesce(iw.patrol, 0) AS patrol,
       coalesce(iw.report, 0) AS report,
       coalesce(rw.reports, 0) AS reports, coalesce(rw.responded, 0) AS responded,
       round(rw.median_h::numeric, 1)::float8 AS response_h_median, round(rw.max_h::numeric, 1)::float8 AS response_h_max
FROM keys k
LEFT JOIN item_weeks iw ON iw.village IS NOT DISTINCT FROM k.village AND iw.monday = k.monday
LEFT JOIN patrol_weeks pw ON pw.village IS NOT DISTINCT FROM k.village AND pw.monday = k.monday
LEFT JOIN report_weeks rw ON rw.village IS NOT DISTINCT FROM k.village AND rw.monday = k.monday
WHERE ($4::date IS NULL OR k.monday >= date_trunc('week', $4::date))
  AND ($5::date IS NULL OR k.monday <= $5::date)
ORDER BY k.monday DESC, k.village NULLS LAST
LIMIT 5000
