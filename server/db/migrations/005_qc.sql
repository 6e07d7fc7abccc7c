-- Reviewer dashboard, quality check and exports (issue 6).
--
-- 1. Three views: the ONE definition of the review facts every figure, filter, export and QC sample
--    reads (server/dashboard/coverage.sql, server/dashboard/filters.sql, server/exports/*.sql,
--    server/dashboard/qc.sql). Change a definition here (CREATE OR REPLACE VIEW in a later migration)
--    and every figure follows.
-- 2. Quality-check samples (抽查): a random sample of decided polygons per village, each approved or
--    returned by a reviewer.

-- ---------------------------------------------------------------------------------------------------
-- Review facts
-- ---------------------------------------------------------------------------------------------------

-- The decision a polygon is at: its last status-changing event (case events keep the status and do not
-- count). Who decided (认定人), when (认定时间), the dismissal reason and the case of a link. Readers join
-- it with `d.to_status = p.status` so an event that no longer describes the polygon never shows.
-- Written as an anti-join (not DISTINCT ON) so a lookup for one polygon is an index probe on
-- polygon_event (region_code, polygon_id, seq) and a whole-table read is a hash anti-join.
CREATE VIEW polygon_decision AS
SELECT e.region_code, e.polygon_id, e.seq, e.at AS decided_at, e.user_id, e.username AS decided_by,
       e.action, e.from_status, e.to_status, e.reason, e.note, e.case_id
FROM polygon_event e
WHERE e.from_status <> e.to_status
  AND NOT EXISTS (
    SELECT 1 FROM polygon_event l
    WHERE l.region_code = e.region_code AND l.polygon_id = e.polygon_id AND l.seq > e.seq
      AND l.from_status <> l.to_status);

-- When a polygon first reached an outcome (verify, link or dismiss), whatever happened after: the
-- weekly coverage curve is drawn from it.
CREATE VIEW polygon_first_outcome AS
SELECT e.region_code, e.polygon_id, min(e.at) AS first_outcome_at
FROM polygon_event e
WHERE e.action IN ('verify', 'link', 'dismiss')
GROUP BY e.region_code, e.polygon_id;

-- Polygons with photo evidence. No evidence table exists yet: the view is empty and the setting below
-- says so (the dashboard then reports evidence_available: false). The migration that adds field photos
-- replaces both, e.g.
--   CREATE OR REPLACE VIEW polygon_evidence AS
--     SELECT DISTINCT region_code, polygon_id FROM field_photo;
--   UPDATE setting SET value = 'true' WHERE key = 'evidence_available';
CREATE VIEW polygon_evidence AS
SELECT NULL::text AS region_code, NULL::bigint AS polygon_id
WHERE false;
INSERT INTO setting (key, value) VALUES ('evidence_available', 'false') ON CONFLICT (key) DO NOTHING;

-- ---------------------------------------------------------------------------------------------------
-- Quality check (抽查)
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE qc_sample (
  region_code text NOT NULL,
  id bigserial,
  per_village int NOT NULL CHECK (per_village BETWEEN 1 AND 1000),
  seed text NOT NULL,                       -- same seed, same data → same sample
  survey text,                              -- drawn from this survey only (NULL = all)
  villages text[],                          -- the creator's village scope (NULL = all villages)
  created_by int NOT NULL,
  created_by_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (region_code, id)
);

-- One sampled decision. The decision is copied as it was when drawn (who, when, status, version), so
-- the sample keeps saying what was checked even after the polygon moves on.
CREATE TABLE qc_item (
  region_code text NOT NULL,
  id bigserial,
  sample_id bigint NOT NULL,
  polygon_id bigint NOT NULL,
  village text,
  status text NOT NULL CHECK (status IN ('verified', 'linked', 'dismissed')),
  version int NOT NULL,                     -- polygon version when drawn: a verdict on a changed polygon is refused
  event_seq int,                            -- the decision event drawn (NULL: decided without an event)
  decided_by text,                          -- the analyst: username of the last outcome event
  decided_at timestamptz,
  reason text,
  verdict text CHECK (verdict IN ('approve', 'return')),
  comment text,
  reviewed_by int,
  reviewed_by_name text,
  reviewed_at timestamptz,
  PRIMARY KEY (region_code, id),
  UNIQUE (region_code, sample_id, polygon_id),
  FOREIGN KEY (region_code, sample_id) REFERENCES qc_sample (region_code, id),
  FOREIGN KEY (region_code, polygon_id) REFERENCES survey_polygon (region_code, id),
  CHECK (verdict IS DISTINCT FROM 'return' OR (comment IS NOT NULL AND btrim(comment) <> '')),
  CHECK ((verdict IS NULL) = (reviewed_at IS NULL))
);
CREATE INDEX qc_item_sample_idx ON qc_item (region_code, sample_id, village);
