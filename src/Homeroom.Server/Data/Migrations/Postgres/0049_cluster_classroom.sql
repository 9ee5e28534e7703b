-- Homeroom schema v49 (PostgreSQL): the teacher's live classroom across the nodes of a cluster (issue 19). Each node
-- keeps its own devices' facts in memory as before; these tables are how the other nodes read them. The backplane's
-- notices (v, t, l on channel homeroom_devices) say what changed; Classroom/ScreenViewStore.cs and
-- Devices/ClusterDeviceState.cs read and write them. A SQLite server is one node and has none of them.
-- screen_views: which devices a class watches now, by whom, since and until when. One row per watched device; rows
-- are deleted when the view stops or its session ends (each node's one-second tick deletes the expired ones).
CREATE TABLE screen_views (
    device_id uuid NOT NULL PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    viewer_name text NOT NULL,
    started_at timestamptz NOT NULL,
    until timestamptz NOT NULL
);
CREATE INDEX ix_screen_views_group_id ON screen_views (group_id);
-- screen_thumbnails: the newest screen image of each watched device, as the device sent it (never decoded), written
-- by the node the device is connected to at most once a second. At most one row per device; deleted with the view.
-- UNLOGGED: a lost image after a database crash is replaced by the next one a second later.
CREATE UNLOGGED TABLE screen_thumbnails (
    device_id uuid NOT NULL PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    format smallint NOT NULL,
    captured_at timestamptz NOT NULL,
    image bytea NOT NULL
);
-- device_live: what the console shows live about each device connected to some node (online, locked, focus, current
-- page, last classroom command), written by that node when it changes (coalesced, at most every 250 ms). One row per
-- device that was ever connected to a node of the cluster (gone with the device): it does not grow with time. Other nodes trust a row only
-- while they hear its node's heartbeat.
CREATE UNLOGGED TABLE device_live (
    device_id uuid NOT NULL PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    node text NOT NULL,
    online boolean NOT NULL,
    locked boolean NOT NULL,
    focus_sites text NULL,
    current_url text NULL,
    current_title text NULL,
    last_command text NULL,
    changed_at timestamptz NOT NULL
);
