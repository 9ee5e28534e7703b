-- Homeroom schema v28 (PostgreSQL): placeholder on the help branch only. Version 28 belongs to Apple School
-- Manager (branch asm); this file keeps the versions gap-free here and is replaced by that branch's 0028
-- when the two are merged.
SELECT 1;
