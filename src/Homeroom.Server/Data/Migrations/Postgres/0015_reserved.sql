-- Homeroom schema v16 (PostgreSQL): reserved for the work merged beside the notifications (another
-- branch owns migration 15). This placeholder changes nothing; replace it with that branch's script when merging.
SELECT 1;
