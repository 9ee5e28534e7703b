-- Homeroom schema v48 (SQLite): nothing changes. On PostgreSQL this version adds the tables in which the nodes of a
-- cluster share their data-protection keys and secrets (issue 19); a SQLite server is one node and keeps them as files
-- in its data directory (keys/, apple/, scripts/) as before. The number is kept so both providers count alike.
SELECT 1;
