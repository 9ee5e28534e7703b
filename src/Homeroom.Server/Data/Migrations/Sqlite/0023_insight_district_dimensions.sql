-- Homeroom schema v23 (SQLite): district rollups a district-wide report reads without summing over
-- dimensions it does not show. Each table holds the same sums and students sketches as insight_daily
-- and insight_monthly, without school, and without the dimensions it leaves out (their rows summed,
-- their students' sketches merged), declared in InsightRollups (RollupTable) and folded with the others:
--   insight_district_subject_*  kind × subject per day, week (Monday's day number) and month: reports by
--                               site or app with no filter (no platform, no category);
--   insight_district_category_* kind × category per day and month: the categories report;
--   insight_district_grade_*    kind × grade × subject × category per day and month: district-wide
--                               reports for one grade.
-- Weeks make a long range's partial months cheap: its days outside whole months are read as whole
-- weeks and the few days around them. Kind leads every key: a report reads one or two kinds.
CREATE TABLE insight_district_subject_daily (
    day INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (kind, day, subject)
) WITHOUT ROWID;

CREATE TABLE insight_district_subject_weekly (
    week INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (kind, week, subject)
) WITHOUT ROWID;

CREATE TABLE insight_district_subject_monthly (
    month INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (kind, month, subject)
) WITHOUT ROWID;

CREATE TABLE insight_district_category_daily (
    day INTEGER NOT NULL,
    kind TEXT NOT NULL,
    category TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (kind, day, category)
) WITHOUT ROWID;

CREATE TABLE insight_district_category_monthly (
    month INTEGER NOT NULL,
    kind TEXT NOT NULL,
    category TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (kind, month, category)
) WITHOUT ROWID;

CREATE TABLE insight_district_grade_daily (
    day INTEGER NOT NULL,
    grade INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    category TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (kind, grade, day, subject, category)
) WITHOUT ROWID;

CREATE TABLE insight_district_grade_monthly (
    month INTEGER NOT NULL,
    grade INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    category TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (kind, grade, month, subject, category)
) WITHOUT ROWID;

-- The folder fills every district table (these and 0022's) from the school tables after its next
-- complete flush, before reports read them.
UPDATE insight_fold_state SET district_ready = 0;
