-- Homeroom schema v12 (SQLite): repair notes. A device swapped for a spare goes to repair with a
-- note saying why, who took it in and when, and which spare replaced it; the note is closed when
-- the repaired device returns to a spare pool. Notes go with their device.
CREATE TABLE device_repairs (
    id TEXT NOT NULL PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    person_id TEXT NULL REFERENCES people (id) ON DELETE SET NULL,
    replacement_device_id TEXT NULL REFERENCES devices (id) ON DELETE SET NULL,
    reason TEXT NOT NULL,
    reported_by_id TEXT NULL,
    reported_by TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    returned_at TEXT NULL,
    returned_by TEXT NULL
);

CREATE INDEX ix_device_repairs_device ON device_repairs (device_id, reported_at);
