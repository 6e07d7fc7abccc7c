-- Daily patrol (日常巡查, issue 16 items 8–10). The plan asks the town office to "负责辖区内的违法建筑的核实、
-- 巡查、督查工作，建立违建巡查登记台账" (实施方案 五(一)) and to keep 日常巡查 as a standing mechanism (六(三)):
-- one row per patrol is that ledger's line. A patrol is recorded on a phone, offline, and sent once when it
-- ends; the phone's own id for it (client_id, a UUID) is the key, so a resend stores nothing twice.
--
-- The track is in the work CRS like every other geometry (planar metres: its length is the distance).
CREATE TABLE patrol (
  region_code text NOT NULL,
  client_id uuid NOT NULL,
  village text NOT NULL,
  members text[] NOT NULL CHECK (cardinality(members) BETWEEN 1 AND 20),
  started_at timestamptz NOT NULL,
  ended_at timestamptz NOT NULL CHECK (ended_at >= started_at),
  distance_m double precision NOT NULL CHECK (distance_m >= 0),
  -- NULL: fewer than two positions were recorded (the page was closed, no GPS fix)
  track geometry(LineString, {{WORK_SRID}}),
  track_points int NOT NULL CHECK (track_points >= 0),
  note text,
  created_by bigint NOT NULL,
  created_by_name text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (region_code, client_id)
);
CREATE INDEX patrol_village_idx ON patrol (region_code, village, started_at);

-- A finding of a patrol (item 9) is a lead (survey_polygon, source 'patrol'); this row says which patrol
-- found it and what the phone recorded with it. Keyed by the phone's id for the finding, so a resend answers
-- the lead it created. The patrol record usually arrives after its findings (the phone sends it at the end):
-- no foreign key to patrol, the two meet on patrol_client_id.
CREATE TABLE patrol_finding (
  region_code text NOT NULL,
  client_id uuid NOT NULL,
  patrol_client_id uuid NOT NULL,
  polygon_id bigint NOT NULL,
  category text NOT NULL CHECK (category IN ('construction', 'compound', 'school', 'other')),
  under_construction boolean NOT NULL,
  -- the case opened at once for construction in progress (六(二)1: 责令停止建设, report within 1 working day)
  case_id bigint,
  found_at timestamptz NOT NULL,
  created_by bigint NOT NULL,
  created_by_name text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (region_code, client_id),
  FOREIGN KEY (region_code, polygon_id) REFERENCES survey_polygon (region_code, id),
  FOREIGN KEY (region_code, case_id) REFERENCES enforcement_case (region_code, id)
);
CREATE INDEX patrol_finding_patrol_idx ON patrol_finding (region_code, patrol_client_id);
CREATE INDEX patrol_finding_polygon_idx ON patrol_finding (region_code, polygon_id);
