-- Field work (issue 5). Access parameters, wherever they appear: villages text[] (NULL = every village)
-- and polygon ids bigint[] (NULL = every polygon; a signed link passes its own polygons). A polygon outside
-- them is simply not found (the API answers 404).

-- name: polygon_id_by_code
-- $1 region, $2 code (图斑编号), $3 villages, $4 ids: the latest survey's polygon with this code, delivered first
SELECT p.id
FROM survey_polygon p
WHERE p.region_code = $1 AND p.code = $2
  AND ($3::text[] IS NULL OR p.village_name = ANY($3::text[]))
  AND ($4::bigint[] IS NULL OR p.id = ANY($4::bigint[]))
ORDER BY (p.removed_batch_id IS NULL) DESC, p.survey DESC, p.id DESC
LIMIT 1

-- name: field_polygon
-- $1 region, $2 id, $3 villages, $4 ids: what the field page shows; geometry and the target point in EPSG:4326
SELECT p.id, p.survey, p.code, p.status, p.version, p.village_name AS village, p.area_m2,
       p.area_m2 / (10000.0 / 15) AS area_mu, p.flags, p.priority, p.parcel_count, p.school_distance_m,
       p.removed_batch_id IS NOT NULL AS removed, p.attrs,
       ST_AsGeoJSON(ST_Transform(p.geom, 4326), 7)::json AS geometry,
       ST_AsGeoJSON(ST_Transform(ST_PointOnSurface(p.geom), 4326), 7)::json AS target,
       ARRAY[ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)] AS bbox
FROM survey_polygon p
CROSS JOIN LATERAL (SELECT ST_Transform(ST_Envelope(p.geom), 4326)::box2d) e(b)
WHERE p.region_code = $1 AND p.id = $2
  AND ($3::text[] IS NULL OR p.village_name = ANY($3::text[]))
  AND ($4::bigint[] IS NULL OR p.id = ANY($4::bigint[]))

-- name: field_parcels
-- $1 region, $2 polygon id: parcels under the polygon with their right holders, largest overlap first
SELECT c.parcel_code, c.holder, c.land_use, c.approved_area, pp.overlap_m2, pp.share
FROM polygon_parcel pp
JOIN parcel c ON c.region_code = pp.region_code AND c.id = pp.parcel_id
WHERE pp.region_code = $1 AND pp.polygon_id = $2
ORDER BY pp.overlap_m2 DESC, c.id
LIMIT 20

-- name: field_nearby_parcels
-- $1 region, $2 polygon id, $3 metres around the polygon, $4 limit: the cadastral parcels around the polygon,
-- for the field map (issue 16 item 12): a field team tells "this plot" from "the neighbour's" by the parcel
-- lines. Nearest first (exact distance, ties by id; no KNN operator: see reconcile.sql on PGlite's recheck);
-- simplified to 0.2 m, which a phone screen cannot show anyway.
SELECT c.parcel_code, c.land_use,
       ST_AsGeoJSON(ST_Transform(ST_Multi(ST_SimplifyPreserveTopology(c.geom, 0.2)), 4326), 7)::json AS geometry
FROM survey_polygon p
JOIN parcel c ON c.region_code = p.region_code AND c.geom && ST_Expand(p.geom, $3)
WHERE p.region_code = $1 AND p.id = $2
ORDER BY ST_Distance(c.geom, p.geom), c.id
LIMIT $4

-- name: worklist
-- $1 region, $2 villages, $3 ids (NULL: the polygons still to visit — pending or field_check, delivered),
-- $4 village filter (NULL = all the caller may see), $5 limit
SELECT p.id, p.code, p.survey, p.status, p.version, p.village_name AS village, p.area_m2,
       p.area_m2 / (10000.0 / 15) AS area_mu, p.flags, p.priority, p.removed_batch_id IS NOT NULL AS removed,
       ST_AsGeoJSON(ST_Transform(p.geom, 4326), 7)::json AS geometry,
       ST_AsGeoJSON(ST_Transform(ST_PointOnSurface(p.geom), 4326), 7)::json AS target,
       (SELECT c.holder FROM parcel c WHERE c.region_code = p.region_code AND c.id = p.largest_parcel_id) AS holder,
       (SELECT count(*) FROM field_finding f WHERE f.region_code = p.region_code AND f.polygon_id = p.id)::int AS findings
FROM survey_polygon p
WHERE p.region_code = $1
  AND ($2::text[] IS NULL OR p.village_name = ANY($2::text[]))
  AND CASE WHEN $3::bigint[] IS NULL
           THEN p.status IN ('pending', 'field_check') AND p.removed_batch_id IS NULL
           ELSE p.id = ANY($3::bigint[]) END
  AND ($4::text IS NULL OR p.village_name = $4::text)
ORDER BY (p.status = 'field_check') DESC, p.priority DESC, p.id
LIMIT $5

-- name: worklist_count
-- $1 region, $2 villages, $3 ids, $4 village filter: how many the worklist would hold without its limit
SELECT count(*)::int AS n
FROM survey_polygon p
WHERE p.region_code = $1
  AND ($2::text[] IS NULL OR p.village_name = ANY($2::text[]))
  AND CASE WHEN $3::bigint[] IS NULL
           THEN p.status IN ('pending', 'field_check') AND p.removed_batch_id IS NULL
           ELSE p.id = ANY($3::bigint[]) END
  AND ($4::text IS NULL OR p.village_name = $4::text)

-- name: polygon_visible
-- $1 region, $2 id, $3 villages, $4 ids
SELECT p.id
FROM survey_polygon p
WHERE p.region_code = $1 AND p.id = $2
  AND ($3::text[] IS NULL OR p.village_name = ANY($3::text[]))
  AND ($4::bigint[] IS NULL OR p.id = ANY($4::bigint[]))

-- name: lock_polygon
-- $1 region, $2 id, $3 villages, $4 ids: the polygon row locked for appending its events (events.sql)
SELECT p.id, p.code, p.status, p.village_name
FROM survey_polygon p
WHERE p.region_code = $1 AND p.id = $2
  AND ($3::text[] IS NULL OR p.village_name = ANY($3::text[]))
  AND ($4::bigint[] IS NULL OR p.id = ANY($4::bigint[]))
FOR UPDATE

-- name: distance_to_polygon
-- $1 region, $2 polygon id, $3 lon, $4 lat (WGS84; CGCS2000 agrees to centimetres): metres, 0 inside
SELECT ST_Distance(p.geom, ST_Transform(ST_SetSRID(ST_MakePoint($3::float8, $4::float8), 4326), ST_SRID(p.geom))) AS d
FROM survey_polygon p
WHERE p.region_code = $1 AND p.id = $2

-- ---------------------------------------------------------------------------------------------------
-- Evidence
-- ---------------------------------------------------------------------------------------------------

-- name: evidence_existing
-- $1 region, $2 polygon id, $3 sha256, $4 client id (may be NULL): an earlier upload of the same photo
SELECT e.*
FROM evidence e
WHERE e.region_code = $1
  AND ((e.polygon_id = $2 AND e.sha256 = $3) OR ($4::uuid IS NOT NULL AND e.client_id = $4::uuid))
ORDER BY (e.client_id = $4::uuid) DESC NULLS LAST
LIMIT 1

-- name: evidence_insert
-- $1 region, $2 polygon, $3 sha256, $4 mime, $5 bytes, $6 width, $7 height, $8 client id, $9 user id,
-- $10 username, $11 link id, $12 captured_at, $13 taken_at, $14 exif lat, $15 exif lon, $16 exif heading,
-- $17 device lat, $18 device lon, $19 device accuracy, $20 device_at, $21 distance, $22 distance from,
-- $23 exif jsonb, $24 client exif jsonb
INSERT INTO evidence (region_code, polygon_id, sha256, mime, bytes, width, height, client_id, user_id, username,
                      field_link_id, captured_at, taken_at, exif_lat, exif_lon, exif_heading, device_lat, device_lon,
                      device_accuracy_m, device_at, distance_m, distance_from, exif, client_exif)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::uuid, $9, $10, $11, $12::timestamptz, $13::timestamptz, $14, $15, $16,
        $17, $18, $19, $20::timestamptz, $21, $22, $23::jsonb, $24::jsonb)
RETURNING *

-- name: evidence_get
-- $1 region, $2 evidence id, $3 villages, $4 ids: one photo with its polygon's code and village
SELECT e.*, p.code AS polygon_code, p.village_name AS village
FROM evidence e
JOIN survey_polygon p ON p.region_code = e.region_code AND p.id = e.polygon_id
WHERE e.region_code = $1 AND e.id = $2
  AND ($3::text[] IS NULL OR p.village_name = ANY($3::text[]))
  AND ($4::bigint[] IS NULL OR p.id = ANY($4::bigint[]))

-- name: evidence_of_polygon
-- $1 region, $2 polygon id: every photo, oldest first
SELECT e.*
FROM evidence e
WHERE e.region_code = $1 AND e.polygon_id = $2
ORDER BY e.id

-- name: evidence_by_ids
-- $1 region, $2 polygon id, $3 evidence ids: those of them that are photos of this polygon
SELECT e.*
FROM evidence e
WHERE e.region_code = $1 AND e.polygon_id = $2 AND e.id = ANY($3::bigint[])

-- ---------------------------------------------------------------------------------------------------
-- Findings
-- ---------------------------------------------------------------------------------------------------

-- name: finding_by_client
-- $1 region, $2 client id
SELECT f.* FROM field_finding f WHERE f.region_code = $1 AND f.client_id = $2::uuid

-- name: finding_insert
-- $1 region, $2 polygon, $3 client id, $4 fingerprint, $5 finding, $6 note, $7 photo ids, $8 lat, $9 lon,
-- $10 accuracy, $11 distance, $12 captured_at, $13 user id, $14 username, $15 link id, $16 event id
INSERT INTO field_finding (region_code, polygon_id, client_id, fingerprint, finding, note, photo_ids, lat, lon,
                           accuracy_m, distance_m, captured_at, user_id, username, field_link_id, event_id)
VALUES ($1, $2, $3::uuid, $4, $5, $6, $7::bigint[], $8, $9, $10, $11, $12::timestamptz, $13, $14, $15, $16)
RETURNING *

-- name: findings_of_polygon
-- $1 region, $2 polygon id: newest first
SELECT f.* FROM field_finding f WHERE f.region_code = $1 AND f.polygon_id = $2 ORDER BY f.id DESC

-- ---------------------------------------------------------------------------------------------------
-- Signed links
-- ---------------------------------------------------------------------------------------------------

-- name: polygons_for_link
-- $1 region, $2 ids, $3 villages: the polygons a link may name (those the issuer can see)
SELECT p.id, p.code, p.village_name AS village
FROM survey_polygon p
WHERE p.region_code = $1 AND p.id = ANY($2::bigint[])
  AND ($3::text[] IS NULL OR p.village_name = ANY($3::text[]))

-- name: link_insert
-- $1 region, $2 token hash, $3 polygon ids, $4 label, $5 user id, $6 username, $7 lifetime (seconds)
INSERT INTO field_link (region_code, token_hash, polygon_ids, label, created_by, created_by_name, expires_at)
VALUES ($1, $2, $3::bigint[], $4, $5, $6, now() + make_interval(secs => $7::float8))
RETURNING id, polygon_ids, label, created_by, created_by_name, created_at, expires_at, revoked_at, revoked_by_name

-- name: link_by_hash
-- $1 token hash: the link whatever its state, and whether it has expired (by the database clock)
SELECT l.region_code, l.id, l.polygon_ids, l.label, l.created_by_name, l.created_at, l.expires_at, l.revoked_at,
       l.expires_at <= now() AS expired
FROM field_link l
WHERE l.token_hash = $1

-- name: link_get
-- $1 region, $2 id
SELECT l.id, l.polygon_ids, l.label, l.created_by, l.created_by_name, l.created_at, l.expires_at, l.revoked_at,
       l.revoked_by_name, l.expires_at <= now() AS expired
FROM field_link l
WHERE l.region_code = $1 AND l.id = $2

-- name: links_list
-- $1 region, $2 created by (NULL = everyone's), $3 active only, $4 limit: newest first, with the polygon codes
SELECT l.id, l.polygon_ids, l.label, l.created_by, l.created_by_name, l.created_at, l.expires_at, l.revoked_at,
       l.revoked_by_name, l.expires_at <= now() AS expired,
       (SELECT array_agg(p.code ORDER BY p.code) FROM survey_polygon p
        WHERE p.region_code = l.region_code AND p.id = ANY(l.polygon_ids)) AS codes
FROM field_link l
WHERE l.region_code = $1
  AND ($2::int IS NULL OR l.created_by = $2::int)
  AND (NOT $3::boolean OR (l.revoked_at IS NULL AND l.expires_at > now()))
ORDER BY l.created_at DESC, l.id DESC
LIMIT $4

-- name: link_revoke
-- $1 region, $2 id, $3 username: idempotent (a revoked link keeps its first revocation)
UPDATE field_link
SET revoked_at = coalesce(revoked_at, now()), revoked_by_name = coalesce(revoked_by_name, $3)
WHERE region_code = $1 AND id = $2
RETURNING id, polygon_ids, label, created_by, created_by_name, created_at, expires_at, revoked_at, revoked_by_name,
          expires_at <= now() AS expired

-- ---------------------------------------------------------------------------------------------------
-- Printable sheet
-- ---------------------------------------------------------------------------------------------------

-- name: layer_titles
SELECT name, title_zh FROM layer ORDER BY id

-- name: sheet_polygons
-- $1 region, $2 village, $3 limit: the polygons still to visit in one village, field checks first
SELECT p.id, p.code, p.survey, p.status, p.area_m2, p.area_m2 / (10000.0 / 15) AS area_mu, p.flags,
       p.parcel_count, p.school_distance_m,
       ST_X(t) AS lon, ST_Y(t) AS lat,
       c.parcel_code, c.holder, c.land_use
FROM survey_polygon p
CROSS JOIN LATERAL (SELECT ST_Transform(ST_PointOnSurface(p.geom), 4326)) tt(t)
LEFT JOIN parcel c ON c.region_code = p.region_code AND c.id = p.largest_parcel_id
WHERE p.region_code = $1 AND p.village_name = $2
  AND p.status IN ('pending', 'field_check') AND p.removed_batch_id IS NULL
ORDER BY (p.status = 'field_check') DESC, p.priority DESC, p.id
LIMIT $3

-- name: link_area
-- $1 region, $2 ids: the lon/lat extent of a link's polygons — the imagery a link may see lies around it
SELECT ST_XMin(b) AS w, ST_YMin(b) AS s, ST_XMax(b) AS e, ST_YMax(b) AS n
FROM (SELECT ST_Transform(ST_Collect(ST_Envelope(p.geom)), 4326)::box2d AS b
      FROM survey_polygon p
      WHERE p.region_code = $1 AND p.id = ANY($2::bigint[])) x
WHERE b IS NOT NULL
