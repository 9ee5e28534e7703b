-- Homeroom schema v45 (Postgres): no change in this branch. The number is the file transfer work's (issue 21), built in
-- parallel; versions run without gaps, so until that branch's 0045 is merged this empty step stands in for it.
-- When merging, keep the other branch's 0045 and delete this file.
SELECT 1;
