-- Homeroom schema v20 (PostgreSQL): what the insights reports need beyond existing tables. Classroom use
-- per class and UTC day (seconds of screen viewing, added when a view ends; classroom commands sent),
-- and the reports a district administrator has e-mailed weekly, with the last due time claimed so each
-- is sent once, across restarts and servers.
CREATE TABLE class_usage_days (
    group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    day date NOT NULL,
    viewed_seconds bigint NOT NULL DEFAULT 0,
    commands integer NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, day)
);
CREATE INDEX ix_class_usage_days_day ON class_usage_days (day);

CREATE TABLE report_schedules (
    id uuid NOT NULL PRIMARY KEY,
    name text NOT NULL,
    report text NOT NULL,
    filters_json text NOT NULL,
    day_of_week integer NOT NULL,
    hour integer NOT NULL,
    recipients text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_due_at timestamptz NULL,
    last_sent_at timestamptz NULL,
    last_succeeded boolean NULL,
    last_result text NULL
);
