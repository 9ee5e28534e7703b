-- Homeroom schema v9 (PostgreSQL): until when an administrator's approval lets a device enroll again
-- without its current credential (a wiped agent, a restored revoked device).
ALTER TABLE devices ADD COLUMN reenrollment_approved_until timestamptz NULL;
