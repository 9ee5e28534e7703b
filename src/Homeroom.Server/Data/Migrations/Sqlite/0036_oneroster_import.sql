-- Homeroom schema v36 (SQLite): OneRoster CSV import. Schools, people and classes remember the OneRoster
-- sourcedId they were imported from, so a re-import updates them; people and groups the roster no longer
-- lists are archived (archived_at), never deleted, so their devices and history stay. An import is kept
-- as history (who, when, counts, outcome); its uploaded package only until it is applied or its preview
-- expires (Homeroom:OneRoster:PreviewLifetime).
ALTER TABLE schools ADD COLUMN sourced_id TEXT NULL;
ALTER TABLE people ADD COLUMN sourced_id TEXT NULL;
ALTER TABLE people ADD COLUMN archived_at TEXT NULL;
ALTER TABLE groups ADD COLUMN sourced_id TEXT NULL;
ALTER TABLE groups ADD COLUMN archived_at TEXT NULL;
CREATE UNIQUE INDEX ux_schools_sourced_id ON schools (sourced_id);
CREATE UNIQUE INDEX ux_people_sourced_id ON people (sourced_id);
CREATE UNIQUE INDEX ux_groups_sourced_id ON groups (sourced_id);

CREATE TABLE oneroster_imports (
    id TEXT NOT NULL PRIMARY KEY,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    file_name TEXT NULL,
    version TEXT NULL,
    state TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    applied_at TEXT NULL,
    applied_by TEXT NULL,
    fingerprint TEXT NULL,
    error_count INTEGER NOT NULL,
    preview_json TEXT NOT NULL,
    package BLOB NULL
);
CREATE INDEX ix_oneroster_imports_created ON oneroster_imports (created_at);
