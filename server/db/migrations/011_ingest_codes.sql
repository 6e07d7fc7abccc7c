-- Issue 11, items 1 and 8.
--
-- A survey polygon whose delivery had no usable code field (图斑编号 …) gets a generated code
-- ('<survey>-<record>'). Such a code only says where the record stood in one file, so a later version of
-- the survey is matched to it by geometry overlap, never by the code (server/ingest/load.sql,
-- survey_match_overlap). This flag says which codes those are.
ALTER TABLE survey_polygon ADD COLUMN IF NOT EXISTS code_generated boolean NOT NULL DEFAULT false;

-- Re-importing an earlier version of a layer (a rollback) is a new version, not a duplicate: the duplicate
-- check now compares with the layer's current version only (load.sql batch_current), so the same file may
-- appear in several batches of one layer.
ALTER TABLE import_batch DROP CONSTRAINT IF EXISTS import_batch_layer_id_sha256_source_layer_key;
CREATE INDEX IF NOT EXISTS import_batch_layer_idx ON import_batch (layer_id, id);
