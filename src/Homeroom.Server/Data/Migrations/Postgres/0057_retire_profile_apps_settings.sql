-- Homeroom schema v57 (PostgreSQL): the apps.* profile settings (required, blocked, disabled and allowed apps as
-- platform:id lists) are retired: they were validated and never acted on, and the app catalog's assignments do that
-- work. Stored profiles lose their "apps" group; every other setting is kept as it was.
UPDATE profiles
SET settings_json = (settings_json::jsonb - 'apps')::text
WHERE settings_json::jsonb ? 'apps';
