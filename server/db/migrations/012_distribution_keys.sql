-- Citus readiness (docs/SCALING.md, test/integration/schema-distribution.test.ts): a unique index on a
-- table distributed by region_code must contain region_code, because Citus enforces uniqueness per shard.
-- Field-link tokens are 256-bit random values, so a collision across regions has probability ~2^-128; the
-- unique key moves to (region_code, token_hash) and opening a link keeps a plain index on the hash (on Citus
-- that open is one index probe per shard, which a phone opening one link can afford).
DROP INDEX field_link_token_idx;
CREATE UNIQUE INDEX field_link_region_token_idx ON field_link (region_code, token_hash);
CREATE INDEX field_link_token_idx ON field_link (token_hash);
