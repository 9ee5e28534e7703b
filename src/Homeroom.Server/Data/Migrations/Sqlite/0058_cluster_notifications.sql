-- Homeroom schema v58 (SQLite): nothing changes. On PostgreSQL this version adds the table through which the nodes of a
-- cluster show each other's staff notifications on their open console pages; a SQLite server is one node. The number
-- is kept so both providers count alike.
SELECT 1;
