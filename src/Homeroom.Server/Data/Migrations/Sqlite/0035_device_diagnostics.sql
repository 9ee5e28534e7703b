-- Homeroom schema v35 (SQLite): device diagnostics reports. One row per report a device answered to a
-- `diagnose` command (an agent's diagnostics frame, or an Apple device's DeviceInformation answer), the
-- report as JSON (at most 64 KB, checked before it is stored). Only the newest few per device are kept
-- (Homeroom:Diagnostics:KeepPerDevice) and none older than the retention (Homeroom:Diagnostics:Retention).
CREATE TABLE device_diagnostics (
    id TEXT NOT NULL PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    command_id TEXT NOT NULL,
    source TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    failed_checks INTEGER NOT NULL,
    report_json TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_device_diagnostics_command ON device_diagnostics (device_id, command_id);
CREATE INDEX ix_device_diagnostics_device ON device_diagnostics (device_id, received_at);
CREATE INDEX ix_device_diagnostics_received ON device_diagnostics (received_at);
