-- Homeroom schema v59 (PostgreSQL): the rollups' students sketches are compressed with lz4 instead of pglz.
-- A dense sketch (4,097 bytes) is over PostgreSQL's 2 KB TOAST threshold, so it is stored compressed (with
-- pglz by default) in the table's TOAST table, and a report decompresses every sketch it merges: the top
-- sites by students over a district's year merge about ten thousand, and pglz's decompression was most of
-- that statement's time (docs/performance.md, issue 15, 2026-12-06). lz4 decompresses the same sketches
-- several times faster. Storage stays EXTENDED (out of line), so the rows the sums are read from stay
-- narrow. The bytes are the same, so every report answers the same.
-- PostgreSQL compresses a value when it is written and never recompresses it: sketches written from now
-- on (every row the fold adds students to) are lz4, older ones stay pglz until rewritten or removed by
-- retention (docs/insights.md shows the statement that rewrites them). A server built without lz4 keeps pglz.
DO $$
DECLARE
    rollup text;
BEGIN
    FOREACH rollup IN ARRAY ARRAY[
        'insight_daily', 'insight_monthly', 'insight_group_daily',
        'insight_district_daily', 'insight_district_monthly',
        'insight_district_subject_daily', 'insight_district_subject_weekly', 'insight_district_subject_monthly',
        'insight_district_category_daily', 'insight_district_category_monthly',
        'insight_district_grade_daily', 'insight_district_grade_monthly',
        'insight_district_platform_daily', 'insight_district_platform_weekly', 'insight_district_platform_monthly']
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN students SET COMPRESSION lz4', rollup);
    END LOOP;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'PostgreSQL built without lz4: the rollups'' students sketches stay compressed with pglz';
END $$;
