-- Homeroom schema v30 (SQLite): two-step sign-in for local staff accounts. The authenticator's
-- secret is stored encrypted by the server's data protection (never in the clear); the last time
-- step a code was accepted for is kept so one code signs in once; recovery codes are stored as
-- SHA-256 hashes, each usable once.
ALTER TABLE staff_accounts ADD COLUMN totp_secret TEXT NULL;
ALTER TABLE staff_accounts ADD COLUMN totp_enabled_at TEXT NULL;
ALTER TABLE staff_accounts ADD COLUMN totp_last_step INTEGER NULL;

CREATE TABLE staff_recovery_codes (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at TEXT NULL
);

CREATE INDEX ix_staff_recovery_codes_account ON staff_recovery_codes (account_id);
