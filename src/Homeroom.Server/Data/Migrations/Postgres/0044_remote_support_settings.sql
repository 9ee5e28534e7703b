-- Homeroom schema v44 (PostgreSQL): each school's remote support settings (issue 21): whether remote sessions may start on
-- its devices, whether the student must consent or is only told (for IT technicians and for district administrators),
-- and whether clipboard text may be sent. A school without a row uses the district's defaults (Homeroom:RemoteSupport).
-- One row per school at most, deleted with the school: nothing here grows with time.
CREATE TABLE remote_support_settings (
    school_id uuid NOT NULL PRIMARY KEY REFERENCES schools (id) ON DELETE CASCADE,
    sessions_allowed boolean NOT NULL,
    consent_required_for_technicians boolean NOT NULL,
    consent_required_for_district_admins boolean NOT NULL,
    clipboard_allowed boolean NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL
);
