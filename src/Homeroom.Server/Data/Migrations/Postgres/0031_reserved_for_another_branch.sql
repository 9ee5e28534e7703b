-- Homeroom schema v31 (PostgreSQL): placeholder on the agentapps branch only. Version 31 belongs to another
-- branch's work; this file keeps the versions gap-free here and is dropped (replaced by that branch's
-- 0031) when the two are merged.
SELECT 1;
