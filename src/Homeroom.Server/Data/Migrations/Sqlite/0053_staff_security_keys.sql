-- Homeroom schema v53 (SQLite): security keys (WebAuthn) as a second sign-in step for local staff accounts. Only
-- public values are stored: the credential id (base64url, unique), the COSE public key, the signature counter (a use
-- must raise it), the key's model (AAGUID) and the owner's name for it. At most ten per account (StaffSecurityKeys), so
-- the table does not grow with time. Challenges wait here for their answer for a few minutes, bound to the account and
-- the session or half-finished sign-in that asked; each is deleted when answered, and SessionRetention deletes expired ones.
CREATE TABLE staff_security_keys (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL,
    public_key BLOB NOT NULL,
    sign_count INTEGER NOT NULL,
    aaguid TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT NULL
);

CREATE UNIQUE INDEX ux_staff_security_keys_credential ON staff_security_keys (credential_id);
CREATE INDEX ix_staff_security_keys_account ON staff_security_keys (account_id);

CREATE TABLE staff_security_key_challenges (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    binding_hash TEXT NOT NULL,
    options_json TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE INDEX ix_staff_security_key_challenges_binding ON staff_security_key_challenges (account_id, purpose, binding_hash);
CREATE INDEX ix_staff_security_key_challenges_expires ON staff_security_key_challenges (expires_at);
