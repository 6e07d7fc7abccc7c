-- Accounts, sessions and the login limiter (issue 3).
-- Small tables: on Citus they are reference tables (no region_code).

CREATE TABLE app_user (
  id serial PRIMARY KEY,
  username text NOT NULL CHECK (length(username) BETWEEN 2 AND 40),
  display_name text NOT NULL DEFAULT '',
  role text NOT NULL CHECK (role IN ('admin', 'analyst', 'field', 'reviewer')),
  -- villages (村/社区 names) the user is limited to; NULL = all villages. Never an empty array.
  villages text[] CHECK (villages IS NULL OR cardinality(villages) > 0),
  -- scrypt$N$r$p$salt$hash (server/auth/password.ts)
  password_hash text NOT NULL,
  must_change_password boolean NOT NULL DEFAULT true,
  disabled boolean NOT NULL DEFAULT false,
  -- created with the synthetic sample town; known passwords
  is_demo boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz
);
-- usernames are unique ignoring case: 'Admin' and 'admin' are one account
CREATE UNIQUE INDEX app_user_username_key ON app_user (lower(username));

-- A login (browser cookie or API bearer token). Only the SHA-256 of the token is stored: a leaked
-- table (backup, dump) does not let anyone in.
CREATE TABLE user_session (
  token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  user_id int NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  -- sliding: pushed forward on use (server/auth/session.ts)
  expires_at timestamptz NOT NULL,
  user_agent text
);
CREATE INDEX user_session_user_idx ON user_session (user_id);
CREATE INDEX user_session_expires_idx ON user_session (expires_at);

-- Login attempts not (yet) known to have succeeded, for the limiter. In the database rather than in
-- memory so the limit holds across processes and restarts. A row is written before the password is
-- checked and removed when the login succeeds, so parallel guesses count too.
CREATE TABLE login_attempt (
  id bigserial PRIMARY KEY,
  username_key text NOT NULL,             -- lower(username) as typed, whether or not the account exists
  ip text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempt_key_idx ON login_attempt (username_key, ip, at);
CREATE INDEX login_attempt_ip_idx ON login_attempt (ip, at);
