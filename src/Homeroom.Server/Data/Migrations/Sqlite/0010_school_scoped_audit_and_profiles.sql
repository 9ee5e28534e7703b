-- Homeroom schema v10 (SQLite): the school an audit entry concerns (so a school's administrators read
-- their school's log) and the school a profile belongs to (null: a district profile).
ALTER TABLE audit_log ADD COLUMN school_id TEXT NULL;
CREATE INDEX ix_audit_log_school ON audit_log (school_id, id);
ALTER TABLE profiles ADD COLUMN school_id TEXT NULL REFERENCES schools (id) ON DELETE CASCADE;
