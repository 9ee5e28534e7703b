-- Homeroom schema v7 (PostgreSQL): staff roles, and the roster person a staff account is (a teacher's classes).
ALTER TABLE staff_accounts ADD COLUMN role text NOT NULL DEFAULT 'districtAdmin';
ALTER TABLE staff_accounts ADD COLUMN person_id uuid NULL REFERENCES people (id) ON DELETE SET NULL;
