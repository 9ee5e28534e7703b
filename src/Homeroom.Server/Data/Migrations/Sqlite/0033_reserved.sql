-- Homeroom schema v33 (SQLite): reserved for the Mac App Store branch (macapps), which owns migration 0033.
-- Nothing changes here; when that branch's 0033 is merged it replaces this file.
SELECT 1;
