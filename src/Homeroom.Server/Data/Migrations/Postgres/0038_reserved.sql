-- Homeroom schema v38 (PostgreSQL): no change on this branch. The number belongs to another branch's migration
-- (issue 21 and its neighbours were given 0036 to 0039); versions run without gaps, so this empty step stands in
-- for it here and gives way to it when the branches are merged.
SELECT 1;
