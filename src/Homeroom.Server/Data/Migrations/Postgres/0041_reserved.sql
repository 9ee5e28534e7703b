-- Stand-in for schema v41, which another branch adds; removed when the branches are merged.
SELECT 1;
