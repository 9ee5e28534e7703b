-- Homeroom schema v28 (SQLite): Apple School Manager. One settings row (id 1) holding the server token
-- (automated device enrollment) and the content token (Apps and Books), each encrypted with the server's
-- data-protection keys and never returned, the enrollment token ADE devices enroll with (its secret
-- encrypted the same way), the enrollment profile defined at Apple and the sync cursor. And the devices
-- Apple School Manager assigned to this server, by serial number, with their profile status and the
-- last change Apple reported (op_type added, modified or deleted; deleted rows are purged after 30 days).
CREATE TABLE asm_settings (
    id INTEGER NOT NULL PRIMARY KEY,
    server_token TEXT NULL,
    server_token_expires_at TEXT NULL,
    server_token_uploaded_at TEXT NULL,
    content_token TEXT NULL,
    content_token_expires_at TEXT NULL,
    content_token_org TEXT NULL,
    content_token_uploaded_at TEXT NULL,
    enrollment_token_id TEXT NULL,
    enrollment_secret TEXT NULL,
    profile_uuid TEXT NULL,
    profile_hash TEXT NULL,
    cursor TEXT NULL,
    cursor_at TEXT NULL,
    last_sync_at TEXT NULL,
    last_sync_error TEXT NULL,
    licences_synced_at TEXT NULL
);

CREATE TABLE ade_devices (
    serial TEXT NOT NULL PRIMARY KEY,
    model TEXT NULL,
    description TEXT NULL,
    color TEXT NULL,
    device_family TEXT NULL,
    os TEXT NULL,
    profile_status TEXT NOT NULL,
    profile_uuid TEXT NULL,
    profile_assigned_at TEXT NULL,
    device_assigned_at TEXT NULL,
    op_type TEXT NOT NULL,
    op_date TEXT NULL,
    assign_error TEXT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ix_ade_devices_op_type ON ade_devices (op_type, updated_at);
