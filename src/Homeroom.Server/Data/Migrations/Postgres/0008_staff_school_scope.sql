-- Homeroom schema v8 (PostgreSQL): the school a staff account is limited to (null: the whole district).
ALTER TABLE staff_accounts ADD COLUMN school_id uuid NULL REFERENCES schools (id) ON DELETE SET NULL;
