-- Homeroom schema v59 (SQLite): nothing changes. On PostgreSQL this version compresses the rollups' students
-- sketches with lz4 instead of pglz; SQLite stores a sketch as it is (in its row and overflow pages) and
-- decompresses nothing. The number is kept so both providers count alike.
SELECT 1;
