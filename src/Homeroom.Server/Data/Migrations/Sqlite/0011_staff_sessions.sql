-- Homeroom schema v11 (SQLite): server-side staff sessions, revocable at once.
-- An account's security stamp changes whenever what it may do changes (disabled, role, school,
-- person, password); a session keeps the stamp it began with and stops working when they differ.
ALTER TABLE staff_accounts ADD COLUMN security_stamp TEXT NOT NULL DEFAULT '';
UPDATE staff_accounts SET security_stamp = lower(hex(randomblob(16)));

-- Sign-in is throttled per account name and client address in memory now; the account-wide
-- lockout (any stranger could lock out any account) is gone with its columns.
ALTER TABLE staff_accounts DROP COLUMN failed_sign_ins;
ALTER TABLE staff_accounts DROP COLUMN locked_until;

CREATE TABLE staff_sessions (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    security_stamp TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    remote_address TEXT NULL,
    user_agent TEXT NULL,
    revoked_at TEXT NULL
);

CREATE INDEX ix_staff_sessions_account ON staff_sessions (account_id);
CREATE INDEX ix_staff_sessions_expires_at ON staff_sessions (expires_at);
