-- Homeroom schema v39 (PostgreSQL): approved remote scripts for desktops (issue 21). A script is district-wide; every edit
-- is a new version (name, description, platform, body, time limit) that a district administrator approves, and the
-- approval's signature (ECDSA P-256 over scriptId, version, platform, body SHA-256 and time limit) is kept with it.
-- Each device's result of a run (exit code, cut output) is one row of script_results, kept for a retention
-- (Homeroom:Scripts:Retention) and at most Homeroom:Scripts:KeepPerDevice per device.
CREATE TABLE scripts (
    id uuid NOT NULL PRIMARY KEY,
    latest_version integer NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE script_versions (
    script_id uuid NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    version integer NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    platform text NOT NULL,
    body text NOT NULL,
    sha256 text NOT NULL,
    time_limit_seconds integer NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    approved_by text NULL,
    approved_at timestamptz NULL,
    signature text NULL,
    PRIMARY KEY (script_id, version)
);
CREATE TABLE script_results (
    id uuid NOT NULL PRIMARY KEY,
    device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    command_id uuid NOT NULL,
    script_id uuid NOT NULL,
    version integer NOT NULL,
    script_name text NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    exit_code integer NULL,
    timed_out boolean NOT NULL,
    milliseconds integer NOT NULL,
    stdout text NOT NULL,
    stderr text NOT NULL,
    output_truncated boolean NOT NULL
);
CREATE UNIQUE INDEX ux_script_results_command ON script_results (device_id, command_id);
CREATE INDEX ix_script_results_device ON script_results (device_id, received_at);
CREATE INDEX ix_script_results_received ON script_results (received_at);
