-- Homeroom schema v47 (PostgreSQL): a pilot group for desktop agent builds (issue 17). At most one pilot per runtime:
-- the build (not the runtime's current one) is offered only to the devices of the group (in the usual sense: placed in
-- it or assigned to its people) until a district administrator promotes it (it becomes current, the row goes) or
-- withdraws it (the row goes; the group's devices are offered the current build again). Deleting the build or the group
-- ends it. Never more than one row per runtime, so no retention rule is needed.
CREATE TABLE agent_pilots (
    rid text NOT NULL PRIMARY KEY,
    build_id uuid NOT NULL REFERENCES agent_builds (id) ON DELETE CASCADE,
    group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    group_name text NOT NULL,
    started_by text NOT NULL,
    started_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX ux_agent_pilots_build ON agent_pilots (build_id);
CREATE INDEX ix_agent_pilots_group ON agent_pilots (group_id);
