-- Homeroom schema v15 (SQLite): the note staff write when they acknowledge an alert (what they did about it).
ALTER TABLE alerts ADD COLUMN acknowledgement_note TEXT NULL;
