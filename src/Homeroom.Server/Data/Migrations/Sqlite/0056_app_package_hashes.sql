-- Homeroom schema v56 (SQLite): which Mac package a device's status row is about (docs/apps.md, "Updates"). package_sha256
-- is the SHA-256 of the catalog package the row's last install command carried; installed_sha256 the one the device
-- confirmed installing. A required Mac package whose catalog SHA-256 differs from installed_sha256 is installed again.
-- Rows already installed on Macs that run the desktop agent took the catalog's package as it is now.
ALTER TABLE app_device_status ADD COLUMN package_sha256 TEXT NULL;
ALTER TABLE app_device_status ADD COLUMN installed_sha256 TEXT NULL;

UPDATE app_device_status
SET package_sha256 = (SELECT a.mac_package_sha256 FROM apps a WHERE a.id = app_device_status.app_id),
    installed_sha256 = (SELECT a.mac_package_sha256 FROM apps a WHERE a.id = app_device_status.app_id)
WHERE state = 'installed'
  AND app_id IN (SELECT id FROM apps WHERE mac_package_sha256 IS NOT NULL)
  AND device_id IN (SELECT id FROM devices WHERE platform = 'macos')
  AND device_id NOT IN (SELECT device_id FROM apple_devices WHERE checked_out_at IS NULL);
