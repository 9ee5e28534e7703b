-- Homeroom schema v55 (SQLite): district-wide settings staff change in the console, one row per name (the district
-- row itself exists only in the demo). First: diagnostics.sites, the sites every diagnostics report tests (https URLs
-- separated by one space; no row: the configuration's Homeroom:Diagnostics:Sites). A handful of names: it does not grow.
CREATE TABLE district_settings (
    name TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
