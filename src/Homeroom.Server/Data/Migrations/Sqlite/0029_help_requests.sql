-- Homeroom schema v29 (SQLite): help requests from students. One row per press of "I need help" (the
-- agent's request id makes a resend harmless), routed to the teacher of the class in session or to the
-- school's IT queue; the screenshot the student chose to attach, apart so lists never read it; and each
-- request's thread (notes and every change of status or assignment).
CREATE TABLE help_requests (
    id TEXT NOT NULL PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    person_id TEXT NULL REFERENCES people (id) ON DELETE SET NULL,
    school_id TEXT NULL REFERENCES schools (id) ON DELETE SET NULL,
    group_id TEXT NULL REFERENCES groups (id) ON DELETE SET NULL,
    note TEXT NULL,
    has_screenshot INTEGER NOT NULL,
    status TEXT NOT NULL,
    assigned_to_id TEXT NULL,
    assigned_to_name TEXT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    resolved_at TEXT NULL
);
CREATE UNIQUE INDEX ux_help_requests_client ON help_requests (device_id, client_id);
CREATE INDEX ix_help_requests_queue ON help_requests (school_id, status, created_at);
CREATE INDEX ix_help_requests_class ON help_requests (group_id, status);
CREATE INDEX ix_help_requests_resolved ON help_requests (resolved_at);

CREATE TABLE help_screenshots (
    request_id TEXT NOT NULL PRIMARY KEY REFERENCES help_requests (id) ON DELETE CASCADE,
    content BLOB NOT NULL
);

CREATE TABLE help_request_events (
    id TEXT NOT NULL PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES help_requests (id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NULL,
    text TEXT NULL
);
CREATE INDEX ix_help_request_events_request ON help_request_events (request_id, at);
