-- Homeroom schema v51 (SQLite): nothing changes. On PostgreSQL this version adds the table in which the nodes of a
-- cluster share the desktop agent builds' program files (issue 19); a SQLite server is one node and keeps them as files
-- in its data directory (agent-updates/) as before. The number is kept so both providers count alike.
SELECT 1;
