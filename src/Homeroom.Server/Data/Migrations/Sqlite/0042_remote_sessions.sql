-- Homeroom schema v42 (SQLite): remote support sessions (issue 21): who viewed or controlled which device's screen, in
-- which mode, whether the student consented, when it started and ended and why, and how much was relayed. Kept for
-- Homeroom:RemoteSupport:Retention after the session ended (the audit log keeps its own start and end entries).
CREATE TABLE remote_sessions (
    id TEXT NOT NULL PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    school_id TEXT NULL,
    account_id TEXT NULL,
    technician_name TEXT NOT NULL,
    mode TEXT NOT NULL,
    consent_required INTEGER NOT NULL,
    consent TEXT NOT NULL,
    started_at TEXT NOT NULL,
    answered_at TEXT NULL,
    ended_at TEXT NULL,
    end_reason TEXT NULL,
    bytes_sent INTEGER NOT NULL,
    frames_sent INTEGER NOT NULL,
    input_events INTEGER NOT NULL
);
CREATE INDEX ix_remote_sessions_device ON remote_sessions (device_id, started_at);
CREATE INDEX ix_remote_sessions_ended ON remote_sessions (ended_at);
