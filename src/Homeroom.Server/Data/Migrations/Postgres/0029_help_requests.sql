-- Homeroom schema v29 (PostgreSQL): help requests from students. One row per press of "I need help" (the
-- agent's request id makes a resend harmless), routed to the teacher of the class in session or to the
-- school's IT queue; the screenshot the student chose to attach, apart so lists never read it; and each
-- request's thread (notes and every change of status or assignment).
CREATE TABLE help_requests (
    id uuid NOT NULL PRIMARY KEY,
    device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    client_id uuid NOT NULL,
    person_id uuid NULL REFERENCES people (id) ON DELETE SET NULL,
    school_id uuid NULL REFERENCES schools (id) ON DELETE SET NULL,
    group_id uuid NULL REFERENCES groups (id) ON DELETE SET NULL,
    note text NULL,
    has_screenshot boolean NOT NULL,
    status text NOT NULL,
    assigned_to_id uuid NULL,
    assigned_to_name text NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    resolved_at timestamptz NULL
);
CREATE UNIQUE INDEX ux_help_requests_client ON help_requests (device_id, client_id);
CREATE INDEX ix_help_requests_queue ON help_requests (school_id, status, created_at);
CREATE INDEX ix_help_requests_class ON help_requests (group_id, status);
CREATE INDEX ix_help_requests_resolved ON help_requests (resolved_at);

CREATE TABLE help_screenshots (
    request_id uuid NOT NULL PRIMARY KEY REFERENCES help_requests (id) ON DELETE CASCADE,
    content bytea NOT NULL
);

CREATE TABLE help_request_events (
    id uuid NOT NULL PRIMARY KEY,
    request_id uuid NOT NULL REFERENCES help_requests (id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    kind text NOT NULL,
    status text NULL,
    text text NULL
);
CREATE INDEX ix_help_request_events_request ON help_request_events (request_id, at);
