-- Homeroom schema v38 (PostgreSQL): single sign-on mappings. Each row says which staff role, and which school
-- (none: the whole district), a person signing in through an OpenID Connect provider gets when the
-- provider's token carries the claim type and value, and whether a staff account may be created for a
-- verified e-mail address that has none. Set by district administrators; a school's rows go with it.
CREATE TABLE sign_in_mappings (
    id uuid NOT NULL PRIMARY KEY,
    provider text NOT NULL,
    claim_type text NOT NULL,
    claim_value text NOT NULL,
    role text NOT NULL,
    school_id uuid NULL REFERENCES schools (id) ON DELETE CASCADE,
    create_accounts boolean NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX ux_sign_in_mappings_claim ON sign_in_mappings (provider, claim_type, claim_value);
