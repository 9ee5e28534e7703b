-- Homeroom schema v61 (SQLite): nothing changes. On PostgreSQL this version adds the table through which the nodes of a
-- cluster find the devices that connected to another node while they were not listening; a SQLite server is one node.
-- The number is kept so both providers count alike.
SELECT 1;
