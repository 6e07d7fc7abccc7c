-- Issue 17 item 4: a cached tile cost one round trip for the data versions (tile_epoch) before the cache
-- lookup. Each bump now also NOTIFYs, so a tile server that LISTENs keeps the versions in memory and reads
-- them again only when told they changed (tiles/epochs.ts). NOTIFY is delivered at commit, only if the
-- transaction commits, and one per transaction however many statements bumped the same key.
CREATE OR REPLACE FUNCTION tile_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  s bigint;
BEGIN
  SELECT slot INTO s FROM tile_epoch WHERE key = TG_ARGV[0] LIMIT 1 FOR UPDATE SKIP LOCKED;
  IF FOUND THEN
    UPDATE tile_epoch SET n = n + 1 WHERE key = TG_ARGV[0] AND slot = s;
  ELSE
    INSERT INTO tile_epoch (key, slot, n) VALUES (TG_ARGV[0], nextval('tile_epoch_slot_seq'), 1);
  END IF;
  PERFORM pg_notify('tuban_tile_epoch', TG_ARGV[0]);
  RETURN NULL;
END
$$;
