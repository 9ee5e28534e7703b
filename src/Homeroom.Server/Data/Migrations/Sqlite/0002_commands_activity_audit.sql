-- Homeroom schema v2 (SQLite): durable commands, activity events, audit log.
CREATE TABLE commands (
    id TEXT NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL,
    arguments_json TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NULL,
    target_count INTEGER NOT NULL,
    issued_by TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX ix_commands_issued_at ON commands (issued_at);

CREATE TABLE command_deliveries (
    command_id TEXT NOT NULL REFERENCES commands (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    status INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    error TEXT NULL,
    result TEXT NULL,
    PRIMARY KEY (command_id, device_id)
);
CREATE INDEX ix_command_deliveries_device ON command_deliveries (device_id, status);

CREATE TABLE activity_events (
    id INTEGER NOT NULL PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    occurred_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    url TEXT NULL,
    title TEXT NULL,
    app_id TEXT NULL,
    duration_seconds INTEGER NULL,
    detail TEXT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX ix_activity_events_occurred_at ON activity_events (occurred_at);

CREATE TABLE audit_log (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor_id TEXT NULL,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NULL,
    target_id TEXT NULL,
    details TEXT NULL,
    remote_address TEXT NULL
);
CREATE INDEX ix_audit_log_at ON audit_log (at);
