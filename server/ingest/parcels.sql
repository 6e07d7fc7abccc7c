-- A cadastral delivery: the region's parcels, replaced as a whole (ingest/parcels.ts). Everything runs in the
-- import's transaction: the new version is stored whole, or nothing changes.

-- name: parcels_clear_overlaps
-- $1 region. A cadastral delivery replaces the region's parcels (and so every overlap row).
DELETE FROM polygon_parcel WHERE region_code = $1

-- name: parcels_lock_imports
-- Two cadastral imports run one after the other: each replaces the region's parcels. SHARE ROW EXCLUSIVE on
-- parcel conflicts with itself and with writers, never with readers (ACCESS SHARE): tiles, OGC and details
-- keep reading the previous version while the new one is loaded into a table of its own (migration 020).
-- Only the swap at the end (parcels_swap_*) holds parcel exclusively, for a moment before the commit.
LOCK TABLE parcel IN SHARE ROW EXCLUSIVE MODE

-- name: parcels_lock_for_survey
-- A survey import overlays its polygons on the parcels (polygon_parcel rows name parcel ids). Run during a
-- cadastral import, it would read the parcels that import is replacing and store overlaps with them after
-- it committed. SHARE conflicts with the cadastral import's SHARE ROW EXCLUSIVE (whichever comes first goes
-- first, the other waits), not with another survey import's SHARE, nor with readers. Taken first thing in
-- the transaction, like the cadastral import's lock, so the two cannot deadlock.
LOCK TABLE parcel IN SHARE MODE

-- name: parcels_load_create
-- The delivery's parcels go by COPY into {{table}} (parcel_batch_<batch>), shaped like parcel, with no key,
-- index or foreign key yet: each of those maintained row by row cost more than building it once after the
-- load (migration 020 has the figures). The CHECK is the partition's bound ({{region}} is the region code
-- as a quoted literal): attaching the table then needs no scan to prove it.
CREATE TABLE {{table}} (LIKE parcel INCLUDING DEFAULTS INCLUDING GENERATED, CHECK (region_code = {{region}}))

-- name: parcels_copy
COPY {{table}} (region_code, batch_id, record, parcel_code, holder, land_use, approved_area, attrs, geom) FROM STDIN

-- name: parcels_find_invalid
-- One read-only validity scan (ST_IsValid on every parcel: 2–3 s for 518k), written as CREATE TABLE AS so
-- it can use parallel workers (an UPDATE never does); the few invalid ids land in a session-local temp
-- table, so concurrent imports cannot collide on its name.
CREATE TEMP TABLE parcel_invalid AS
SELECT id FROM {{table}} WHERE NOT ST_IsValid(geom)

-- name: parcels_repair
-- Only the invalid parcels found by parcels_find_invalid are rewritten.
UPDATE {{table}} SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3))
WHERE id IN (SELECT id FROM parcel_invalid)
RETURNING record

-- name: parcels_invalid_drop
DROP TABLE parcel_invalid

-- name: parcels_drop_empty
-- Only a repair can empty a parcel (the reader never sends an empty geometry: it reports it as
-- null_geometry), so only the repaired ones are looked at, not another scan of the whole batch.
DELETE FROM {{table}} WHERE id IN (SELECT id FROM parcel_invalid) AND ST_IsEmpty(geom) RETURNING record

-- name: parcels_load_key
ALTER TABLE {{table}} ADD PRIMARY KEY (region_code, id)

-- name: parcels_load_index
-- the same definition as parcel_geom_idx: attaching the table adopts it instead of building another
CREATE INDEX ON {{table}} USING gist (geom)

-- name: parcels_load_analyze
-- the reconciliation's overlay probes this table before it is attached: it needs its statistics
ANALYZE {{table}}

-- name: parcels_count
SELECT count(*)::int AS kept FROM {{table}}

-- name: parcels_region_partition
-- $1 region. The partition holding the region's parcels until now (none before its first import).
SELECT c.oid::regclass::text AS name, c.reltuples
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'parcel'::regclass
  AND pg_get_expr(c.relpartbound, c.oid) = 'FOR VALUES IN (' || quote_literal($1::text) || ')'

-- name: parcels_partition_count
SELECT count(*)::int AS n FROM {{table}}

-- name: parcels_default_clear
-- $1 region. Parcels of the region stored outside a region partition (before migration 020, or written
-- by hand): replaced too, and the default partition must hold none of the region's rows for the attach.
DELETE FROM parcel_default WHERE region_code = $1

-- name: parcels_swap_drop
-- the previous version: dropping a partition takes parcel exclusively until the commit (a moment from now)
DROP TABLE {{table}}

-- name: parcels_swap_attach
-- the foreign key to import_batch is checked here, once, as one join over the new rows
ALTER TABLE parcel ATTACH PARTITION {{table}} FOR VALUES IN ({{region}})

-- name: parcels_swap_touch
-- an attach writes no rows, so no trigger bumps the tiles' data version (migration 020)
SELECT tile_epoch_touch('parcel')
