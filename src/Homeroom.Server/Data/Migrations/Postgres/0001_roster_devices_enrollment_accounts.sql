-- Homeroom schema v1 (PostgreSQL): organisation, devices, enrollment, staff accounts.
CREATE TABLE district (
    id uuid NOT NULL PRIMARY KEY,
    name text NOT NULL,
    time_zone text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE schools (
    id uuid NOT NULL PRIMARY KEY,
    name text NOT NULL,
    code text NULL UNIQUE,
    time_zone text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE groups (
    id uuid NOT NULL PRIMARY KEY,
    school_id uuid NULL REFERENCES schools (id) ON DELETE CASCADE,
    kind text NOT NULL,
    name text NOT NULL,
    external_id text NULL UNIQUE,
    grade_level integer NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX ix_groups_school ON groups (school_id, kind);

CREATE TABLE people (
    id uuid NOT NULL PRIMARY KEY,
    school_id uuid NULL REFERENCES schools (id) ON DELETE SET NULL,
    kind text NOT NULL,
    external_id text NULL UNIQUE,
    given_name text NOT NULL,
    family_name text NOT NULL,
    email text NULL,
    grade_level integer NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX ix_people_school ON people (school_id, kind);
CREATE INDEX ix_people_name ON people (family_name, given_name);

CREATE TABLE devices (
    id uuid NOT NULL PRIMARY KEY,
    school_id uuid NULL REFERENCES schools (id) ON DELETE SET NULL,
    name text NOT NULL,
    platform text NOT NULL,
    serial text NOT NULL,
    model text NULL,
    manufacturer text NULL,
    asset_tag text NULL,
    os_name text NULL,
    os_version text NULL,
    agent_version text NULL,
    assigned_person_id uuid NULL REFERENCES people (id) ON DELETE SET NULL,
    state text NOT NULL,
    enrolled_at timestamptz NOT NULL,
    last_seen_at timestamptz NULL,
    credential_hash text NOT NULL,
    revoked_at timestamptz NULL,
    enrollment_token_id uuid NULL,
    battery_level integer NULL,
    battery_charging boolean NULL,
    network_kind text NULL,
    ip_address text NULL,
    latitude double precision NULL,
    longitude double precision NULL,
    location_accuracy double precision NULL,
    location_at timestamptz NULL,
    storage_total_bytes bigint NULL,
    storage_free_bytes bigint NULL,
    inventory_at timestamptz NULL,
    policy_version_applied bigint NOT NULL DEFAULT 0,
    activity_seq bigint NOT NULL DEFAULT 0,
    UNIQUE (platform, serial)
);
CREATE INDEX ix_devices_school ON devices (school_id);
CREATE INDEX ix_devices_person ON devices (assigned_person_id);
CREATE INDEX ix_devices_last_seen ON devices (last_seen_at);
CREATE INDEX ix_devices_name ON devices (name);

CREATE TABLE device_apps (
    device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    app_id text NOT NULL,
    name text NULL,
    version text NULL,
    PRIMARY KEY (device_id, app_id)
);

CREATE TABLE group_members (
    group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    person_id uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, person_id)
);
CREATE INDEX ix_group_members_person ON group_members (person_id);

CREATE TABLE group_devices (
    group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, device_id)
);
CREATE INDEX ix_group_devices_device ON group_devices (device_id);

CREATE TABLE enrollment_tokens (
    id uuid NOT NULL PRIMARY KEY,
    name text NOT NULL,
    school_id uuid NULL REFERENCES schools (id) ON DELETE CASCADE,
    group_id uuid NULL REFERENCES groups (id) ON DELETE CASCADE,
    secret_hash text NOT NULL UNIQUE,
    secret_hint text NOT NULL,
    expires_at timestamptz NOT NULL,
    max_uses integer NULL,
    use_count integer NOT NULL DEFAULT 0,
    revoked_at timestamptz NULL,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL
);

CREATE TABLE staff_accounts (
    id uuid NOT NULL PRIMARY KEY,
    username text NOT NULL UNIQUE,
    display_name text NOT NULL,
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL,
    disabled_at timestamptz NULL,
    last_sign_in_at timestamptz NULL
);

CREATE TABLE api_keys (
    id uuid NOT NULL PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
    name text NOT NULL,
    key_hash text NOT NULL UNIQUE,
    key_prefix text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz NULL
);
