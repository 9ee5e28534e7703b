-- Homeroom schema v39 (SQLite): approved remote scripts for desktops (issue 21). A script is district-wide; every edit
-- is a new version (name, description, platform, body, time limit) that a district administrator approves, and the
-- approval's signature (ECDSA P-256 over scriptId, version, platform, body SHA-256 and time limit) is kept with it.
-- Each device's result of a run (exit code, cut output) is one row of script_results, kept for a retention
-- (Homeroom:Scripts:Retention) and at most Homeroom:Scripts:KeepPerDevice per device.
CREATE TABLE scripts (
    id TEXT NOT NULL PRIMARY KEY,
    latest_version INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE script_versions (
    script_id TEXT NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    platform TEXT NOT NULL,
    body TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    time_limit_seconds INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    approved_by TEXT NULL,
    approved_at TEXT NULL,
    signature TEXT NULL,
    PRIMARY KEY (script_id, version)
);
CREATE TABLE script_results (
    id TEXT NOT NULL PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    command_id TEXT NOT NULL,
    script_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    script_name TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    exit_code INTEGER NULL,
    timed_out INTEGER NOT NULL,
    milliseconds INTEGER NOT NULL,
    stdout TEXT NOT NULL,
    stderr TEXT NOT NULL,
    output_truncated INTEGER NOT NULL
);
CREATE UNIQUE INDEX ux_script_results_command ON script_results (device_id, command_id);
CREATE INDEX ix_script_results_device ON script_results (device_id, received_at);
CREATE INDEX ix_script_results_received ON script_results (received_at);
