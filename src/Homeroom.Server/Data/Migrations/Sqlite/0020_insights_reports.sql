-- Homeroom schema v20 (SQLite): what the insights reports need beyond existing tables. Classroom use per
-- class and UTC day (seconds of screen viewing, added when a view ends; classroom commands sent), and
-- the reports a district administrator has e-mailed weekly, with the last due time claimed so each is
-- sent once, across restarts and servers.
CREATE TABLE class_usage_days (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    viewed_seconds INTEGER NOT NULL DEFAULT 0,
    commands INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, day)
);
CREATE INDEX ix_class_usage_days_day ON class_usage_days (day);

CREATE TABLE report_schedules (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    report TEXT NOT NULL,
    filters_json TEXT NOT NULL,
    day_of_week INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    recipients TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_due_at TEXT NULL,
    last_sent_at TEXT NULL,
    last_succeeded INTEGER NULL,
    last_result TEXT NULL
);
