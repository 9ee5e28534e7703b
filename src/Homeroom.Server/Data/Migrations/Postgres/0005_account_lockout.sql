-- Homeroom schema v5 (PostgreSQL): sign-in lockout after repeated failures.
ALTER TABLE staff_accounts ADD COLUMN failed_sign_ins integer NOT NULL DEFAULT 0;
ALTER TABLE staff_accounts ADD COLUMN locked_until timestamptz NULL;
