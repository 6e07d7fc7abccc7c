-- Issue 17 item 1: a cadastral import loads a region's parcels into a table of their own and swaps it in.
--
-- Measured on the district (518,175 parcels, PostgreSQL 15, 2 cores, the same COPY text each time):
-- COPY into parcel as it was took 9.2 s; into a bare table 3.2 s. The difference is the foreign key to
-- import_batch (a lookup per row: 2.8 s) and the GiST index maintained row by row (3.2 s, where building
-- it after the load takes 1.2 s). Dropping either on parcel itself takes an ACCESS EXCLUSIVE lock until
-- the import commits, and every tile, OGC page and detail of parcels then waited for the whole import
-- (issue 12 item 3). So parcel becomes partitioned by region_code: an import COPYs into a new plain table,
-- repairs it, builds its key and index, reconciles against it, and only then attaches it as the region's
-- partition (the foreign key is checked once, as one join) in place of the previous one. Readers keep
-- the previous version until the commit; the swap itself holds the parent exclusively for a moment.
--
-- Partitioning by region_code is also what Citus does with this table (docs/SCALING.md): one region's
-- parcels live together. Rows not loaded by an import (and every parcel stored before this migration)
-- live in parcel_default.

ALTER TABLE parcel RENAME TO parcel_default;
ALTER INDEX parcel_pkey RENAME TO parcel_default_pkey;
ALTER INDEX parcel_geom_idx RENAME TO parcel_default_geom_idx;
DROP TRIGGER parcel_tile_epoch ON parcel_default;
DROP TRIGGER parcel_tile_epoch_truncate ON parcel_default;

CREATE TABLE parcel (
  LIKE parcel_default INCLUDING DEFAULTS INCLUDING GENERATED,
  PRIMARY KEY (region_code, id),
  FOREIGN KEY (batch_id) REFERENCES import_batch (id)
) PARTITION BY LIST (region_code);
CREATE INDEX parcel_geom_idx ON parcel USING gist (geom);
-- the existing rows, key, index and foreign key become the default partition's as they are (no copy)
ALTER TABLE parcel ATTACH PARTITION parcel_default DEFAULT;
ALTER SEQUENCE parcel_id_seq OWNED BY parcel.id;

CREATE TRIGGER parcel_tile_epoch AFTER INSERT OR UPDATE OR DELETE ON parcel
  FOR EACH STATEMENT EXECUTE FUNCTION tile_epoch_bump('parcel');
CREATE TRIGGER parcel_tile_epoch_truncate AFTER TRUNCATE ON parcel
  FOR EACH STATEMENT EXECUTE FUNCTION tile_epoch_bump('parcel');

-- Attaching and detaching partitions writes no rows, so no trigger tells the tiles: the import calls this
-- (the same bump and notification as tile_epoch_bump, migration 019).
CREATE FUNCTION tile_epoch_touch(k text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  s bigint;
BEGIN
  SELECT slot INTO s FROM tile_epoch WHERE key = k LIMIT 1 FOR UPDATE SKIP LOCKED;
  IF FOUND THEN
    UPDATE tile_epoch SET n = n + 1 WHERE key = k AND slot = s;
  ELSE
    INSERT INTO tile_epoch (key, slot, n) VALUES (k, nextval('tile_epoch_slot_seq'), 1);
  END IF;
  PERFORM pg_notify('tuban_tile_epoch', k);
END
$$;
