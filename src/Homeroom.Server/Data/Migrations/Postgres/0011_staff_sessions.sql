-- Homeroom schema v11 (PostgreSQL): server-side staff sessions, revocable at once.
-- An account's security stamp changes whenever what it may do changes (disabled, role, school,
-- person, password); a session keeps the stamp it began with and stops working when they differ.
ALTER TABLE staff_accounts ADD COLUMN security_stamp text NOT NULL DEFAULT '';
UPDATE staff_accounts SET security_stamp = replace(gen_random_uuid()::text, '-', '');

-- Sign-in is throttled per account name and client address in memory now; the account-wide
-- lockout (any stranger could lock out any account) is gone with its columns.
ALTER TABLE staff_accounts DROP COLUMN failed_sign_ins;
ALTER TABLE staff_accounts DROP COLUMN locked_until;

CREATE TABLE staff_sessions (
    id uuid NOT NULL PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE,
    security_stamp text NOT NULL,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    remote_address text NULL,
    user_agent text NULL,
    revoked_at timestamptz NULL
);

CREATE INDEX ix_staff_sessions_account ON staff_sessions (account_id);
CREATE INDEX ix_staff_sessions_expires_at ON staff_sessions (expires_at);
