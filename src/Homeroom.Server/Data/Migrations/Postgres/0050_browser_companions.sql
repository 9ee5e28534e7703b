-- Homeroom schema v50 (PostgreSQL): the desktop's browser extension belongs to the desktop (issue 17). A desktop agent
-- asks for a companion credential (POST /agent/v1/companion) and writes it into the Homeroom extension's managed
-- configuration instead of a district enrollment token; only its SHA-256 and its expiry are kept, on the desktop's row
-- (a new one replaces the old). The extension enrolling with it becomes a companion device: a row of its own (its own
-- credential, connection and activity sequence) with companion_of naming the desktop; it is left out of every list and
-- count and takes the desktop's school, student and policy. Deleting or revoking the desktop takes its companions along.
ALTER TABLE devices ADD COLUMN companion_of uuid NULL REFERENCES devices (id) ON DELETE CASCADE;
ALTER TABLE devices ADD COLUMN companion_credential_hash text NULL;
ALTER TABLE devices ADD COLUMN companion_credential_expires_at timestamptz NULL;
CREATE INDEX ix_devices_companion_of ON devices (companion_of) WHERE companion_of IS NOT NULL;
CREATE UNIQUE INDEX ix_devices_companion_credential ON devices (companion_credential_hash) WHERE companion_credential_hash IS NOT NULL;
