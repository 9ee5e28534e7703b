-- PLACEHOLDER, not for release: version 60 is another branch's migration (the ingestion work). It is here only so
-- this branch's 0061 has no gap and can be tested; drop this file when merging that branch's 0060.
SELECT 1;
