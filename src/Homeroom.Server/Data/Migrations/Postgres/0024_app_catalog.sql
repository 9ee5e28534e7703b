-- Homeroom schema v24 (PostgreSQL): the app catalog and app assignments. One entry per app with its
-- identity on each platform (each unique where given), and the assignments of apps to the district,
-- a school, a grade, a group or a device (one per app and target) with what they ask: available,
-- required, disabled or blocked.
CREATE TABLE apps (
    id uuid NOT NULL PRIMARY KEY,
    name text NOT NULL UNIQUE,
    category text NOT NULL,
    icon_url text NULL,
    chrome_extension_id text NULL,
    web_app_url text NULL,
    apple_adam_id text NULL,
    apple_bundle_id text NULL,
    windows_package_id text NULL,
    android_package text NULL,
    licenses_purchased integer NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX ux_apps_chrome_extension_id ON apps (chrome_extension_id) WHERE chrome_extension_id IS NOT NULL;
CREATE UNIQUE INDEX ux_apps_apple_bundle_id ON apps (apple_bundle_id) WHERE apple_bundle_id IS NOT NULL;
CREATE UNIQUE INDEX ux_apps_windows_package_id ON apps (windows_package_id) WHERE windows_package_id IS NOT NULL;

CREATE TABLE app_assignments (
    id uuid NOT NULL PRIMARY KEY,
    app_id uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    intent text NOT NULL,
    level integer NOT NULL,
    scope_key text NULL,
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX ux_app_assignments_target ON app_assignments (app_id, level, COALESCE(scope_key, ''));
