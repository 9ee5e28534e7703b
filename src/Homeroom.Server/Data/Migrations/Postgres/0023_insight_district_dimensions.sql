-- Homeroom schema v23 (PostgreSQL): district rollups a district-wide report reads without summing over
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
    day integer NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    seconds bigint NOT NULL,
    unfocused_seconds bigint NOT NULL,
    events bigint NOT NULL,
    students bytea NOT NULL,
    PRIMARY KEY (kind, day, subject)
);

CREATE TABLE insight_district_subject_weekly (
    week integer NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    seconds bigint NOT NULL,
    unfocused_seconds bigint NOT NULL,
    events bigint NOT NULL,
    students bytea NOT NULL,
    PRIMARY KEY (kind, week, subject)
);

CREATE TABLE insight_district_subject_monthly (
    month integer NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    seconds bigint NOT NULL,
    unfocused_seconds bigint NOT NULL,
    events bigint NOT NULL,
    students bytea NOT NULL,
    PRIMARY KEY (kind, month, subject)
);

CREATE TABLE insight_district_category_daily (
    day integer NOT NULL,
    kind text NOT NULL,
    category text NOT NULL,
    seconds bigint NOT NULL,
    unfocused_seconds bigint NOT NULL,
    events bigint NOT NULL,
    students bytea NOT NULL,
    PRIMARY KEY (kind, day, category)
);

CREATE TABLE insight_district_category_monthly (
    month integer NOT NULL,
    kind text NOT NULL,
    category text NOT NULL,
    seconds bigint NOT NULL,
    unfocused_seconds bigint NOT NULL,
    events bigint NOT NULL,
    students bytea NOT NULL,
    PRIMARY KEY (kind, month, category)
);

CREATE TABLE insight_district_grade_daily (
    day integer NOT NULL,
    grade integer NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    category text NOT NULL,
    seconds bigint NOT NULL,
    unfocused_seconds bigint NOT NULL,
    events bigint NOT NULL,
    students bytea NOT NULL,
    PRIMARY KEY (kind, grade, day, subject, category)
);

CREATE TABLE insight_district_grade_monthly (
    month integer NOT NULL,
    grade integer NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    category text NOT NULL,
    seconds bigint NOT NULL,
    unfocused_seconds bigint NOT NULL,
    events bigint NOT NULL,
    students bytea NOT NULL,
    PRIMARY KEY (kind, grade, month, subject, category)
);

-- The folder fills every district table (these and 0022's) from the school tables after its next
-- complete flush, before reports read them.
UPDATE insight_fold_state SET district_ready = 0;

-- App adoption counts: statement-level triggers with transition tables replace 0022's row triggers.
-- A statement moving many installs (a rebuild's or retention's delete of last-used days, a multi-row
-- upsert of them, a bulk inventory write) makes one grouped change per (app, last day) instead of one
-- update of a few dozen counter rows per install, which in one transaction piled up row versions that
-- every later update had to walk past. An UPDATE trigger with transition tables takes no column list:
-- rows whose key and last day did not change add +1 and -1 to the same counter, which cancel out.
DROP TRIGGER device_apps_adoption ON device_apps;
DROP TRIGGER app_last_used_adoption ON insight_app_last_used;
DROP FUNCTION device_apps_adoption();
DROP FUNCTION app_last_used_adoption();
DROP FUNCTION insight_app_adoption_add(text, integer, bigint);

-- Adds grouped changes (app, last day, +/- installs) to the counts; counts that reach 0 go.
-- Counters are changed in (app, last day) order, as every writer does, so two statements never wait
-- on each other's counters in opposite orders.
CREATE FUNCTION insight_app_adoption_apply(changes jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO insight_app_adoption AS a (app_id, last_day, devices)
    SELECT c.app_id, c.last_day, c.devices
    FROM jsonb_to_recordset(changes) AS c(app_id text, last_day integer, devices bigint)
    WHERE c.devices <> 0
    ORDER BY c.app_id, c.last_day
    ON CONFLICT (app_id, last_day) DO UPDATE SET devices = a.devices + excluded.devices;
    DELETE FROM insight_app_adoption a
    USING jsonb_to_recordset(changes) AS c(app_id text, last_day integer, devices bigint)
    WHERE a.app_id = c.app_id AND a.last_day = c.last_day AND a.devices = 0;
END $$;

-- Installs added (new_rows) and removed (old_rows), each counted under its app's last-used day on
-- its device (-1: never used).
CREATE FUNCTION device_apps_adoption() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(g) INTO changes FROM (
            SELECT n.app_id, COALESCE(u.last_day, -1) AS last_day, COUNT(*) AS devices
            FROM new_rows n LEFT JOIN insight_app_last_used u ON u.device_id = n.device_id AND u.app_id = n.app_id
            GROUP BY 1, 2) g;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_agg(g) INTO changes FROM (
            SELECT o.app_id, COALESCE(u.last_day, -1) AS last_day, -COUNT(*) AS devices
            FROM old_rows o LEFT JOIN insight_app_last_used u ON u.device_id = o.device_id AND u.app_id = o.app_id
            GROUP BY 1, 2) g;
    ELSE
        SELECT jsonb_agg(g) INTO changes FROM (
            SELECT x.app_id, COALESCE(u.last_day, -1) AS last_day, SUM(x.d) AS devices
            FROM (SELECT device_id, app_id, 1 AS d FROM new_rows UNION ALL SELECT device_id, app_id, -1 FROM old_rows) x
            LEFT JOIN insight_app_last_used u ON u.device_id = x.device_id AND u.app_id = x.app_id
            GROUP BY 1, 2 HAVING SUM(x.d) <> 0) g;
    END IF;

    IF changes IS NOT NULL THEN
        PERFORM insight_app_adoption_apply(changes);
    END IF;

    RETURN NULL;
END $$;

CREATE TRIGGER device_apps_adoption_insert AFTER INSERT ON device_apps
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION device_apps_adoption();
CREATE TRIGGER device_apps_adoption_delete AFTER DELETE ON device_apps
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION device_apps_adoption();
CREATE TRIGGER device_apps_adoption_update AFTER UPDATE ON device_apps
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION device_apps_adoption();

-- A device's installs of an app move from "never used" (-1) to the day the fold saw it used, from one
-- day to a later one, and back to -1 when retention deletes the day.
CREATE FUNCTION app_last_used_adoption() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(g) INTO changes FROM (
            SELECT x.app_id, x.last_day, SUM(x.d) AS devices
            FROM (SELECT n.app_id, n.last_day, i.installs AS d FROM new_rows n
                      CROSS JOIN LATERAL (SELECT COUNT(*) AS installs FROM device_apps da WHERE da.device_id = n.device_id AND da.app_id = n.app_id) i
                  UNION ALL
                  SELECT n.app_id, -1, -i.installs FROM new_rows n
                      CROSS JOIN LATERAL (SELECT COUNT(*) AS installs FROM device_apps da WHERE da.device_id = n.device_id AND da.app_id = n.app_id) i) x
            GROUP BY 1, 2 HAVING SUM(x.d) <> 0) g;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_agg(g) INTO changes FROM (
            SELECT x.app_id, x.last_day, SUM(x.d) AS devices
            FROM (SELECT o.app_id, o.last_day, -i.installs AS d FROM old_rows o
                      CROSS JOIN LATERAL (SELECT COUNT(*) AS installs FROM device_apps da WHERE da.device_id = o.device_id AND da.app_id = o.app_id) i
                  UNION ALL
                  SELECT o.app_id, -1, i.installs FROM old_rows o
                      CROSS JOIN LATERAL (SELECT COUNT(*) AS installs FROM device_apps da WHERE da.device_id = o.device_id AND da.app_id = o.app_id) i) x
            GROUP BY 1, 2 HAVING SUM(x.d) <> 0) g;
    ELSE
        SELECT jsonb_agg(g) INTO changes FROM (
            SELECT x.app_id, x.last_day, SUM(x.d) AS devices
            FROM (SELECT o.app_id, o.last_day, -i.installs AS d FROM old_rows o
                      CROSS JOIN LATERAL (SELECT COUNT(*) AS installs FROM device_apps da WHERE da.device_id = o.device_id AND da.app_id = o.app_id) i
                  UNION ALL
                  SELECT n.app_id, n.last_day, i.installs FROM new_rows n
                      CROSS JOIN LATERAL (SELECT COUNT(*) AS installs FROM device_apps da WHERE da.device_id = n.device_id AND da.app_id = n.app_id) i) x
            GROUP BY 1, 2 HAVING SUM(x.d) <> 0) g;
    END IF;

    IF changes IS NOT NULL THEN
        PERFORM insight_app_adoption_apply(changes);
    END IF;

    RETURN NULL;
END $$;

CREATE TRIGGER app_last_used_adoption_insert AFTER INSERT ON insight_app_last_used
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION app_last_used_adoption();
CREATE TRIGGER app_last_used_adoption_delete AFTER DELETE ON insight_app_last_used
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION app_last_used_adoption();
CREATE TRIGGER app_last_used_adoption_update AFTER UPDATE ON insight_app_last_used
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION app_last_used_adoption();
