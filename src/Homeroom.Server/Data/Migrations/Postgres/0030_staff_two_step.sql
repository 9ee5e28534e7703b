-- Homeroom schema v30 (PostgreSQL): two-step sign-in for local staff accounts. The authenticator's
-- secret is stored encrypted by the server's data protection (never in the clear); the last time
-- step a code was accepted for is kept so one code signs in once; recovery codes are stored as
-- SHA-256 hashes, each usable once.
ALTER TABLE staff_accounts ADD COLUMN totp_secret text NULL;
ALTER TABLE staff_accounts ADD COLUMN totp_enabled_at timestamptz NULL;
ALTER TABLE staff_accounts ADD COLUMN totp_last_step bigint NULL;

CREATE TABLE staff_recovery_codes (
    id uuid NOT NULL PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
    code_hash text NOT NULL,
    created_at timestamptz NOT NULL,
    used_at timestamptz NULL
);

CREATE INDEX ix_staff_recovery_codes_account ON staff_recovery_codes (account_id);
