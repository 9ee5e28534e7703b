-- Homeroom schema v36 (PostgreSQL): OneRoster CSV import. Schools, people and classes remember the OneRoster
-- sourcedId they were imported from, so a re-import updates them; people and groups the roster no longer
-- lists are archived (archived_at), never deleted, so their devices and history stay. An import is kept
-- as history (who, when, counts, outcome); its uploaded package only until it is applied or its preview
-- expires (Homeroom:OneRoster:PreviewLifetime).
ALTER TABLE schools ADD COLUMN sourced_id text NULL;
ALTER TABLE people ADD COLUMN sourced_id text NULL;
ALTER TABLE people ADD COLUMN archived_at timestamptz NULL;
ALTER TABLE groups ADD COLUMN sourced_id text NULL;
ALTER TABLE groups ADD COLUMN archived_at timestamptz NULL;
CREATE UNIQUE INDEX ux_schools_sourced_id ON schools (sourced_id);
CREATE UNIQUE INDEX ux_people_sourced_id ON people (sourced_id);
CREATE UNIQUE INDEX ux_groups_sourced_id ON groups (sourced_id);

CREATE TABLE oneroster_imports (
    id uuid NOT NULL PRIMARY KEY,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL,
    file_name text NULL,
    version text NULL,
    state text NOT NULL,
    expires_at timestamptz NOT NULL,
    applied_at timestamptz NULL,
    applied_by text NULL,
    fingerprint text NULL,
    error_count integer NOT NULL,
    preview_json text NOT NULL,
    package bytea NULL
);
CREATE INDEX ix_oneroster_imports_created ON oneroster_imports (created_at);
