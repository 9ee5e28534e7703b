-- Homeroom schema v19 (SQLite): each school's safety routing. An ordered chain of escalation contacts
-- (one "e-mail<TAB>name" a line), how long an imminent alert may stay unacknowledged before the next
-- step (NULL: Homeroom:Safety:EscalateAfter), and quiet hours (minutes after local midnight in the
-- school's zone, the days they start on) during which high alerts' e-mails and webhooks are held for
-- one summary. Alerts remember how far along the chain they are, when a person acknowledged them,
-- and when they were held for a quiet-hours summary.
CREATE TABLE safety_settings (
    school_id TEXT NOT NULL PRIMARY KEY REFERENCES schools (id) ON DELETE CASCADE,
    contacts TEXT NOT NULL,
    escalate_after_minutes INTEGER NULL,
    quiet_start INTEGER NULL,
    quiet_end INTEGER NULL,
    quiet_days TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);

ALTER TABLE safety_alerts ADD COLUMN escalation_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE safety_alerts ADD COLUMN last_escalated_at TEXT NULL;
ALTER TABLE safety_alerts ADD COLUMN acknowledged_at TEXT NULL;
ALTER TABLE safety_alerts ADD COLUMN quiet_held_at TEXT NULL;
-- Alerts escalated before the chain existed went to the district's contacts, its only step then.
UPDATE safety_alerts SET escalation_step = 1, last_escalated_at = escalated_at WHERE escalated_at IS NOT NULL;
UPDATE safety_alerts SET acknowledged_at = updated_at WHERE assigned_to_id IS NOT NULL OR status IN ('inReview', 'resolved', 'falsePositive');
CREATE INDEX ix_safety_alerts_quiet_held ON safety_alerts (quiet_held_at) WHERE quiet_held_at IS NOT NULL;
