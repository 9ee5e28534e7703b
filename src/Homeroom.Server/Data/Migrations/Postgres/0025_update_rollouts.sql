-- Homeroom schema v25 (PostgreSQL): OS update rollouts. A rollout brings one platform to a target version
-- ring by ring; each ring is an existing group with a deadline, a required share and a soak time, and
-- keeps its phase and the counts of its last evaluation. evaluated_at is claimed by a conditional
-- update, so one server applies each pass. Finished rollouts are deleted after the retention time.
CREATE TABLE update_rollouts (
    id uuid NOT NULL PRIMARY KEY,
    name text NOT NULL,
    platform text NOT NULL,
    target_version text NOT NULL,
    state text NOT NULL,
    current_ring integer NOT NULL,
    pause_reason text NULL,
    status_text text NULL,
    check_in_hours integer NOT NULL,
    resumed_at timestamptz NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    evaluated_at timestamptz NULL,
    finished_at timestamptz NULL
);
CREATE INDEX ix_update_rollouts_state ON update_rollouts (state);

CREATE TABLE update_rings (
    rollout_id uuid NOT NULL REFERENCES update_rollouts (id) ON DELETE CASCADE,
    position integer NOT NULL,
    group_id uuid NOT NULL,
    name text NOT NULL,
    required_percent integer NOT NULL,
    soak_minutes integer NOT NULL,
    deadline timestamptz NULL,
    phase text NOT NULL,
    started_at timestamptz NULL,
    soak_started_at timestamptz NULL,
    passed_at timestamptz NULL,
    devices integer NOT NULL DEFAULT 0,
    at_target integer NOT NULL DEFAULT 0,
    healthy_at_target integer NOT NULL DEFAULT 0,
    PRIMARY KEY (rollout_id, position)
);
CREATE INDEX ix_update_rings_group ON update_rings (group_id);

-- The health gate reads failed commands per device since a time.
CREATE INDEX ix_command_deliveries_failed ON command_deliveries (device_id, updated_at) WHERE status = 4;
