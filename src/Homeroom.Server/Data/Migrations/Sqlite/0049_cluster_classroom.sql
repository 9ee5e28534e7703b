-- Homeroom schema v49 (SQLite): nothing changes. On PostgreSQL this version adds the tables through which the nodes of
-- a cluster share the live classroom (screen views, thumbnails, live device state; issue 19); a SQLite server is one
-- node and keeps them in memory as before. The number is kept so both providers count alike.
SELECT 1;
