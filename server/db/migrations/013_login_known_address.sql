-- Addresses each account has logged in from successfully (issue 12 item 8, server/auth/limiter.ts).
-- The login limiter backs off per account across addresses (many wrong passwords for one account from
-- many addresses); the owner, logging in from an address that has worked for this account before, is
-- let through that backoff (still under the per-address limit), so an attacker cannot lock them out.
-- Kept KNOWN_ADDRESS_DAYS after the last success; pruned with the attempts.
CREATE TABLE login_known_address (
  username_key text NOT NULL,             -- as in login_attempt: lower(username) as typed
  ip text NOT NULL,
  last_success_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (username_key, ip)
);
CREATE INDEX login_known_address_last_idx ON login_known_address (last_success_at);
