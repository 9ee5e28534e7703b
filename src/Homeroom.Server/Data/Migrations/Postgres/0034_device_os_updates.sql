-- Homeroom schema v34 (PostgreSQL): the OS update status a desktop agent reports in its inventory (docs/updates.md):
-- pending and security counts, whether a restart is due, when it last checked and how its last install went.
-- One row per device, replaced by each report and deleted with the device: it does not grow with time.
CREATE TABLE device_os_updates (
    device_id uuid NOT NULL PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    pending integer NOT NULL,
    security integer NOT NULL,
    reboot_required boolean NOT NULL,
    checked_at timestamptz NULL,
    last_install_at timestamptz NULL,
    last_install_ok boolean NULL,
    last_install_result text NULL,
    error text NULL,
    reported_at timestamptz NOT NULL
);
