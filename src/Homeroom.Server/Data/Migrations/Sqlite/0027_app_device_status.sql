-- Homeroom schema v27 (SQLite): per-device app status and licences in use. One row per device and app
-- that the device's effective apps make relevant (required anywhere the entry has an identity for the
-- platform, blocked on iPads), with its state (pending, installing, installed, failed, removing,
-- removed, no-licence, not-applicable, missing), the platform's reason, whether the device holds one of
-- the app's licences, and the retry schedule (attempts, next attempt). No foreign key to devices: a
-- device that disappears still gives its licences back (the reconciler finds its rows).
-- apps.licenses_in_use is the ledger: raised only while below licenses_purchased, in one statement.
ALTER TABLE apps ADD COLUMN licenses_in_use INTEGER NOT NULL DEFAULT 0 CHECK (licenses_in_use >= 0);

CREATE TABLE app_device_status (
    device_id TEXT NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    intent TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NULL,
    holds_licence INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NULL,
    command_id TEXT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (device_id, app_id)
);
CREATE INDEX ix_app_device_status_app ON app_device_status (app_id, state);
