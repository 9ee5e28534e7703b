-- Placeholder for migration 24, the app catalog, which the apps branch (built at the same time) owns:
-- its 0024_app_catalog.sql replaces this file when the branches merge. Only here so 25 follows 24.
SELECT 1;
