-- Homeroom schema v33 (SQLite): no change. The number was set aside for App Store apps on Macs, which needed no
-- schema change in the end; versions run without gaps, so v33 is this empty step.
SELECT 1;
