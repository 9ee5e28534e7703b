-- Homeroom schema v46 (PostgreSQL): leases of once-per-cluster periodic jobs (issue 19). Before each run a job's node
-- takes or renews its lease (Hosting/Cluster/JobLeases.cs) in one conditional statement timed by the database's clock
-- (now()), and runs only while it holds it. One row per job name: nothing here grows with time.
CREATE TABLE job_leases (
    name text NOT NULL PRIMARY KEY,
    holder text NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
