-- Public reports (举报, issue 16 items 2–7). CONFIDENTIALITY (item 3): public_report.phone and reporter_ip are
-- read by exactly two statements here, `rate_counts` (counts only, never the values) and `contact` (admins,
-- GET /api/admin/reports/:id/contact). No other statement in server/ names those columns; the test
-- test/integration/report-confidential.test.ts checks every response for them.

-- name: rate_counts
-- $1 reporter address, $2 phone (or NULL): reports in the last hour/day from the address, last day from the phone
SELECT count(*) FILTER (WHERE r.reporter_ip = $1 AND r.received_at > now() - interval '1 hour')::int AS ip_hour,
       count(*) FILTER (WHERE r.reporter_ip = $1)::int AS ip_day,
       count(*) FILTER (WHERE $2::text IS NOT NULL AND r.phone = $2)::int AS phone_day
FROM public_report r
WHERE r.received_at > now() - interval '1 day' AND (r.reporter_ip = $1 OR ($2::text IS NOT NULL AND r.phone = $2))

-- name: within_area
-- $1 region, $2 lon, $3 lat, $4 metres: is the point near the town's villages (true also when none is loaded)
SELECT NOT EXISTS (SELECT 1 FROM layer_feature f JOIN layer l ON l.id = f.layer_id WHERE f.region_code = $1 AND l.name = 'village')
       OR EXISTS (
         SELECT 1 FROM layer_feature f JOIN layer l ON l.id = f.layer_id
         WHERE f.region_code = $1 AND l.name = 'village'
           AND ST_DWithin(f.geom, ST_Transform(ST_SetSRID(ST_MakePoint($2::float8, $3::float8), 4326), ST_SRID(f.geom)), $4::float8)) AS ok

-- name: nearby_open
-- Open items within $4 m of a point (item 5: "已有人举报/已在处理"): not decided, not removed, not merged.
-- What a member of the public may see: a reference to add a photo to, the distance, whether it came from a
-- report, and the coarse status. $1 region, $2 lon, $3 lat, $4 metres, $5 work CRS
WITH pt AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint($2::float8, $3::float8), 4326), $5::int) AS g)
SELECT p.id, p.source, p.status, round(ST_Distance(p.geom, pt.g)::numeric, 0)::float8 AS distance_m,
       EXISTS (SELECT 1 FROM polygon_event e WHERE e.region_code = p.region_code AND e.polygon_id = p.id
               AND e.action <> 'evidence_added') AS in_progress,
       (SELECT count(*)::int FROM public_report r WHERE r.region_code = p.region_code AND r.polygon_id = p.id) AS reports
FROM survey_polygon p, pt
WHERE p.region_code = $1 AND p.removed_batch_id IS NULL AND p.merged_into IS NULL
  AND p.status IN ('pending', 'field_check')
  AND ST_DWithin(p.geom, pt.g, $4::float8)
ORDER BY ST_Distance(p.geom, pt.g), p.id
LIMIT 10

-- name: report_insert
-- $1 region, $2 receipt code, $3 secret hash, $4 polygon, $5 new lead?, $6 category, $7 description, $8 phone,
-- $9 address, $10 via, $11 due date
INSERT INTO public_report (region_code, receipt_code, secret_hash, polygon_id, new_lead, category, description, phone,
                           reporter_ip, via, due_on)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::date)
RETURNING id, receipt_code, received_at, due_on::text AS due_on

-- name: report_status
-- A report's public face: the item it follows (the one it was merged into, if any), with the facts that make
-- its status. No note, reason, user or position beyond a rounded one. $1 region or NULL (any), $2 receipt codes
SELECT r.receipt_code, r.secret_hash, r.category, r.received_at, r.due_on::text AS due_on, r.polygon_id,
       i.status, i.village_name,
       round(ST_X(ST_Transform(ST_Centroid(i.geom), 4326))::numeric, 3)::float8 AS lon,
       round(ST_Y(ST_Transform(ST_Centroid(i.geom), 4326))::numeric, 3)::float8 AS lat,
       (SELECT max(e.at) FROM polygon_event e WHERE e.region_code = i.region_code AND e.polygon_id = i.id
          AND e.from_status <> e.to_status) AS status_at,
       (SELECT min(e.at) FROM polygon_event e WHERE e.region_code = i.region_code AND e.polygon_id = i.id
          AND e.action <> 'evidence_added') AS first_response_at
FROM public_report r
JOIN survey_polygon l ON l.region_code = r.region_code AND l.id = r.polygon_id
JOIN survey_polygon i ON i.region_code = l.region_code AND i.id = coalesce(l.merged_into, l.id)
WHERE ($1::text IS NULL OR r.region_code = $1) AND r.receipt_code = ANY($2::text[])
ORDER BY r.id

-- name: report_list
-- Open311 GET requests.json without ids: the latest $2 reports. $1 region, $3 category or NULL, $4 from, $5 to
SELECT r.receipt_code
FROM public_report r
WHERE r.region_code = $1 AND ($3::text IS NULL OR r.category = $3)
  AND ($4::timestamptz IS NULL OR r.received_at >= $4) AND ($5::timestamptz IS NULL OR r.received_at < $5)
ORDER BY r.received_at DESC, r.id DESC
LIMIT $2

-- name: overdue
-- Reports still without a response after their due date (item 6): the item they follow has no event other
-- than a photo added and is still pending. $1 region, $2 today (Beijing), $3 village scope or NULL
SELECT r.id, r.receipt_code, r.category, r.received_at, r.due_on::text AS due_on, l.code, l.id AS polygon_id, l.village_name AS village
FROM public_report r
JOIN survey_polygon l ON l.region_code = r.region_code AND l.id = r.polygon_id
WHERE r.region_code = $1 AND r.new_lead AND r.due_on < $2::date
  AND l.status = 'pending' AND l.merged_into IS NULL AND l.removed_batch_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM polygon_event e WHERE e.region_code = l.region_code AND e.polygon_id = l.id
                  AND e.action <> 'evidence_added')
  AND ($3::text[] IS NULL OR l.village_name = ANY($3::text[]))
ORDER BY r.due_on, r.id

-- name: contact
-- Admins only (GET /api/admin/reports/:id/contact): who reported. $1 region, $2 receipt code
SELECT r.receipt_code, r.phone, r.reporter_ip, r.received_at FROM public_report r WHERE r.region_code = $1 AND r.receipt_code = $2
