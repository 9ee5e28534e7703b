-- Homeroom schema v12 (PostgreSQL): repair notes. A device swapped for a spare goes to repair with a
-- note saying why, who took it in and when, and which spare replaced it; the note is closed when
-- the repaired device returns to a spare pool. Notes go with their device.
CREATE TABLE device_repairs (
    id uuid NOT NULL PRIMARY KEY,
    device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    person_id uuid NULL REFERENCES people (id) ON DELETE SET NULL,
    replacement_device_id uuid NULL REFERENCES devices (id) ON DELETE SET NULL,
    reason text NOT NULL,
    reported_by_id uuid NULL,
    reported_by text NOT NULL,
    reported_at timestamptz NOT NULL,
    returned_at timestamptz NULL,
    returned_by text NULL
);

CREATE INDEX ix_device_repairs_device ON device_repairs (device_id, reported_at);
