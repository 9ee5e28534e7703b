-- Homeroom schema v5 (SQLite): sign-in lockout after repeated failures.
ALTER TABLE staff_accounts ADD COLUMN failed_sign_ins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE staff_accounts ADD COLUMN locked_until TEXT NULL;
