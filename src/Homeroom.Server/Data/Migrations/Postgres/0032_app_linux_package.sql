-- Homeroom schema v32 (PostgreSQL): a catalog entry's Debian package name, which the desktop agent installs
-- and removes on Linux (docs/apps.md). One entry per package name, as for the other identities.
ALTER TABLE apps ADD COLUMN linux_package text NULL;

CREATE UNIQUE INDEX ux_apps_linux_package ON apps (linux_package) WHERE linux_package IS NOT NULL;
