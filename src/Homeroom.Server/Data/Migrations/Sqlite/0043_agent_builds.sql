-- Homeroom schema v43 (SQLite): desktop agent builds for self-update (issue 17). Each row is one uploaded program
-- file for one runtime (linux-x64, win-x64, osx-arm64, osx-x64), kept under data/agent-updates by its SHA-256, with
-- the server's signature of its manifest (ECDSA P-256 over runtime, version, SHA-256 and size). At most one build per
-- runtime is current (checked by the server): devices of that runtime running an older agent are offered it.
CREATE TABLE agent_builds (
    id TEXT NOT NULL PRIMARY KEY,
    rid TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    signature TEXT NOT NULL,
    is_current INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_agent_builds_version ON agent_builds (rid, version);
CREATE INDEX ix_agent_builds_sha256 ON agent_builds (sha256);
