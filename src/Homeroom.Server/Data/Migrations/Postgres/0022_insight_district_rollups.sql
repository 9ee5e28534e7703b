-- Homeroom schema v22 (PostgreSQL): district-level insight rollups. The same sums and students sketches
-- as insight_daily and insight_monthly, without school and grade (district × platform × kind ×
-- subject × category per local day and per month), so a district-wide report reads thousands of rows
-- instead of every school's. Folded with the other rollups (InsightRollups); each row equals the sum
-- of the school rows of its day or month and its sketch their union. Kind leads the key: every report
-- reads one or two kinds. Rows already folded before this migration are copied from the school
-- tables by the folder (district_ready below) before it folds anything new.
CREATE TABLE insight_district_daily (
    day integer NOT NULL,
    platform text NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    category text NOT NULL,
    seconds bigint NOT NULL,
    unfocused_seconds bigint NOT NULL,
    events bigint NOT NULL,
    students bytea NOT NULL,
    PRIMARY KEY (kind, day, platform, subject, category)
);

CREATE TABLE insight_district_monthly (
    month integer NOT NULL,
    platform text NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    category text NOT NULL,
    seconds bigint NOT NULL,
    unfocused_seconds bigint NOT NULL,
    events bigint NOT NULL,
    students bytea NOT NULL,
    PRIMARY KEY (kind, month, platform, subject, category)
);

-- 0 until the district tables hold what the school tables held when this migration ran.
ALTER TABLE insight_fold_state ADD COLUMN district_ready integer NOT NULL DEFAULT 0;

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
    app_id text NOT NULL,
    last_day integer NOT NULL,
    devices bigint NOT NULL,
    PRIMARY KEY (app_id, last_day)
);

INSERT INTO insight_app_adoption (app_id, last_day, devices)
    SELECT da.app_id, COALESCE(u.last_day, -1), COUNT(*)
    FROM device_apps da LEFT JOIN insight_app_last_used u ON u.device_id = da.device_id AND u.app_id = da.app_id
    GROUP BY da.app_id, COALESCE(u.last_day, -1);

-- Names come from the installs of the few apps a report shows.
CREATE INDEX device_apps_app ON device_apps (app_id, name);

CREATE FUNCTION insight_app_adoption_add(p_app text, p_day integer, p_devices bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_devices = 0 THEN
        RETURN;
    END IF;
    INSERT INTO insight_app_adoption (app_id, last_day, devices) VALUES (p_app, p_day, p_devices)
    ON CONFLICT (app_id, last_day) DO UPDATE SET devices = insight_app_adoption.devices + excluded.devices;
    DELETE FROM insight_app_adoption WHERE app_id = p_app AND last_day = p_day AND devices = 0;
END $$;

CREATE FUNCTION device_apps_adoption() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM insight_app_adoption_add(OLD.app_id,
            COALESCE((SELECT last_day FROM insight_app_last_used WHERE device_id = OLD.device_id AND app_id = OLD.app_id), -1), -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM insight_app_adoption_add(NEW.app_id,
            COALESCE((SELECT last_day FROM insight_app_last_used WHERE device_id = NEW.device_id AND app_id = NEW.app_id), -1), 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER device_apps_adoption AFTER INSERT OR DELETE OR UPDATE OF device_id, app_id ON device_apps
    FOR EACH ROW EXECUTE FUNCTION device_apps_adoption();

-- The fold only ever moves last_day (its key never changes).
CREATE FUNCTION app_last_used_adoption() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    installs bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.last_day = NEW.last_day THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        SELECT COUNT(*) INTO installs FROM device_apps WHERE device_id = OLD.device_id AND app_id = OLD.app_id;
        PERFORM insight_app_adoption_add(OLD.app_id, OLD.last_day, -installs);
        PERFORM insight_app_adoption_add(OLD.app_id, -1, installs);
        RETURN NULL;
    END IF;
    SELECT COUNT(*) INTO installs FROM device_apps WHERE device_id = NEW.device_id AND app_id = NEW.app_id;
    PERFORM insight_app_adoption_add(NEW.app_id, CASE WHEN TG_OP = 'INSERT' THEN -1 ELSE OLD.last_day END, -installs);
    PERFORM insight_app_adoption_add(NEW.app_id, NEW.last_day, installs);
    RETURN NULL;
END $$;

CREATE TRIGGER app_last_used_adoption AFTER INSERT OR DELETE OR UPDATE OF last_day ON insight_app_last_used
    FOR EACH ROW EXECUTE FUNCTION app_last_used_adoption();
