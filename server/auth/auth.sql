-- Accounts, sessions and the login limiter. Loaded by server/auth/{users,session,limiter}.ts.
-- Usernames compare case-insensitively everywhere (unique index on lower(username)).

-- name: user_by_username
-- $1 username (any case)
SELECT * FROM app_user WHERE lower(username) = lower($1::text);

-- name: user_by_id
-- $1 id
SELECT * FROM app_user WHERE id = $1::int;

-- name: users_list
SELECT * FROM app_user ORDER BY disabled, role, lower(username);

-- name: user_insert
-- $1 username, $2 display_name, $3 role, $4 villages (NULL = all), $5 password_hash,
-- $6 must_change_password, $7 is_demo. A taken username (any case) inserts nothing and returns no row.
INSERT INTO app_user (username, display_name, role, villages, password_hash, must_change_password, is_demo)
VALUES ($1::text, $2::text, $3::text, $4::text[], $5::text, $6::boolean, $7::boolean)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: user_update
-- $1 id; $2 display_name, $3 role, $6 disabled: NULL = unchanged; $4 set villages?, $5 villages (NULL = all)
UPDATE app_user SET
  display_name = COALESCE($2::text, display_name),
  role = COALESCE($3::text, role),
  villages = CASE WHEN $4::boolean THEN $5::text[] ELSE villages END,
  disabled = COALESCE($6::boolean, disabled),
  -- a person's decision replaces the system's reason (demo accounts disabled by a real import)
  disabled_reason = CASE WHEN $6::boolean IS NULL THEN disabled_reason END
WHERE id = $1::int
RETURNING *;

-- name: user_set_password
-- $1 id, $2 password_hash, $3 must_change_password
UPDATE app_user SET password_hash = $2::text, must_change_password = $3::boolean WHERE id = $1::int;

-- name: user_logged_in
-- $1 id
UPDATE app_user SET last_login_at = now() WHERE id = $1::int;

-- name: enabled_admins
-- Locked in a transaction that demotes or disables an admin: two such changes at once cannot both
-- see "another admin is left" (the second waits, then re-reads the rows).
SELECT id FROM app_user WHERE role = 'admin' AND NOT disabled ORDER BY id FOR UPDATE;

-- name: demo_users
SELECT username, role, villages FROM app_user WHERE is_demo AND NOT disabled ORDER BY username;

-- name: demo_village
-- The village the demo field account is limited to: 吉安社区 when the sample town has it, else the
-- village holding the most polygons.
SELECT f.name FROM layer_feature f JOIN layer l ON l.id = f.layer_id
WHERE l.name = 'village' AND f.name IS NOT NULL
ORDER BY f.name = '吉安社区' DESC,
  (SELECT count(*) FROM survey_polygon p WHERE p.region_code = f.region_code AND p.village_name = f.name) DESC, f.name
LIMIT 1;

-- name: session_insert
-- $1 token_hash (sha256 hex of the token: the token itself is never stored), $2 user_id, $3 ttl seconds,
-- $4 user agent
INSERT INTO user_session (token_hash, user_id, expires_at, user_agent)
VALUES ($1::text, $2::int, now() + make_interval(secs => $3::double precision), $4::text)
RETURNING expires_at;

-- name: session_lookup
-- $1 token_hash, $2 seconds after which last_seen_at is refreshed (sliding expiry, without a write per request)
SELECT u.id, u.username, u.display_name, u.role, u.villages, u.must_change_password,
       s.last_seen_at < now() - make_interval(secs => $2::double precision) AS stale, s.expires_at
FROM user_session s JOIN app_user u ON u.id = s.user_id
WHERE s.token_hash = $1::text AND s.expires_at > now() AND NOT u.disabled;

-- name: session_touch
-- $1 token_hash, $2 ttl seconds
UPDATE user_session SET last_seen_at = now(), expires_at = now() + make_interval(secs => $2::double precision)
WHERE token_hash = $1::text
RETURNING expires_at;

-- name: session_delete
-- $1 token_hash
DELETE FROM user_session WHERE token_hash = $1::text;

-- name: sessions_delete_user
-- $1 user_id, $2 token_hash to keep (the caller's own session) or NULL
DELETE FROM user_session WHERE user_id = $1::int AND token_hash IS DISTINCT FROM $2::text;

-- name: sessions_prune
DELETE FROM user_session WHERE expires_at < now();

-- name: attempt_insert
-- $1 lower(username), $2 ip
INSERT INTO login_attempt (username_key, ip) VALUES ($1::text, $2::text) RETURNING id;

-- name: attempt_counts
-- $1 lower(username), $2 ip, $3 window seconds: attempts in the window for this username from this IP,
-- and for any username from this IP
SELECT
  count(*) FILTER (WHERE username_key = $1::text)::int AS key_n,
  count(*)::int AS ip_n
FROM login_attempt
WHERE ip = $2::text AND at > now() - make_interval(secs => $3::double precision);

-- name: attempt_retry_after
-- $1 lower(username) or NULL (= any), $2 ip, $3 window seconds, $4 limit: seconds until fewer than
-- $4 attempts remain in the window, i.e. until the $4-th most recent one leaves it
SELECT greatest(1, ceil(extract(epoch FROM
  (at + make_interval(secs => $3::double precision) - now()))))::int AS seconds
FROM login_attempt
WHERE ip = $2::text AND ($1::text IS NULL OR username_key = $1::text)
  AND at > now() - make_interval(secs => $3::double precision)
ORDER BY at DESC
OFFSET ($4::int - 1) LIMIT 1;

-- name: attempt_delete
-- $1 id
DELETE FROM login_attempt WHERE id = $1::bigint;

-- name: attempts_clear
-- $1 lower(username), $2 ip: a successful login forgives earlier failures from the same place
DELETE FROM login_attempt WHERE username_key = $1::text AND ip = $2::text;

-- name: attempts_prune
-- $1 window seconds
DELETE FROM login_attempt WHERE at < now() - make_interval(secs => $1::double precision);

-- ---------------------------------------------------------------------------------------------------
-- Demo accounts and real data (issue 12 item 9): the synthetic sample town's imports are marked; any
-- other import disables the demo accounts (published passwords) in the import's own transaction.
-- ---------------------------------------------------------------------------------------------------

-- name: batch_mark_sample
-- $1 import batch id: an import of the synthetic sample town
UPDATE import_batch SET sample = true WHERE id = $1::int;

-- name: real_data_imported
-- has anything but the sample town ever been imported?
SELECT EXISTS (SELECT 1 FROM import_batch WHERE NOT sample) AS real;

-- name: demo_disable
-- $1 reason code: every enabled demo account is disabled; their sessions go with them
WITH d AS (
  UPDATE app_user SET disabled = true, disabled_reason = $1::text
  WHERE is_demo AND NOT disabled
  RETURNING id, username
), s AS (
  DELETE FROM user_session WHERE user_id IN (SELECT id FROM d)
)
SELECT id, username FROM d ORDER BY username;

-- name: account_failures
-- $1 lower(username), $2 window seconds, $3 the attempt being made (not counted): failed attempts on this
-- account from any address in the window and since its last successful login, and seconds since the latest
-- of them (the per-account backoff, limiter.ts)
SELECT count(*)::int AS n,
       coalesce(extract(epoch FROM now() - max(a.at)), 0)::float8 AS since_last
FROM login_attempt a
WHERE a.username_key = $1::text AND a.id <> $3::bigint
  AND a.at > now() - make_interval(secs => $2::double precision)
  AND a.at > coalesce((SELECT max(u.last_login_at) FROM app_user u WHERE lower(u.username) = $1::text), '-infinity');

-- name: known_address
-- $1 lower(username), $2 ip, $3 days: this account logged in from this address within $3 days
SELECT EXISTS (
  SELECT 1 FROM login_known_address
  WHERE username_key = $1::text AND ip = $2::text AND last_success_at > now() - make_interval(days => $3::int)
) AS known;

-- name: known_address_upsert
-- $1 lower(username), $2 ip
INSERT INTO login_known_address (username_key, ip) VALUES ($1::text, $2::text)
ON CONFLICT (username_key, ip) DO UPDATE SET last_success_at = now();

-- name: known_addresses_prune
-- $1 days
DELETE FROM login_known_address WHERE last_success_at < now() - make_interval(days => $1::int);
