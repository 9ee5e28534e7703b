-- Homeroom schema v34 (PostgreSQL): placeholder on the diagnostics branch only. Version 34 belongs to another
-- branch of this session (OS updates or Mac apps); this file keeps the versions gap-free here and is replaced
-- by that branch's 0034 when the two are merged.
SELECT 1;
