-- Homeroom schema v18 (SQLite): student safety. Alerts raised by matched safety signals (one per device,
-- category and phrase while repeats keep coming), their evidence (the matched text in context, never a
-- signal that matched nothing), screenshots, each case's history and notes, and the district's
-- changes to the built-in lexicon.
CREATE TABLE safety_alerts (
    id TEXT NOT NULL PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    person_id TEXT NULL REFERENCES people (id) ON DELETE SET NULL,
    school_id TEXT NULL REFERENCES schools (id) ON DELETE SET NULL,
    category TEXT NOT NULL,
    phrase TEXT NOT NULL,
    severity TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    score REAL NOT NULL,
    status TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    assigned_to_id TEXT NULL,
    assigned_to_name TEXT NULL,
    escalated_at TEXT NULL,
    closed_at TEXT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ix_safety_alerts_group ON safety_alerts (device_id, category, phrase, last_seen_at);
CREATE INDEX ix_safety_alerts_queue ON safety_alerts (status, last_seen_at);
CREATE INDEX ix_safety_alerts_school ON safety_alerts (school_id, status);
CREATE INDEX ix_safety_alerts_person ON safety_alerts (person_id);

CREATE TABLE safety_evidence (
    id TEXT NOT NULL PRIMARY KEY,
    alert_id TEXT NOT NULL REFERENCES safety_alerts (id) ON DELETE CASCADE,
    occurred_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT NULL,
    excerpt TEXT NOT NULL,
    excerpt_start INTEGER NOT NULL,
    severity TEXT NOT NULL,
    score REAL NOT NULL,
    explanation_json TEXT NOT NULL,
    capture_id TEXT NULL
);
CREATE INDEX ix_safety_evidence_alert ON safety_evidence (alert_id, occurred_at);

CREATE TABLE safety_screenshots (
    id TEXT NOT NULL PRIMARY KEY,
    alert_id TEXT NOT NULL REFERENCES safety_alerts (id) ON DELETE CASCADE,
    evidence_id TEXT NULL REFERENCES safety_evidence (id) ON DELETE CASCADE,
    captured_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    format INTEGER NOT NULL,
    content BLOB NOT NULL
);
CREATE INDEX ix_safety_screenshots_alert ON safety_screenshots (alert_id);
CREATE INDEX ix_safety_screenshots_received ON safety_screenshots (received_at);

CREATE TABLE safety_case_events (
    id TEXT NOT NULL PRIMARY KEY,
    alert_id TEXT NOT NULL REFERENCES safety_alerts (id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NULL,
    text TEXT NULL
);
CREATE INDEX ix_safety_case_events_alert ON safety_case_events (alert_id, at);

CREATE TABLE safety_lexicon_adjustments (
    id TEXT NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL,
    phrase TEXT NOT NULL,
    category TEXT NULL,
    language TEXT NULL,
    weight REAL NULL,
    context TEXT NULL,
    factor REAL NULL,
    alert_id TEXT NULL REFERENCES safety_alerts (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
