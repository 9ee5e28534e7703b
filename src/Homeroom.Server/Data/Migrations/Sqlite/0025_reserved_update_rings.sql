-- Placeholder on the insights-pg branch only: version 25 belongs to OS update rings (branch rings).
-- It keeps versions without gaps here so 0026 loads; drop this file when merging.
SELECT 1;
