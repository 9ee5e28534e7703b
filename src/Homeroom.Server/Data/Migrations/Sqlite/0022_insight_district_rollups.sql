-- Homeroom schema v22 (SQLite): district-level insight rollups. The same sums and students sketches
-- as insight_daily and insight_monthly, without school and grade (district × platform × kind ×
-- subject × category per local day and per month), so a district-wide report reads thousands of rows
-- instead of every school's. Folded with the other rollups (InsightRollups); each row equals the sum
-- of the school rows of its day or month and its sketch their union. Kind leads the key: every report
-- reads one or two kinds. Rows already folded before this migration are copied from the school
-- tables by the folder (district_ready below) before it folds anything new.
CREATE TABLE insight_district_daily (
    day INTEGER NOT NULL,
    platform TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    category TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (kind, day, platform, subject, category)
) WITHOUT ROWID;

CREATE TABLE insight_district_monthly (
    month INTEGER NOT NULL,
    platform TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    category TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    unfocused_seconds INTEGER NOT NULL,
    events INTEGER NOT NULL,
    students BLOB NOT NULL,
    PRIMARY KEY (kind, month, platform, subject, category)
) WITHOUT ROWID;

-- 0 until the district tables hold what the school tables held when this migration ran.
ALTER TABLE insight_fold_state ADD COLUMN district_ready INTEGER NOT NULL DEFAULT 0;

-- One school's (or one grade's) range reads its own rows, not every school's of each day or month.
CREATE INDEX insight_daily_school ON insight_daily (school_id, kind, day);
CREATE INDEX insight_monthly_school ON insight_monthly (school_id, kind, month);
CREATE INDEX insight_daily_grade ON insight_daily (grade, kind, day);

-- App adoption for the whole district without grouping every install: installs per app and per the
-- last local day the device used it (-1: never), kept by triggers on device_apps (a snapshot replaces
-- a device's rows, a deleted device's go by cascade) and on insight_app_last_used (the fold moves an
-- install from one day to a later one; retention deletes old days). A device with the app from two
-- sources counts twice, as the report always counted it.
CREATE TABLE insight_app_adoption (
    app_id TEXT NOT NULL,
    last_day INTEGER NOT NULL,
    devices INTEGER NOT NULL,
    PRIMARY KEY (app_id, last_day)
) WITHOUT ROWID;

INSERT INTO insight_app_adoption (app_id, last_day, devices)
    SELECT da.app_id, COALESCE(u.last_day, -1), COUNT(*)
    FROM device_apps da LEFT JOIN insight_app_last_used u ON u.device_id = da.device_id AND u.app_id = da.app_id
    GROUP BY da.app_id, COALESCE(u.last_day, -1);

-- Names come from the installs of the few apps a report shows.
CREATE INDEX device_apps_app ON device_apps (app_id, name);

CREATE TRIGGER device_apps_adoption_insert AFTER INSERT ON device_apps
BEGIN
    INSERT INTO insight_app_adoption (app_id, last_day, devices)
    VALUES (NEW.app_id, COALESCE((SELECT last_day FROM insight_app_last_used WHERE device_id = NEW.device_id AND app_id = NEW.app_id), -1), 1)
    ON CONFLICT (app_id, last_day) DO UPDATE SET devices = devices + 1;
END;

CREATE TRIGGER device_apps_adoption_delete AFTER DELETE ON device_apps
BEGIN
    UPDATE insight_app_adoption SET devices = devices - 1
    WHERE app_id = OLD.app_id AND last_day = COALESCE((SELECT last_day FROM insight_app_last_used WHERE device_id = OLD.device_id AND app_id = OLD.app_id), -1);
    DELETE FROM insight_app_adoption WHERE app_id = OLD.app_id AND devices = 0;
END;

CREATE TRIGGER device_apps_adoption_update AFTER UPDATE OF device_id, app_id ON device_apps
    WHEN OLD.device_id <> NEW.device_id OR OLD.app_id <> NEW.app_id
BEGIN
    UPDATE insight_app_adoption SET devices = devices - 1
    WHERE app_id = OLD.app_id AND last_day = COALESCE((SELECT last_day FROM insight_app_last_used WHERE device_id = OLD.device_id AND app_id = OLD.app_id), -1);
    DELETE FROM insight_app_adoption WHERE app_id = OLD.app_id AND devices = 0;
    INSERT INTO insight_app_adoption (app_id, last_day, devices)
    VALUES (NEW.app_id, COALESCE((SELECT last_day FROM insight_app_last_used WHERE device_id = NEW.device_id AND app_id = NEW.app_id), -1), 1)
    ON CONFLICT (app_id, last_day) DO UPDATE SET devices = devices + 1;
END;

CREATE TRIGGER app_last_used_adoption_insert AFTER INSERT ON insight_app_last_used
    WHEN EXISTS (SELECT 1 FROM device_apps WHERE device_id = NEW.device_id AND app_id = NEW.app_id)
BEGIN
    UPDATE insight_app_adoption SET devices = devices - (SELECT COUNT(*) FROM device_apps WHERE device_id = NEW.device_id AND app_id = NEW.app_id)
    WHERE app_id = NEW.app_id AND last_day = -1;
    DELETE FROM insight_app_adoption WHERE app_id = NEW.app_id AND devices = 0;
    INSERT INTO insight_app_adoption (app_id, last_day, devices)
    VALUES (NEW.app_id, NEW.last_day, (SELECT COUNT(*) FROM device_apps WHERE device_id = NEW.device_id AND app_id = NEW.app_id))
    ON CONFLICT (app_id, last_day) DO UPDATE SET devices = devices + excluded.devices;
END;

-- The fold only ever moves last_day (its key never changes).
CREATE TRIGGER app_last_used_adoption_update AFTER UPDATE OF last_day ON insight_app_last_used
    WHEN OLD.last_day <> NEW.last_day AND EXISTS (SELECT 1 FROM device_apps WHERE device_id = NEW.device_id AND app_id = NEW.app_id)
BEGIN
    UPDATE insight_app_adoption SET devices = devices - (SELECT COUNT(*) FROM device_apps WHERE device_id = NEW.device_id AND app_id = NEW.app_id)
    WHERE app_id = NEW.app_id AND last_day = OLD.last_day;
    DELETE FROM insight_app_adoption WHERE app_id = NEW.app_id AND devices = 0;
    INSERT INTO insight_app_adoption (app_id, last_day, devices)
    VALUES (NEW.app_id, NEW.last_day, (SELECT COUNT(*) FROM device_apps WHERE device_id = NEW.device_id AND app_id = NEW.app_id))
    ON CONFLICT (app_id, last_day) DO UPDATE SET devices = devices + excluded.devices;
END;

CREATE TRIGGER app_last_used_adoption_delete AFTER DELETE ON insight_app_last_used
    WHEN EXISTS (SELECT 1 FROM device_apps WHERE device_id = OLD.device_id AND app_id = OLD.app_id)
BEGIN
    UPDATE insight_app_adoption SET devices = devices - (SELECT COUNT(*) FROM device_apps WHERE device_id = OLD.device_id AND app_id = OLD.app_id)
    WHERE app_id = OLD.app_id AND last_day = OLD.last_day;
    DELETE FROM insight_app_adoption WHERE app_id = OLD.app_id AND devices = 0;
    INSERT INTO insight_app_adoption (app_id, last_day, devices)
    VALUES (OLD.app_id, -1, (SELECT COUNT(*) FROM device_apps WHERE device_id = OLD.device_id AND app_id = OLD.app_id))
    ON CONFLICT (app_id, last_day) DO UPDATE SET devices = devices + excluded.devices;
END;
