-- Review workflow (DESIGN §5): append-only decision events, idempotent requests, enforcement cases (台账)
-- with their steps and deadlines (DESIGN §1). Users are referenced by id + username text stored with
-- the row (history stays readable if accounts change): no foreign key to app_user on purpose.
-- Every table carries region_code in its primary key and in every join (Citus distribution key).

-- ---------------------------------------------------------------------------------------------------
-- Enforcement cases (案件 / 台账)
-- ---------------------------------------------------------------------------------------------------

-- Case number prefix: 吉安违建〔2021〕第12号
INSERT INTO setting (key, value) VALUES ('case_number_prefix', '吉安违建') ON CONFLICT (key) DO NOTHING;

-- One counter per region and year, incremented in the transaction that creates the case: numbers are
-- unique, and gapless (a rolled-back creation gives its number back; the row lock serialises creators).
CREATE TABLE case_counter (
  region_code text NOT NULL,
  year int NOT NULL,
  last int NOT NULL,
  PRIMARY KEY (region_code, year)
);

CREATE TABLE enforcement_case (
  region_code text NOT NULL,
  id bigserial,
  year int NOT NULL,
  seq int NOT NULL,
  number text NOT NULL,                      -- 吉安违建〔2021〕第12号
  party text NOT NULL,                       -- 当事人
  address text NOT NULL,
  village text,                              -- 村（居）: territorial responsibility
  kind text NOT NULL CHECK (kind IN ('under_construction', 'existing')),   -- 在建 / 存量
  discovered_on date NOT NULL,               -- 发现日期: starts the 1-working-day report deadline
  note text,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  outcome text CHECK (outcome IN ('demolished', 'regularised')),          -- 拆除 / 完善手续
  outcome_at date,
  outcome_m2 double precision CHECK (outcome_m2 IS NULL OR outcome_m2 > 0),
  version int NOT NULL DEFAULT 1,
  created_by int NOT NULL,
  created_by_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (region_code, id),
  UNIQUE (region_code, year, seq),
  UNIQUE (region_code, number),
  CHECK ((status = 'open') = (outcome IS NULL)),
  CHECK (status = 'open' OR outcome_at IS NOT NULL),
  CHECK (outcome IS DISTINCT FROM 'demolished' OR outcome_m2 IS NOT NULL)
);
CREATE INDEX enforcement_case_list_idx ON enforcement_case (region_code, status, year, village);

-- Polygons grouped in a case. A polygon is in at most one OPEN case: is_open is a denormalised
-- "case open and link not undone", kept in sync by the trigger below, so a partial unique index can
-- enforce it in the database.
CREATE TABLE case_polygon (
  region_code text NOT NULL,
  id bigserial,
  case_id bigint NOT NULL,
  polygon_id bigint NOT NULL,
  linked_at timestamptz NOT NULL DEFAULT now(),
  linked_by int NOT NULL,
  linked_by_name text NOT NULL,
  unlinked_at timestamptz,
  is_open boolean NOT NULL DEFAULT true,
  PRIMARY KEY (region_code, id),
  FOREIGN KEY (region_code, case_id) REFERENCES enforcement_case (region_code, id),
  FOREIGN KEY (region_code, polygon_id) REFERENCES survey_polygon (region_code, id),
  CHECK (NOT is_open OR unlinked_at IS NULL)
);
CREATE UNIQUE INDEX case_polygon_one_open_idx ON case_polygon (region_code, polygon_id) WHERE is_open;
CREATE INDEX case_polygon_case_idx ON case_polygon (region_code, case_id);

CREATE FUNCTION case_polygon_sync_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    UPDATE case_polygon SET is_open = (NEW.status = 'open' AND unlinked_at IS NULL)
    WHERE region_code = NEW.region_code AND case_id = NEW.id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER enforcement_case_sync_open AFTER UPDATE OF status ON enforcement_case
  FOR EACH ROW EXECUTE FUNCTION case_polygon_sync_open();

-- Steps of the plan's procedure (实施方案 六(二)1), one row per case and step, with its deadline.
CREATE TABLE case_step (
  region_code text NOT NULL,
  case_id bigint NOT NULL,
  step text NOT NULL CHECK (step IN ('stop_order', 'self_removal_deadline', 'utility_notice',
                                     'report_to_town', 'forced_measures_or_court', 'outcome')),
  started_on date,                          -- e.g. the date the written notice to the utilities was sent
  deadline date,
  done_on date,
  note text,
  recorded_by int,
  recorded_by_name text,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (region_code, case_id, step),
  FOREIGN KEY (region_code, case_id) REFERENCES enforcement_case (region_code, id)
);
-- overdue = deadline passed, not done
CREATE INDEX case_step_open_deadline_idx ON case_step (region_code, deadline) WHERE done_on IS NULL;

-- ---------------------------------------------------------------------------------------------------
-- Decision events: append-only. The current status of a polygon is a replay of its events.
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE polygon_event (
  region_code text NOT NULL,
  id bigserial,
  polygon_id bigint NOT NULL,
  seq int NOT NULL,                         -- 1, 2, 3… per polygon, written under the polygon's row lock
  at timestamptz NOT NULL DEFAULT now(),
  user_id int NOT NULL,
  username text NOT NULL,
  action text NOT NULL CHECK (action IN ('verify', 'link', 'dismiss', 'request_field_check', 'return', 'reopen',
                                         'case_step', 'case_updated', 'case_closed')),
  from_status text NOT NULL,
  to_status text NOT NULL,
  reason text,
  note text,
  case_id bigint,
  request_id uuid,
  payload jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (region_code, id),
  UNIQUE (region_code, polygon_id, seq),
  FOREIGN KEY (region_code, polygon_id) REFERENCES survey_polygon (region_code, id)
);
-- a request of one user acts on a polygon once (a bulk request writes one event per polygon)
CREATE UNIQUE INDEX polygon_event_request_idx ON polygon_event (region_code, user_id, request_id, polygon_id)
  WHERE request_id IS NOT NULL;
CREATE INDEX polygon_event_case_idx ON polygon_event (region_code, case_id) WHERE case_id IS NOT NULL;

CREATE FUNCTION polygon_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'polygon_event is append-only: % refused / 决定记录只能追加，不能修改或删除', TG_OP
    USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER polygon_event_no_update BEFORE UPDATE OR DELETE ON polygon_event
  FOR EACH ROW EXECUTE FUNCTION polygon_event_append_only();
CREATE TRIGGER polygon_event_no_truncate BEFORE TRUNCATE ON polygon_event
  FOR EACH STATEMENT EXECUTE FUNCTION polygon_event_append_only();

-- Idempotency: one row per (user, client request id), claimed first in the deciding transaction
-- (INSERT … ON CONFLICT DO NOTHING: a concurrent twin waits for it, then finds it), holding the answer.
CREATE TABLE decision_request (
  region_code text NOT NULL,
  user_id int NOT NULL,
  request_id uuid NOT NULL,
  fingerprint text NOT NULL,                -- what was asked: the same id for another request is refused
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (region_code, user_id, request_id)
);
