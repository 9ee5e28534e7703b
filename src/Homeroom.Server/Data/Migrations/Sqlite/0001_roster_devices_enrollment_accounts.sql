-- Homeroom schema v1 (SQLite): organisation, devices, enrollment, staff accounts.
CREATE TABLE district (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE schools (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    code TEXT NULL UNIQUE,
    time_zone TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE groups (
    id TEXT NOT NULL PRIMARY KEY,
    school_id TEXT NULL REFERENCES schools (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    external_id TEXT NULL UNIQUE,
    grade_level INTEGER NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_groups_school ON groups (school_id, kind);

CREATE TABLE people (
    id TEXT NOT NULL PRIMARY KEY,
    school_id TEXT NULL REFERENCES schools (id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    external_id TEXT NULL UNIQUE,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    email TEXT NULL,
    grade_level INTEGER NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_people_school ON people (school_id, kind);
CREATE INDEX ix_people_name ON people (family_name, given_name);

CREATE TABLE devices (
    id TEXT NOT NULL PRIMARY KEY,
    school_id TEXT NULL REFERENCES schools (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    platform TEXT NOT NULL,
    serial TEXT NOT NULL,
    model TEXT NULL,
    manufacturer TEXT NULL,
    asset_tag TEXT NULL,
    os_name TEXT NULL,
    os_version TEXT NULL,
    agent_version TEXT NULL,
    assigned_person_id TEXT NULL REFERENCES people (id) ON DELETE SET NULL,
    state TEXT NOT NULL,
    enrolled_at TEXT NOT NULL,
    last_seen_at TEXT NULL,
    credential_hash TEXT NOT NULL,
    revoked_at TEXT NULL,
    enrollment_token_id TEXT NULL,
    battery_level INTEGER NULL,
    battery_charging INTEGER NULL,
    network_kind TEXT NULL,
    ip_address TEXT NULL,
    latitude REAL NULL,
    longitude REAL NULL,
    location_accuracy REAL NULL,
    location_at TEXT NULL,
    storage_total_bytes INTEGER NULL,
    storage_free_bytes INTEGER NULL,
    inventory_at TEXT NULL,
    policy_version_applied INTEGER NOT NULL DEFAULT 0,
    activity_seq INTEGER NOT NULL DEFAULT 0,
    UNIQUE (platform, serial)
);
CREATE INDEX ix_devices_school ON devices (school_id);
CREATE INDEX ix_devices_person ON devices (assigned_person_id);
CREATE INDEX ix_devices_last_seen ON devices (last_seen_at);
CREATE INDEX ix_devices_name ON devices (name);

CREATE TABLE device_apps (
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    app_id TEXT NOT NULL,
    name TEXT NULL,
    version TEXT NULL,
    PRIMARY KEY (device_id, app_id)
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, person_id)
);
CREATE INDEX ix_group_members_person ON group_members (person_id);

CREATE TABLE group_devices (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, device_id)
);
CREATE INDEX ix_group_devices_device ON group_devices (device_id);

CREATE TABLE enrollment_tokens (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    school_id TEXT NULL REFERENCES schools (id) ON DELETE CASCADE,
    group_id TEXT NULL REFERENCES groups (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL UNIQUE,
    secret_hint TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    max_uses INTEGER NULL,
    use_count INTEGER NOT NULL DEFAULT 0,
    revoked_at TEXT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE staff_accounts (
    id TEXT NOT NULL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT NULL,
    last_sign_in_at TEXT NULL
);

CREATE TABLE api_keys (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    key_prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT NULL
);
