-- Homeroom schema v25 (SQLite): OS update rollouts. A rollout brings one platform to a target version
-- ring by ring; each ring is an existing group with a deadline, a required share and a soak time, and
-- keeps its phase and the counts of its last evaluation. evaluated_at is claimed by a conditional
-- update, so one server applies each pass. Finished rollouts are deleted after the retention time.
CREATE TABLE update_rollouts (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    platform TEXT NOT NULL,
    target_version TEXT NOT NULL,
    state TEXT NOT NULL,
    current_ring INTEGER NOT NULL,
    pause_reason TEXT NULL,
    status_text TEXT NULL,
    check_in_hours INTEGER NOT NULL,
    resumed_at TEXT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    evaluated_at TEXT NULL,
    finished_at TEXT NULL
);
CREATE INDEX ix_update_rollouts_state ON update_rollouts (state);

CREATE TABLE update_rings (
    rollout_id TEXT NOT NULL REFERENCES update_rollouts (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    group_id TEXT NOT NULL,
    name TEXT NOT NULL,
    required_percent INTEGER NOT NULL,
    soak_minutes INTEGER NOT NULL,
    deadline TEXT NULL,
    phase TEXT NOT NULL,
    started_at TEXT NULL,
    soak_started_at TEXT NULL,
    passed_at TEXT NULL,
    devices INTEGER NOT NULL DEFAULT 0,
    at_target INTEGER NOT NULL DEFAULT 0,
    healthy_at_target INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (rollout_id, position)
);
CREATE INDEX ix_update_rings_group ON update_rings (group_id);

-- The health gate reads failed commands per device since a time.
CREATE INDEX ix_command_deliveries_failed ON command_deliveries (device_id, updated_at) WHERE status = 4;
