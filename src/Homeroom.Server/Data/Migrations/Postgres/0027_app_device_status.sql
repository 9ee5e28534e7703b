-- Homeroom schema v27 (PostgreSQL): per-device app status and licences in use. One row per device and
-- app that the device's effective apps make relevant (required anywhere the entry has an identity for
-- the platform, blocked on iPads), with its state (pending, installing, installed, failed, removing,
-- removed, no-licence, not-applicable, missing), the platform's reason, whether the device holds one of
-- the app's licences, and the retry schedule (attempts, next attempt). No foreign key to devices: a
-- device that disappears still gives its licences back (the reconciler finds its rows).
-- apps.licenses_in_use is the ledger: raised only while below licenses_purchased, in one statement.
ALTER TABLE apps ADD COLUMN licenses_in_use integer NOT NULL DEFAULT 0 CHECK (licenses_in_use >= 0);

CREATE TABLE app_device_status (
    device_id uuid NOT NULL,
    app_id uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    intent text NOT NULL,
    state text NOT NULL,
    reason text NULL,
    holds_licence boolean NOT NULL DEFAULT false,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NULL,
    command_id uuid NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (device_id, app_id)
);
CREATE INDEX ix_app_device_status_app ON app_device_status (app_id, state);
