-- Homeroom schema v18 (PostgreSQL): student safety. Alerts raised by matched safety signals (one per device,
-- category and phrase while repeats keep coming), their evidence (the matched text in context, never a
-- signal that matched nothing), screenshots, each case's history and notes, and the district's
-- changes to the built-in lexicon.
CREATE TABLE safety_alerts (
    id uuid NOT NULL PRIMARY KEY,
    device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    person_id uuid NULL REFERENCES people (id) ON DELETE SET NULL,
    school_id uuid NULL REFERENCES schools (id) ON DELETE SET NULL,
    category text NOT NULL,
    phrase text NOT NULL,
    severity text NOT NULL,
    severity_rank integer NOT NULL,
    score double precision NOT NULL,
    status text NOT NULL,
    count integer NOT NULL,
    first_seen_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    assigned_to_id uuid NULL,
    assigned_to_name text NULL,
    escalated_at timestamptz NULL,
    closed_at timestamptz NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX ix_safety_alerts_group ON safety_alerts (device_id, category, phrase, last_seen_at);
CREATE INDEX ix_safety_alerts_queue ON safety_alerts (status, last_seen_at);
CREATE INDEX ix_safety_alerts_school ON safety_alerts (school_id, status);
CREATE INDEX ix_safety_alerts_person ON safety_alerts (person_id);

CREATE TABLE safety_evidence (
    id uuid NOT NULL PRIMARY KEY,
    alert_id uuid NOT NULL REFERENCES safety_alerts (id) ON DELETE CASCADE,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    source text NOT NULL,
    url text NULL,
    excerpt text NOT NULL,
    excerpt_start integer NOT NULL,
    severity text NOT NULL,
    score double precision NOT NULL,
    explanation_json text NOT NULL,
    capture_id uuid NULL
);
CREATE INDEX ix_safety_evidence_alert ON safety_evidence (alert_id, occurred_at);

CREATE TABLE safety_screenshots (
    id uuid NOT NULL PRIMARY KEY,
    alert_id uuid NOT NULL REFERENCES safety_alerts (id) ON DELETE CASCADE,
    evidence_id uuid NULL REFERENCES safety_evidence (id) ON DELETE CASCADE,
    captured_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    format integer NOT NULL,
    content bytea NOT NULL
);
CREATE INDEX ix_safety_screenshots_alert ON safety_screenshots (alert_id);
CREATE INDEX ix_safety_screenshots_received ON safety_screenshots (received_at);

CREATE TABLE safety_case_events (
    id uuid NOT NULL PRIMARY KEY,
    alert_id uuid NOT NULL REFERENCES safety_alerts (id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    kind text NOT NULL,
    status text NULL,
    text text NULL
);
CREATE INDEX ix_safety_case_events_alert ON safety_case_events (alert_id, at);

CREATE TABLE safety_lexicon_adjustments (
    id uuid NOT NULL PRIMARY KEY,
    kind text NOT NULL,
    phrase text NOT NULL,
    category text NULL,
    language text NULL,
    weight double precision NULL,
    context text NULL,
    factor double precision NULL,
    alert_id uuid NULL REFERENCES safety_alerts (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL
);
