-- Homeroom schema v41 (SQLite): OneRoster REST sync. One connection to the district's OneRoster rostering
-- service (1.1 with OAuth 1.0a, 1.2 with OAuth 2 client credentials); its secret is stored encrypted with
-- the server's data-protection keys, never in plain text. Each sync is a row of oneroster_imports with
-- source 'rest' (uploads are 'upload'); a run that could not fetch the roster is 'failed'; note says why
-- an automatic apply stopped at the preview.
ALTER TABLE oneroster_imports ADD COLUMN source TEXT NOT NULL DEFAULT 'upload';
ALTER TABLE oneroster_imports ADD COLUMN note TEXT NULL;

CREATE TABLE oneroster_connections (
    id INTEGER NOT NULL PRIMARY KEY,
    base_url TEXT NOT NULL,
    version TEXT NOT NULL,
    client_id TEXT NOT NULL,
    protected_secret TEXT NULL,
    token_url TEXT NULL,
    scope TEXT NULL,
    schedule_hours INTEGER NULL,
    apply_automatically INTEGER NOT NULL,
    next_sync_at TEXT NULL,
    last_sync_at TEXT NULL,
    last_import_id TEXT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
