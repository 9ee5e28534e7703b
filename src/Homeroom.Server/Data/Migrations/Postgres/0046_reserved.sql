-- Homeroom schema v46 (PostgreSQL): no change. A stand-in for a number another branch takes; versions run without gaps,
-- so this empty step holds it until that branch is merged (then this file is removed).
SELECT 1;
