-- Homeroom schema v42 (PostgreSQL): remote support sessions (issue 21): who viewed or controlled which device's screen, in
-- which mode, whether the student consented, when it started and ended and why, and how much was relayed. Kept for
-- Homeroom:RemoteSupport:Retention after the session ended (the audit log keeps its own start and end entries).
CREATE TABLE remote_sessions (
    id uuid NOT NULL PRIMARY KEY,
    device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    school_id uuid NULL,
    account_id uuid NULL,
    technician_name text NOT NULL,
    mode text NOT NULL,
    consent_required boolean NOT NULL,
    consent text NOT NULL,
    started_at timestamptz NOT NULL,
    answered_at timestamptz NULL,
    ended_at timestamptz NULL,
    end_reason text NULL,
    bytes_sent bigint NOT NULL,
    frames_sent bigint NOT NULL,
    input_events bigint NOT NULL
);
CREATE INDEX ix_remote_sessions_device ON remote_sessions (device_id, started_at);
CREATE INDEX ix_remote_sessions_ended ON remote_sessions (ended_at);
