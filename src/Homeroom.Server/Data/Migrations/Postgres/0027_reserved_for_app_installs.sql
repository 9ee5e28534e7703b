-- Homeroom schema v27 (PostgreSQL): placeholder on the help branch only. Version 27 belongs to the per-device
-- app status work (branch installs); this file keeps the versions gap-free here and is replaced by that
-- branch's 0027 when the two are merged.
SELECT 1;
