-- The runtime role's privileges (issue 12 item 4; README "Database roles"). Run by the OWNER role after
-- its migrations, every start: revoke everything, then grant exactly what the server's code needs,
-- table by table (so a grant removed here is removed from the database too). {{runtime}} is the quoted
-- name of DATABASE_URL's role. Imports run on the owner's connection (they create staging tables and
-- VACUUM): nothing here lets the runtime role write reference data.
--
-- The history (polygon_event, evidence, field_finding) is INSERT + SELECT only: never UPDATE, DELETE or
-- TRUNCATE, and the runtime role owns no table, so it cannot ALTER or DISABLE TRIGGER either. Of
-- survey_polygon it may only update status and version (decisions), and the status only together with an
-- event (migration 008's constraint trigger).

-- name: grants
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {{runtime}};
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {{runtime}};
GRANT USAGE ON SCHEMA public TO {{runtime}};
-- bigserial ids of the rows it inserts
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {{runtime}};

-- history: append and read, nothing else
GRANT SELECT, INSERT ON polygon_event, evidence, field_finding TO {{runtime}};
-- decisions: status + version (the status only with an event, see migration 008); FOR UPDATE locks need UPDATE
GRANT SELECT ON survey_polygon TO {{runtime}};
GRANT UPDATE (status, version) ON survey_polygon TO {{runtime}};

-- reference data and import results: read only (imports write them as the owner)
GRANT SELECT ON setting, layer, import_batch, survey_polygon_version, parcel, layer_feature, polygon_parcel,
  polygon_layer, polygon_prior, schema_migration TO {{runtime}};
-- the views every figure reads (migration 005)
GRANT SELECT ON polygon_decision, polygon_first_outcome, polygon_evidence TO {{runtime}};
-- tile freshness: the statement trigger on survey_polygon bumps a slot (migration 004)
GRANT SELECT, INSERT, UPDATE ON tile_epoch TO {{runtime}};

-- accounts, sessions, login limiter (server/auth/auth.sql)
GRANT SELECT, INSERT, UPDATE ON app_user TO {{runtime}};
GRANT SELECT, INSERT, UPDATE, DELETE ON user_session, login_attempt, login_known_address TO {{runtime}};

-- cases (server/review/cases.sql): edited in place, every change also an event in polygon_event
GRANT SELECT, INSERT, UPDATE ON case_counter, enforcement_case, case_polygon, case_step TO {{runtime}};
-- priority weights: read (changing them re-scores polygons, which runs as the owner); the year's demolition
-- target is set by an admin (migration 009)
GRANT SELECT ON priority_weight TO {{runtime}};
GRANT SELECT, INSERT, UPDATE ON demolition_target TO {{runtime}};
-- the village register (migration 010): who answers for each village, kept by admins
GRANT SELECT, INSERT, UPDATE, DELETE ON village_register TO {{runtime}};
-- proof per outcome (migration 015): the requirements an admin keeps; replacing the set deletes rows
GRANT SELECT, INSERT, UPDATE, DELETE ON proof_requirement TO {{runtime}};
-- idempotent decisions (server/review/idempotency.sql)
GRANT SELECT, INSERT, UPDATE ON decision_request TO {{runtime}};
-- quality check (server/dashboard/qc.sql): a verdict is written into its item
GRANT SELECT, INSERT ON qc_sample TO {{runtime}};
GRANT SELECT, INSERT, UPDATE ON qc_item TO {{runtime}};
-- signed field links (server/field/field.sql): revoking one sets revoked_at
GRANT SELECT, INSERT, UPDATE ON field_link TO {{runtime}};
-- public reports (migration 016): the status page reads them; leads and reports are written as the owner,
-- like imports (a new lead is a survey_polygon row and is reconciled), so no INSERT here
GRANT SELECT ON public_report TO {{runtime}};
-- daily patrol (migration 017): a patrol record is written once by the runtime role; its findings are leads,
-- written as the owner with them
GRANT SELECT, INSERT ON patrol TO {{runtime}};
GRANT SELECT ON patrol_finding TO {{runtime}};

-- name: role_report
-- The connected role and what it could do to the history: superuser, owner (or member of the owner's
-- role) of a history table, or holding a privilege that alters history rows.
SELECT current_user AS role,
       r.rolsuper AS superuser,
       coalesce(array_agg(t.name ORDER BY t.name) FILTER (
         WHERE pg_has_role(current_user, c.relowner, 'USAGE')), '{}') AS owns,
       coalesce(array_agg(t.name ORDER BY t.name) FILTER (
         WHERE has_table_privilege(current_user, c.oid, 'UPDATE, DELETE, TRUNCATE')
           AND t.name <> 'survey_polygon'), '{}') AS may_rewrite
FROM pg_roles r
CROSS JOIN (VALUES ('polygon_event'), ('evidence'), ('field_finding'), ('survey_polygon')) AS t(name)
JOIN pg_class c ON c.oid = to_regclass('public.' || t.name)
WHERE r.rolname = current_user
GROUP BY r.rolname, r.rolsuper
