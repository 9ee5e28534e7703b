-- Homeroom schema v54 (SQLite): a catalog entry's Mac package, which the desktop agent installs on Macs (docs/apps.md):
-- its receipt id (pkgutil's package id), the https URL and SHA-256 it is downloaded and checked by, and optionally the
-- app bundle it installs and that bundle's id. One entry per package id, as for the other identities.
ALTER TABLE apps ADD COLUMN mac_package_id TEXT NULL;
ALTER TABLE apps ADD COLUMN mac_package_url TEXT NULL;
ALTER TABLE apps ADD COLUMN mac_package_sha256 TEXT NULL;
ALTER TABLE apps ADD COLUMN mac_app_path TEXT NULL;
ALTER TABLE apps ADD COLUMN mac_app_bundle_id TEXT NULL;

CREATE UNIQUE INDEX ux_apps_mac_package_id ON apps (mac_package_id) WHERE mac_package_id IS NOT NULL;
