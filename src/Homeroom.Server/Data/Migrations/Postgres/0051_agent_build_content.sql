-- Homeroom schema v51 (PostgreSQL): the desktop agent builds' program files in the database (issue 19), so a build
-- uploaded through one node of a cluster is downloaded through any other. SelfUpdates/AgentBuildContent.cs writes and
-- reads them. A SQLite server is one node and keeps them as files (data/agent-updates/<sha256>) as before.
-- agent_build_content: each distinct file (by SHA-256, shared by the builds that are the same file) in chunks of 1 MiB,
-- numbered from 0, written while the upload streams in (under a temporary name until the file is checked and hashed,
-- in one transaction, so a refused or broken upload leaves nothing) and read one chunk at a time by a download. Deleted
-- with the last build that is the file: it grows only with the builds an administrator keeps.
CREATE TABLE agent_build_content (
    sha256 text NOT NULL,
    seq integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (sha256, seq)
);
-- The chunks are already compressed or incompressible program code: stored as they are, outside the row.
ALTER TABLE agent_build_content ALTER COLUMN data SET STORAGE EXTERNAL;
