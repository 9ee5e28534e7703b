-- Homeroom schema v26 (SQLite): district rollups by platform and subject, without category, per
-- local day, week (Monday's day number) and month, so a district-wide report by site or app filtered
-- to one platform merges one row per subject and period instead of one per blocking category (0022's
-- insight_district_daily and _monthly keep category, and still answer the categories report filtered
-- to a platform). The same sums and students sketches as the other district tables, declared in
-- InsightRollups (RollupTable) and folded with them. Kind and platform lead every key: a report reads
-- one or two kinds of one platform over a range of periods.
CREATE TABLE insight_district_platform_daily (
    day INTEGER NOT NULL,
    platform TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (kind, platform, day, subject)
) WITHOUT ROWID;

CREATE TABLE insight_district_platform_weekly (
    week INTEGER NOT NULL,
    platform TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (kind, platform, week, subject)
) WITHOUT ROWID;

CREATE TABLE insight_district_platform_monthly (
    month INTEGER NOT NULL,
    platform TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (kind, platform, month, subject)
) WITHOUT ROWID;

-- The folder fills every district table (these included) from the school tables after its next
-- complete flush, before reports read them.
UPDATE insight_fold_state SET district_ready = 0;
