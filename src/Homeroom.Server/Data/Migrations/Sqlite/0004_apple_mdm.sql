-- Homeroom schema v4 (SQLite): Apple devices managed through Apple's MDM protocol.
CREATE TABLE apple_devices (
    device_id TEXT NOT NULL PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    udid TEXT NOT NULL UNIQUE,
    identity_thumbprint TEXT NOT NULL,
    topic TEXT NULL,
    push_magic TEXT NULL,
    push_token TEXT NULL,
    supervised INTEGER NOT NULL DEFAULT 0,
    enrolled_at TEXT NOT NULL,
    last_checkin_at TEXT NULL,
    last_poll_at TEXT NULL,
    checked_out_at TEXT NULL,
    ddm_status TEXT NULL,
    ddm_status_at TEXT NULL
);

CREATE TABLE apple_wallpapers (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content BLOB NOT NULL,
    created_at TEXT NOT NULL
);
