-- Homeroom schema v46 (SQLite): leases of once-per-cluster periodic jobs (issue 19). Before each run a job's node takes
-- or renews its lease (Hosting/Cluster/JobLeases.cs) and runs only while it holds it. On SQLite there is one node; the
-- table is used all the same. Times are ISO 8601 text in UTC, fixed width. One row per job name: nothing here grows
-- with time.
CREATE TABLE job_leases (
    name TEXT NOT NULL PRIMARY KEY,
    holder TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
