-- Homeroom schema v35 (PostgreSQL): device diagnostics reports. One row per report a device answered to a
-- `diagnose` command (an agent's diagnostics frame, or an Apple device's DeviceInformation answer), the
-- report as JSON (at most 64 KB, checked before it is stored). Only the newest few per device are kept
-- (Homeroom:Diagnostics:KeepPerDevice) and none older than the retention (Homeroom:Diagnostics:Retention).
CREATE TABLE device_diagnostics (
    id uuid NOT NULL PRIMARY KEY,
    device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    command_id uuid NOT NULL,
    source text NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    failed_checks integer NOT NULL,
    report_json text NOT NULL
);
CREATE UNIQUE INDEX ux_device_diagnostics_command ON device_diagnostics (device_id, command_id);
CREATE INDEX ix_device_diagnostics_device ON device_diagnostics (device_id, received_at);
CREATE INDEX ix_device_diagnostics_received ON device_diagnostics (received_at);
