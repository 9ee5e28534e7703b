-- Homeroom schema v20 (SQLite): insight rollups. Activity events are folded as they are stored, in
-- the same transaction, into compact aggregates that reports read instead of raw events: per local
-- day (in the device's school's zone) and per month, school, student grade (-1: none), platform,
-- kind, subject (a site's registrable host or an app id) and blocking category ('' for none), and
-- per day and class or group. Each row keeps seconds, events and a mergeable distinct-count sketch of
-- its students (Homeroom.Rules.Insights.DistinctSketch). Days are days since 1970-01-01, months
-- year * 12 + month - 1. A device of no school is filed under the empty GUID.
CREATE TABLE insight_daily (
    day INTEGER NOT NULL,
    school_id TEXT NOT NULL,
    grade INTEGER NOT NULL,
    platform TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    category TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (day, school_id, grade, platform, kind, subject, category)
) WITHOUT ROWID;

CREATE TABLE insight_monthly (
    month INTEGER NOT NULL,
    school_id TEXT NOT NULL,
    grade INTEGER NOT NULL,
    platform TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    category TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (month, school_id, grade, platform, kind, subject, category)
) WITHOUT ROWID;

CREATE TABLE insight_group_daily (
    day INTEGER NOT NULL,
    group_id TEXT NOT NULL,
    grade INTEGER NOT NULL,
    platform TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    category TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (group_id, day, grade, platform, kind, subject, category)
) WITHOUT ROWID;

-- The last local day each device used each app: "used in the last 30 days" and "never used".
CREATE TABLE insight_app_last_used (
    device_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    last_day INTEGER NOT NULL,
    PRIMARY KEY (device_id, app_id)
) WITHOUT ROWID;

-- How far the insight folder has folded activity_events (an id): rollups and this row commit together.
CREATE TABLE insight_fold_state (
    id INTEGER NOT NULL PRIMARY KEY,
    folded_through BIGINT NOT NULL
);
INSERT INTO insight_fold_state (id, folded_through) VALUES (1, 0);
