-- Homeroom schema v7 (SQLite): staff roles, and the roster person a staff account is (a teacher's classes).
ALTER TABLE staff_accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'districtAdmin';
ALTER TABLE staff_accounts ADD COLUMN person_id TEXT NULL REFERENCES people (id) ON DELETE SET NULL;
