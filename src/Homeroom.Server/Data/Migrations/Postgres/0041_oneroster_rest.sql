-- Homeroom schema v41 (PostgreSQL): OneRoster REST sync. One connection to the district's OneRoster rostering
-- service (1.1 with OAuth 1.0a, 1.2 with OAuth 2 client credentials); its secret is stored encrypted with
-- the server's data-protection keys, never in plain text. Each sync is a row of oneroster_imports with
-- source 'rest' (uploads are 'upload'); a run that could not fetch the roster is 'failed'; note says why
-- an automatic apply stopped at the preview.
ALTER TABLE oneroster_imports ADD COLUMN source text NOT NULL DEFAULT 'upload';
ALTER TABLE oneroster_imports ADD COLUMN note text NULL;

CREATE TABLE oneroster_connections (
    id integer NOT NULL PRIMARY KEY,
    base_url text NOT NULL,
    version text NOT NULL,
    client_id text NOT NULL,
    protected_secret text NULL,
    token_url text NULL,
    scope text NULL,
    schedule_hours integer NULL,
    apply_automatically boolean NOT NULL,
    next_sync_at timestamptz NULL,
    last_sync_at timestamptz NULL,
    last_import_id uuid NULL,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL
);
