-- Homeroom schema v61 (PostgreSQL): each device's newest connection in a cluster (issue 19), so a node whose listener
-- missed a connect notice (PostgreSQL restarted, its listening connection was terminated, it dropped notices it could
-- not keep up with) still closes its older connection of the device. A node writes a device's row when the device
-- connects to it, in the same transaction as its 'c' notice on the backplane channel (Hosting/Cluster/BackplanePublisher.cs),
-- batched with the other connections of the moment. Two nodes writing one device take the row in turn, so it ends
-- naming the connection committed last: the one whose notice every node hears last. Each node's sweep reads the rows of
-- the devices connected to it (Hosting/Cluster/BackplaneListener.cs) and closes, with 4409, those whose row it wrote and
-- that now name another node. One row per device ever connected to a node of the cluster (gone with the device): it
-- does not grow with time; a row left by a node that died names that node's last connection and is overwritten by the
-- device's next one. UNLOGGED: no WAL for a connect storm's upserts; after a PostgreSQL crash the table starts empty
-- and only connections announced after it are caught up this way (the notices work as before).
CREATE UNLOGGED TABLE cluster_connections (
    device_id uuid NOT NULL PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    node text NOT NULL,
    connection bigint NOT NULL,
    connected_at timestamptz NOT NULL
);
