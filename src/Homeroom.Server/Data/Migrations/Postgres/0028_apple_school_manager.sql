-- Homeroom schema v28 (PostgreSQL): Apple School Manager. One settings row (id 1) holding the server token
-- (automated device enrollment) and the content token (Apps and Books), each encrypted with the server's
-- data-protection keys and never returned, the enrollment token ADE devices enroll with (its secret
-- encrypted the same way), the enrollment profile defined at Apple and the sync cursor. And the devices
-- Apple School Manager assigned to this server, by serial number, with their profile status and the
-- last change Apple reported (op_type added, modified or deleted; deleted rows are purged after 30 days).
CREATE TABLE asm_settings (
    id integer NOT NULL PRIMARY KEY,
    server_token text NULL,
    server_token_expires_at timestamptz NULL,
    server_token_uploaded_at timestamptz NULL,
    content_token text NULL,
    content_token_expires_at timestamptz NULL,
    content_token_org text NULL,
    content_token_uploaded_at timestamptz NULL,
    enrollment_token_id uuid NULL,
    enrollment_secret text NULL,
    profile_uuid text NULL,
    profile_hash text NULL,
    cursor text NULL,
    cursor_at timestamptz NULL,
    last_sync_at timestamptz NULL,
    last_sync_error text NULL,
    licences_synced_at timestamptz NULL
);

CREATE TABLE ade_devices (
    serial text NOT NULL PRIMARY KEY,
    model text NULL,
    description text NULL,
    color text NULL,
    device_family text NULL,
    os text NULL,
    profile_status text NOT NULL,
    profile_uuid text NULL,
    profile_assigned_at timestamptz NULL,
    device_assigned_at timestamptz NULL,
    op_type text NOT NULL,
    op_date timestamptz NULL,
    assign_error text NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX ix_ade_devices_op_type ON ade_devices (op_type, updated_at);
