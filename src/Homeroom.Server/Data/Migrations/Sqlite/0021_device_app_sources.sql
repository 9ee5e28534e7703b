-- Homeroom schema v21 (SQLite): a device's installed apps come from more than one source: the
-- operating system's own list ('device': an agent's inventory frame, Apple MDM's
-- InstalledApplicationList) and the Chrome extension's snapshot of Chrome extensions and apps
-- ('chrome', from app.inventory activity events). Each source replaces only its own rows.
-- reported_at is when the snapshot was taken, so an older snapshot never replaces a newer one.
CREATE TABLE device_apps_new (
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    source TEXT NOT NULL DEFAULT 'device',
    app_id TEXT NOT NULL,
    name TEXT NULL,
    version TEXT NULL,
    reported_at TEXT NULL,
    PRIMARY KEY (device_id, source, app_id)
);
INSERT INTO device_apps_new (device_id, source, app_id, name, version)
    SELECT device_id, 'device', app_id, name, version FROM device_apps;
DROP TABLE device_apps;
ALTER TABLE device_apps_new RENAME TO device_apps;
