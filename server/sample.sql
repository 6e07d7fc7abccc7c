-- The synthetic sample town (server/sample.ts).

-- name: only_sample_town
-- Does the database hold the sample town and nothing else? (any other import is real data: its imagery is
-- the user's to import, never the synthetic one)
SELECT count(*) FILTER (WHERE sample)::int AS sample, count(*) FILTER (WHERE NOT sample)::int AS other
FROM import_batch
