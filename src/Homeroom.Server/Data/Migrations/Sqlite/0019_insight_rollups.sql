-- Placeholder on the insights-reports branch only: version 19 belongs to the insights-rollups branch
-- (its 0019_insight_rollups.sql, rollup tables). Migrations must run without gaps, so this branch
-- carries an empty one to reach its own 0020; merging the rollups branch replaces this file with theirs.
SELECT 1;
