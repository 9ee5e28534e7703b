-- Homeroom schema v4 (PostgreSQL): Apple devices managed through Apple's MDM protocol.
CREATE TABLE apple_devices (
    device_id uuid NOT NULL PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    udid text NOT NULL UNIQUE,
    identity_thumbprint text NOT NULL,
    topic text NULL,
    push_magic text NULL,
    push_token text NULL,
    supervised boolean NOT NULL DEFAULT false,
    enrolled_at timestamptz NOT NULL,
    last_checkin_at timestamptz NULL,
    last_poll_at timestamptz NULL,
    checked_out_at timestamptz NULL,
    ddm_status text NULL,
    ddm_status_at timestamptz NULL
);

CREATE TABLE apple_wallpapers (
    id uuid NOT NULL PRIMARY KEY,
    name text NOT NULL,
    content_type text NOT NULL,
    content bytea NOT NULL,
    created_at timestamptz NOT NULL
);
