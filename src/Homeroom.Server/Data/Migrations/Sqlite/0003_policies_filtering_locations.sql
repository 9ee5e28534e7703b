-- Homeroom schema v3 (SQLite): policy profiles and assignments, filter lists, zones, device
-- locations, alerts, and each device's policy version.
CREATE TABLE profiles (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NULL,
    settings_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE policy_assignments (
    id TEXT NOT NULL PRIMARY KEY,
    profile_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    level INTEGER NOT NULL,
    scope_key TEXT NULL,
    priority INTEGER NOT NULL,
    condition_json TEXT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_policy_assignments_profile ON policy_assignments (profile_id);

CREATE TABLE device_policies (
    device_id TEXT NOT NULL PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    hash TEXT NOT NULL,
    computed_at TEXT NOT NULL,
    reported_version INTEGER NOT NULL DEFAULT 0,
    reported_applied INTEGER NULL,
    reported_failures TEXT NULL,
    reported_at TEXT NULL
);

CREATE TABLE filter_lists (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    format TEXT NOT NULL,
    category TEXT NULL,
    content BLOB NOT NULL,
    content_bytes INTEGER NOT NULL,
    entries INTEGER NOT NULL,
    skipped_lines INTEGER NOT NULL,
    report_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE zones (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    school_id TEXT NULL REFERENCES schools (id) ON DELETE CASCADE,
    geometry_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE device_locations (
    id INTEGER NOT NULL PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL,
    accuracy_meters REAL NOT NULL
);
CREATE INDEX ix_device_locations_device_at ON device_locations (device_id, at);
CREATE INDEX ix_device_locations_at ON device_locations (at);

CREATE TABLE alerts (
    id TEXT NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    raised_at TEXT NOT NULL,
    cleared_at TEXT NULL,
    latitude REAL NULL,
    longitude REAL NULL,
    details TEXT NULL,
    acknowledged_by TEXT NULL,
    acknowledged_at TEXT NULL
);
CREATE INDEX ix_alerts_device ON alerts (device_id, kind, cleared_at);
CREATE INDEX ix_alerts_raised_at ON alerts (raised_at);
