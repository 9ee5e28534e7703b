-- Homeroom schema v8 (SQLite): the school a staff account is limited to (null: the whole district).
ALTER TABLE staff_accounts ADD COLUMN school_id TEXT NULL REFERENCES schools (id) ON DELETE SET NULL;
