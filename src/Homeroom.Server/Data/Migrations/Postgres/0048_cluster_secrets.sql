-- Homeroom schema v48 (PostgreSQL): the secrets every node of a cluster shares (issue 19), so that any node reads the
-- cookies another signed and accepts the devices another enrolled. Data/ClusterSecrets.cs explains how they are kept.
-- data_protection_keys: the ASP.NET Core data-protection key ring, one row per key, each sealed (AES-256-GCM) with the
-- cluster key every node holds in data/keys/cluster.key, so a database dump alone does not give the keys away. Keys
-- are never deleted: what was protected with an old key (two-step secrets, stored secrets) must stay readable; the
-- ring grows by one key every 90 days.
CREATE TABLE data_protection_keys (
    name text NOT NULL PRIMARY KEY,
    sealed bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- cluster_secrets: the device CA, the script signing key, the push certificate and its waiting request, the Apple
-- School Manager key, each encrypted with the data-protection keys exactly as its file was (apple/device-ca.bin ...),
-- named by that file's path under the data directory. One row per name, created once (insert-if-absent): nothing here
-- grows with time.
CREATE TABLE cluster_secrets (
    name text NOT NULL PRIMARY KEY,
    value bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
