-- Field work (issue 5): signed links for people without an account, photo evidence, field findings.
-- Findings and photos are also events of the polygon's append-only history (polygon_event, actions
-- 'field_finding' and 'evidence_added'); they never change its status (server/review/transitions.ts).
-- Every table carries region_code in its primary key and in every join (Citus distribution key).

-- ---------------------------------------------------------------------------------------------------
-- Signed field links: /f/<token>, view and report only, limited to chosen polygons, expiring, revocable.
-- Only the SHA-256 of the token is stored (like sessions): a leaked table does not let anyone in.
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE field_link (
  region_code text NOT NULL,
  id bigserial,
  token_hash text NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  polygon_ids bigint[] NOT NULL CHECK (cardinality(polygon_ids) BETWEEN 1 AND 500),
  label text,                               -- who it is for, e.g. 张三（石竹村）
  created_by int NOT NULL,
  created_by_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_by_name text,
  PRIMARY KEY (region_code, id),
  CHECK (expires_at > created_at)
);
CREATE UNIQUE INDEX field_link_token_idx ON field_link (token_hash);
CREATE INDEX field_link_created_idx ON field_link (region_code, created_at DESC);

-- ---------------------------------------------------------------------------------------------------
-- Photo evidence. Files are content-addressed: <dataDir>/evidence/ab/cd/<sha256>.<ext>; one file however
-- often it is uploaded, one row per (polygon, file). Append-only: a photo is never edited or removed.
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE evidence (
  region_code text NOT NULL,
  id bigserial,
  polygon_id bigint NOT NULL,
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  mime text NOT NULL CHECK (mime IN ('image/jpeg', 'image/png', 'image/webp')),
  bytes int NOT NULL CHECK (bytes > 0),
  width int,
  height int,
  client_id uuid,                           -- the phone's id for this photo (its offline queue)
  uploaded_at timestamptz NOT NULL DEFAULT now(),   -- server clock
  user_id int NOT NULL,
  username text NOT NULL,
  field_link_id bigint,                     -- uploaded through a signed link
  captured_at timestamptz,                  -- phone clock when the photo was taken
  taken_at timestamptz,                     -- EXIF DateTimeOriginal (camera clock)
  exif_lat double precision,                -- EXIF GPS of the camera
  exif_lon double precision,
  exif_heading double precision,            -- EXIF GPSImgDirection, degrees
  device_lat double precision,              -- the phone's position (navigator.geolocation) at capture
  device_lon double precision,
  device_accuracy_m double precision,
  device_at timestamptz,                    -- time of that position fix
  distance_m double precision,              -- from the polygon at capture (server-computed, 0 = inside)
  distance_from text CHECK (distance_from IN ('device', 'exif')),   -- which position distance_m is from
  exif jsonb NOT NULL DEFAULT '{}',         -- EXIF as read by the server from the stored file (if any)
  client_exif jsonb NOT NULL DEFAULT '{}',  -- EXIF as read on the phone from the original, before resizing
  PRIMARY KEY (region_code, id),
  UNIQUE (region_code, polygon_id, sha256),
  FOREIGN KEY (region_code, polygon_id) REFERENCES survey_polygon (region_code, id),
  CHECK ((device_lat IS NULL) = (device_lon IS NULL)),
  CHECK (device_lat IS NULL OR (device_lat BETWEEN -90 AND 90 AND device_lon BETWEEN -180 AND 180))
);
CREATE INDEX evidence_polygon_idx ON evidence (region_code, polygon_id);
CREATE UNIQUE INDEX evidence_client_idx ON evidence (region_code, client_id) WHERE client_id IS NOT NULL;

-- ---------------------------------------------------------------------------------------------------
-- What a field visit found. Idempotent by the phone's client_id (a finding queued offline and sent twice
-- is recorded once). Append-only.
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE field_finding (
  region_code text NOT NULL,
  id bigserial,
  polygon_id bigint NOT NULL,
  client_id uuid NOT NULL,
  fingerprint text NOT NULL,                -- what was sent: the same client_id for another finding is refused
  finding text NOT NULL CHECK (finding IN ('under_construction', 'completed', 'demolished', 'legal_with_permit',
                                           'nothing_found', 'other')),
  note text,
  photo_ids bigint[] NOT NULL DEFAULT '{}', -- evidence ids
  lat double precision,
  lon double precision,
  accuracy_m double precision,
  distance_m double precision,
  captured_at timestamptz,                  -- phone clock when recorded
  received_at timestamptz NOT NULL DEFAULT now(),
  user_id int NOT NULL,
  username text NOT NULL,
  field_link_id bigint,
  event_id bigint NOT NULL,
  PRIMARY KEY (region_code, id),
  UNIQUE (region_code, client_id),
  FOREIGN KEY (region_code, polygon_id) REFERENCES survey_polygon (region_code, id)
);
CREATE INDEX field_finding_polygon_idx ON field_finding (region_code, polygon_id);

CREATE FUNCTION field_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused / 外业记录只能追加，不能修改或删除', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER evidence_no_update BEFORE UPDATE OR DELETE ON evidence
  FOR EACH ROW EXECUTE FUNCTION field_append_only();
CREATE TRIGGER evidence_no_truncate BEFORE TRUNCATE ON evidence
  FOR EACH STATEMENT EXECUTE FUNCTION field_append_only();
CREATE TRIGGER field_finding_no_update BEFORE UPDATE OR DELETE ON field_finding
  FOR EACH ROW EXECUTE FUNCTION field_append_only();
CREATE TRIGGER field_finding_no_truncate BEFORE TRUNCATE ON field_finding
  FOR EACH STATEMENT EXECUTE FUNCTION field_append_only();

-- ---------------------------------------------------------------------------------------------------
-- History: two more event actions. They keep the status (from_status = to_status), so the decision
-- views of 005 (polygon_decision: from_status <> to_status) and replay ignore them as they should.
-- ---------------------------------------------------------------------------------------------------
ALTER TABLE polygon_event DROP CONSTRAINT polygon_event_action_check;
ALTER TABLE polygon_event ADD CONSTRAINT polygon_event_action_check
  CHECK (action IN ('verify', 'link', 'dismiss', 'request_field_check', 'return', 'reopen',
                    'case_step', 'case_updated', 'case_closed', 'field_finding', 'evidence_added'));
ALTER TABLE polygon_event ADD CONSTRAINT polygon_event_field_keeps_status
  CHECK (action NOT IN ('field_finding', 'evidence_added') OR from_status = to_status);

-- /p/<图斑编号>: a polygon is found by its code (the unique key has the survey in front).
CREATE INDEX survey_polygon_code_idx ON survey_polygon (region_code, code);

-- The dashboard's "with photo evidence" (005) now has a source.
CREATE OR REPLACE VIEW polygon_evidence AS
SELECT DISTINCT e.region_code, e.polygon_id
FROM evidence e;
UPDATE setting SET value = 'true' WHERE key = 'evidence_available';
