-- Homeroom schema v16 (PostgreSQL): zones defined by network too: the public ranges of a school's internet
-- connections and its local ranges, each a JSON array of CIDRs (NULL: none).
ALTER TABLE zones ADD COLUMN public_ranges_json text NULL;
ALTER TABLE zones ADD COLUMN local_ranges_json text NULL;
