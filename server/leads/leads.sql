-- Leads (线索): patrol findings and public reports as survey_polygon rows (migration 016). Written as the
-- owner, like imports: a new lead is a polygon and is reconciled (server/leads/leads.ts).

-- name: lead_batch_lock
-- One creator of a source's batch at a time (import_batch has no unique key to conflict on). $1 the pseudo-hash
SELECT pg_advisory_xact_lock(hashtext($1::text))

-- name: lead_batch_find
-- The one import_batch per region and source that every lead of that source names (survey_polygon's batch
-- columns are NOT NULL: a lead is "delivered" by its source). $1 region, $2 source, $3 pseudo-hash
SELECT b.id FROM import_batch b JOIN layer l ON l.id = b.layer_id
WHERE l.name = 'survey' AND b.region_code = $1 AND b.sha256 = $3 AND b.source_layer = $2
ORDER BY b.id LIMIT 1

-- name: lead_batch_insert
-- $1 region, $2 source ('patrol' | 'report'), $3 file_name shown in the batch lists, $4 a stable pseudo-hash
INSERT INTO import_batch (region_code, layer_id, survey, file_name, sha256, source_layer, report, created_by)
SELECT $1, l.id, $2, $3, $4, $2, jsonb_build_object('lead_source', $2::text), 'leads'
FROM layer l WHERE l.name = 'survey'
RETURNING id

-- name: lead_insert
-- $1 region, $2 source, $3 code, $4 batch, $5 attrs jsonb, $6 lon, $7 lat, $8 GeoJSON polygon (WGS84) or NULL
-- for a point lead: stored as a 5 m buffer (8 segments a quarter) around the point; $9 the work CRS.
INSERT INTO survey_polygon (region_code, survey, code, first_batch_id, batch_id, attrs, geom, area_m2, source)
SELECT $1, $2, $3, $4, $4, $5::jsonb, g.geom, ST_Area(g.geom), $2
FROM (
  SELECT ST_Multi(CASE
    WHEN $8::text IS NOT NULL THEN ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON($8::text), 4326), $9::int)
    ELSE ST_Buffer(ST_Transform(ST_SetSRID(ST_MakePoint($6::float8, $7::float8), 4326), $9::int), 5, 8)
  END) AS geom
) g
RETURNING id, code

-- name: duplicate_candidate
-- A lead near (≤ 30 m) or inside an existing polygon or open lead (issue 16 item 1): the nearest such item,
-- survey polygons first at equal distance. $1 region, $2 the lead's id, $3 metres.
-- A point lead is measured from its point (the centre of its 5 m buffer), not from the buffer's edge.
SELECT o.id, o.code, o.source, ST_Distance(o.geom, l.at) AS distance_m
FROM (SELECT s.region_code, s.id,
             CASE WHEN s.attrs ? 'lon' THEN ST_Centroid(s.geom) ELSE s.geom END AS at
      FROM survey_polygon s WHERE s.region_code = $1 AND s.id = $2) l
JOIN survey_polygon o ON o.region_code = l.region_code AND o.id <> l.id
WHERE o.removed_batch_id IS NULL AND o.merged_into IS NULL
  AND (o.source = 'survey' OR o.status IN ('pending', 'field_check'))
  AND ST_DWithin(o.geom, l.at, $3::float8)
ORDER BY ST_Distance(o.geom, l.at), o.source = 'survey' DESC, o.id
LIMIT 1

-- name: set_duplicate
-- $1 region, $2 lead id, $3 the item it may duplicate
UPDATE survey_polygon SET duplicate_of = $3 WHERE region_code = $1 AND id = $2

-- name: merge_target
-- $1 region, $2 lead id, $3 target id: both (the decision that follows locks the lead and checks its version)
SELECT p.id, p.code, p.source, p.status, p.version, p.merged_into, p.village_name, p.removed_batch_id IS NOT NULL AS removed
FROM survey_polygon p
WHERE p.region_code = $1 AND p.id = ANY(ARRAY[$2, $3]::bigint[])
ORDER BY p.id

-- name: set_merged
-- $1 region, $2 lead id, $3 target id
UPDATE survey_polygon SET merged_into = $3 WHERE region_code = $1 AND id = $2 AND merged_into IS NULL

-- name: merged_leads
-- The leads merged into a polygon, each with its own history length (the histories stay apart; the detail
-- page lists them). $1 region, $2 target id
SELECT p.id, p.code, p.source, p.status,
       (SELECT count(*)::int FROM polygon_event e WHERE e.region_code = p.region_code AND e.polygon_id = p.id) AS events
FROM survey_polygon p
WHERE p.region_code = $1 AND p.merged_into = $2
ORDER BY p.id

-- name: lead_out
-- What a lead's creator sees. $1 region, $2 id
SELECT p.id, p.code, p.source, p.status, p.version, p.village_name AS village, p.duplicate_of,
       (SELECT d.code FROM survey_polygon d WHERE d.region_code = p.region_code AND d.id = p.duplicate_of) AS duplicate_of_code,
       p.flags, p.area_m2
FROM survey_polygon p WHERE p.region_code = $1 AND p.id = $2
