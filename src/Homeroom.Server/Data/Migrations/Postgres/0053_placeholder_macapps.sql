-- Placeholder for schema v53, which belongs to another branch merged alongside this one: versions run without gaps,
-- so this branch needs a v53 to reach its v54 (app_mac_package). Delete this file when the real 0053 is merged.
SELECT 1;
