-- Homeroom schema v37 (SQLite): policies follow the signed-in student on shared devices. A device marked
-- shared (a cart or lab device) takes the student its agent reports signed in (inventory.signedInUser) as
-- its person while they stay signed in: their grade, groups and classes, and activity and alerts are theirs.
-- signed_in_email and signed_in_user_id are what the agent reported (kept to tell a change from a repeat),
-- signed_in_person_id the student of the device's school it matched (null: nobody signed in, or no match),
-- signed_in_at since when. A 1:1 device (shared = 0) keeps these null.
ALTER TABLE devices ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN signed_in_email TEXT NULL;
ALTER TABLE devices ADD COLUMN signed_in_user_id TEXT NULL;
ALTER TABLE devices ADD COLUMN signed_in_person_id TEXT NULL REFERENCES people (id) ON DELETE SET NULL;
ALTER TABLE devices ADD COLUMN signed_in_at TEXT NULL;
CREATE INDEX ix_devices_signed_in_person ON devices (signed_in_person_id) WHERE signed_in_person_id IS NOT NULL;
-- The student signed in on a shared device when the event arrived (null on 1:1 devices: the device's
-- assigned person is the student). Not a foreign key: the activity table is written in bulk and pruned by age.
ALTER TABLE activity_events ADD COLUMN person_id TEXT NULL;
