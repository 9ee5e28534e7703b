-- Homeroom schema v6 (PostgreSQL): class schedules and ad-hoc class sessions.
CREATE TABLE class_schedules (
    group_id uuid NOT NULL PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
    schedule_json text NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE class_sessions (
    id uuid NOT NULL PRIMARY KEY,
    group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    started_by text NOT NULL
);
CREATE INDEX ix_class_sessions_group ON class_sessions (group_id, ends_at);
