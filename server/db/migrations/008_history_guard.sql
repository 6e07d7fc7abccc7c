-- The history is the proof (issue 12, items 4 and 9).
--
-- 1. A polygon's status may only change together with its history. On PostgreSQL the server runs as a
--    runtime role that owns nothing (server/db/roles.sql grants it INSERT and SELECT on polygon_event,
--    evidence and field_finding, never UPDATE/DELETE/TRUNCATE, and on survey_polygon only UPDATE of
--    status and version). That alone does not stop it from writing `UPDATE survey_polygon SET status = …`
--    with no event. The constraint trigger below does: at commit, every polygon whose status changed in
--    the transaction must have, as its LAST event, one whose to_status is the status it now has. The
--    decision code already works that way (decide_one / decide_many update the row, then append the
--    event, in one transaction), so the check is deferred to the commit: the order inside the
--    transaction does not matter, only what commits.
--
--    Why a deferred trigger and not a SECURITY DEFINER "decide" function: the decision SQL stays as it
--    is (one UPDATE guarded by version, then the events), and the rule holds for every writer, present or
--    future, not only for the callers of one function.
--
--    Who it binds: every role that does not own survey_polygon. The owner (and a superuser) is exempt on
--    purpose: it can DISABLE TRIGGER anyway, so checking it would protect nothing, while fixtures and
--    repairs run as the owner would need events they do not have. The owner is the migration role, not
--    the server's (README "Database roles"); what the owner does behind the app's back is what the
--    integrity check (server/integrity/) finds: it replays every history against the status.
--    The embedded database runs as its superuser: there the integrity check is the guard.
-- ---------------------------------------------------------------------------------------------------
CREATE FUNCTION survey_polygon_status_has_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cur text;
  last_to text;
BEGIN
  IF pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID), 'USAGE') THEN
    RETURN NULL;
  END IF;
  -- the row as it commits (NEW may have been overwritten by a later statement of the same transaction)
  SELECT p.status INTO cur FROM survey_polygon p WHERE p.region_code = NEW.region_code AND p.id = NEW.id;
  SELECT e.to_status INTO last_to FROM polygon_event e
  WHERE e.region_code = NEW.region_code AND e.polygon_id = NEW.id
  ORDER BY e.seq DESC LIMIT 1;
  IF cur IS DISTINCT FROM coalesce(last_to, 'pending') THEN
    RAISE EXCEPTION 'survey_polygon %: status % has no event in its history (last event leads to %) / 图斑状态只能随处理记录一起修改',
      NEW.id, cur, coalesce(last_to, 'pending')
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER survey_polygon_status_has_event
  AFTER UPDATE OF status ON survey_polygon
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION survey_polygon_status_has_event();

-- ---------------------------------------------------------------------------------------------------
-- 2. Demo accounts (item 9): why an account was disabled by the system, shown by GET /api/users.
--    import_batch.sample marks the synthetic sample town's imports; any other import is real data and
--    disables the demo accounts in its own transaction (server/auth/users.ts disableDemoUsers).
-- ---------------------------------------------------------------------------------------------------
ALTER TABLE app_user ADD COLUMN disabled_reason text;
ALTER TABLE import_batch ADD COLUMN sample boolean NOT NULL DEFAULT false;
-- the sample town has always been imported as user 'sample' (server/sample.ts)
UPDATE import_batch SET sample = true WHERE created_by = 'sample';
