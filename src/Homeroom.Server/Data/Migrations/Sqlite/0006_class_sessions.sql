-- Homeroom schema v6 (SQLite): class schedules and ad-hoc class sessions.
CREATE TABLE class_schedules (
    group_id TEXT NOT NULL PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
    schedule_json TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE class_sessions (
    id TEXT NOT NULL PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    started_by TEXT NOT NULL
);
CREATE INDEX ix_class_sessions_group ON class_sessions (group_id, ends_at);
