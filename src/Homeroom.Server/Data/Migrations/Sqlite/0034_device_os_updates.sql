-- Homeroom schema v34 (SQLite): the OS update status a desktop agent reports in its inventory (docs/updates.md):
-- pending and security counts, whether a restart is due, when it last checked and how its last install went.
-- One row per device, replaced by each report and deleted with the device: it does not grow with time.
CREATE TABLE device_os_updates (
    device_id TEXT NOT NULL PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    pending INTEGER NOT NULL,
    security INTEGER NOT NULL,
    reboot_required INTEGER NOT NULL,
    checked_at TEXT NULL,
    last_install_at TEXT NULL,
    last_install_ok INTEGER NULL,
    last_install_result TEXT NULL,
    error TEXT NULL,
    reported_at TEXT NOT NULL
);
