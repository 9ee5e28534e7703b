-- Homeroom schema v44 (SQLite): each school's remote support settings (issue 21): whether remote sessions may start on
-- its devices, whether the student must consent or is only told (for IT technicians and for district administrators),
-- and whether clipboard text may be sent. A school without a row uses the district's defaults (Homeroom:RemoteSupport).
-- One row per school at most, deleted with the school: nothing here grows with time.
CREATE TABLE remote_support_settings (
    school_id TEXT NOT NULL PRIMARY KEY REFERENCES schools (id) ON DELETE CASCADE,
    sessions_allowed INTEGER NOT NULL,
    consent_required_for_technicians INTEGER NOT NULL,
    consent_required_for_district_admins INTEGER NOT NULL,
    clipboard_allowed INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
