-- Homeroom schema v37 (SQLite): no change on this branch. The number belongs to work landing from another
-- branch (issue 18); versions run without gaps, so until it lands v37 is this empty step. When it lands,
-- its own script replaces this file.
SELECT 1;
