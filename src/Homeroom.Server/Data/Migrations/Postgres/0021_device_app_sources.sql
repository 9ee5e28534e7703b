-- Homeroom schema v21 (PostgreSQL): a device's installed apps come from more than one source: the
-- operating system's own list ('device': an agent's inventory frame, Apple MDM's
-- InstalledApplicationList) and the Chrome extension's snapshot of Chrome extensions and apps
-- ('chrome', from app.inventory activity events). Each source replaces only its own rows.
-- reported_at is when the snapshot was taken, so an older snapshot never replaces a newer one.
ALTER TABLE device_apps ADD COLUMN source text NOT NULL DEFAULT 'device';
ALTER TABLE device_apps ADD COLUMN reported_at timestamp with time zone NULL;
ALTER TABLE device_apps DROP CONSTRAINT device_apps_pkey;
ALTER TABLE device_apps ADD PRIMARY KEY (device_id, source, app_id);
