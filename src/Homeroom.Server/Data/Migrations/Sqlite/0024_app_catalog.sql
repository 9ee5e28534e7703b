-- Homeroom schema v24 (SQLite): the app catalog and app assignments. One entry per app with its
-- identity on each platform (each unique where given), and the assignments of apps to the district,
-- a school, a grade, a group or a device (one per app and target) with what they ask: available,
-- required, disabled or blocked.
CREATE TABLE apps (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    category TEXT NOT NULL,
    icon_url TEXT NULL,
    chrome_extension_id TEXT NULL,
    web_app_url TEXT NULL,
    apple_adam_id TEXT NULL,
    apple_bundle_id TEXT NULL,
    windows_package_id TEXT NULL,
    android_package TEXT NULL,
    licenses_purchased INTEGER NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_apps_chrome_extension_id ON apps (chrome_extension_id) WHERE chrome_extension_id IS NOT NULL;
CREATE UNIQUE INDEX ux_apps_apple_bundle_id ON apps (apple_bundle_id) WHERE apple_bundle_id IS NOT NULL;
CREATE UNIQUE INDEX ux_apps_windows_package_id ON apps (windows_package_id) WHERE windows_package_id IS NOT NULL;

CREATE TABLE app_assignments (
    id TEXT NOT NULL PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    intent TEXT NOT NULL,
    level INTEGER NOT NULL,
    scope_key TEXT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_app_assignments_target ON app_assignments (app_id, level, COALESCE(scope_key, ''));
