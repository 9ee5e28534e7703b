-- Homeroom schema v58 (PostgreSQL): staff notifications across the nodes of a cluster (issue 19). A notification a node
-- raises, updates or resolves (an out-of-bounds or safety alert, a help request, an agent that stopped) is shown on
-- that node's open console pages and written here with an 'n' notice on the backplane channel in the same
-- transaction; the other nodes read the rows the notice names and show them on their own pages
-- (Notifications/ClusterNotifications.cs). E-mail and webhooks stay the raising node's. Rows are only for that hand-over:
-- each write deletes those older than ten minutes, so the table holds a few minutes of notifications. UNLOGGED: a
-- notification lost in a database crash was live only anyway.
CREATE UNLOGGED TABLE cluster_notifications (
    id uuid NOT NULL PRIMARY KEY,
    node text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX ix_cluster_notifications_created_at ON cluster_notifications (created_at);
