-- Vector tile freshness (issue 4): a data version per source table, so a tile's ETag is cheap to compute
-- and changes as soon as a change commits (a decision shows on the map at the next request, never a stale
-- tile from a cache).
--
-- Why slots and not one counter row: a statement-level trigger doing `UPDATE counter SET n = n + 1` holds
-- that row's lock until its transaction commits, so every other writer of the table would queue behind a
-- long import or reconciliation, and two transactions that each update survey_polygon twice could
-- deadlock on it. Instead a bump takes any slot row nobody holds (SKIP LOCKED), or adds a new slot when all
-- are held: it never waits. The version of a key is sum(n) over its slots: +1 per committed writing
-- statement, visible exactly when the change is (same MVCC snapshot rules), so a reader that reads the
-- version before the tile can only ever label a tile with a version older than its data (one extra
-- refetch later), never newer (a stale tile kept forever).
CREATE TABLE tile_epoch (
  key text NOT NULL,          -- source table: survey_polygon, parcel, layer_feature; layer = the catalog
  slot bigint NOT NULL,
  n bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (key, slot)
);
CREATE SEQUENCE tile_epoch_slot_seq;

INSERT INTO tile_epoch (key, slot, n)
SELECT k, nextval('tile_epoch_slot_seq'), 0
FROM unnest(ARRAY['survey_polygon', 'parcel', 'layer_feature', 'layer']) AS k;

-- Tells ETags of two databases apart (a recreated data directory starts counting from zero again).
INSERT INTO setting (key, value) VALUES ('tile_instance', substr(md5(random()::text || clock_timestamp()::text), 1, 12))
ON CONFLICT (key) DO NOTHING;

CREATE FUNCTION tile_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  s bigint;
BEGIN
  SELECT slot INTO s FROM tile_epoch WHERE key = TG_ARGV[0] LIMIT 1 FOR UPDATE SKIP LOCKED;
  IF FOUND THEN
    UPDATE tile_epoch SET n = n + 1 WHERE key = TG_ARGV[0] AND slot = s;
  ELSE
    INSERT INTO tile_epoch (key, slot, n) VALUES (TG_ARGV[0], nextval('tile_epoch_slot_seq'), 1);
  END IF;
  RETURN NULL;
END
$$;

-- Statement-level: one bump per statement however many rows it writes (a 500k-row COPY costs one).
CREATE TRIGGER survey_polygon_tile_epoch AFTER INSERT OR UPDATE OR DELETE ON survey_polygon
  FOR EACH STATEMENT EXECUTE FUNCTION tile_epoch_bump('survey_polygon');
CREATE TRIGGER survey_polygon_tile_epoch_truncate AFTER TRUNCATE ON survey_polygon
  FOR EACH STATEMENT EXECUTE FUNCTION tile_epoch_bump('survey_polygon');
CREATE TRIGGER parcel_tile_epoch AFTER INSERT OR UPDATE OR DELETE ON parcel
  FOR EACH STATEMENT EXECUTE FUNCTION tile_epoch_bump('parcel');
CREATE TRIGGER parcel_tile_epoch_truncate AFTER TRUNCATE ON parcel
  FOR EACH STATEMENT EXECUTE FUNCTION tile_epoch_bump('parcel');
CREATE TRIGGER layer_feature_tile_epoch AFTER INSERT OR UPDATE OR DELETE ON layer_feature
  FOR EACH STATEMENT EXECUTE FUNCTION tile_epoch_bump('layer_feature');
CREATE TRIGGER layer_feature_tile_epoch_truncate AFTER TRUNCATE ON layer_feature
  FOR EACH STATEMENT EXECUTE FUNCTION tile_epoch_bump('layer_feature');
CREATE TRIGGER layer_tile_epoch AFTER INSERT OR UPDATE OR DELETE ON layer
  FOR EACH STATEMENT EXECUTE FUNCTION tile_epoch_bump('layer');
