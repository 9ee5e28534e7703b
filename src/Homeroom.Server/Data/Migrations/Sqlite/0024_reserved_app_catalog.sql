-- Placeholder on the insights-pg branch only: version 24 belongs to the app catalog (branch apps,
-- 0024_app_catalog.sql). It keeps versions without gaps here so 0026 loads; drop this file when merging.
SELECT 1;
