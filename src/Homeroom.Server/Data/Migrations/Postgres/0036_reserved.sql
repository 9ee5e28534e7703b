-- Homeroom schema v36 (PostgreSQL): no change on this branch. The number belongs to work landing from another
-- branch (issue 18); versions run without gaps, so until it lands v36 is this empty step. When it lands,
-- its own script replaces this file.
SELECT 1;
