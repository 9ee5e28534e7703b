-- Homeroom schema v17 (PostgreSQL): each school's notification settings. Which kinds of notification go
-- by e-mail to which addresses and to which webhook (its signing secret encrypted with the server's
-- data-protection keys), and the last delivery result of each, shown on the settings page.
CREATE TABLE notification_settings (
    school_id uuid NOT NULL PRIMARY KEY REFERENCES schools (id) ON DELETE CASCADE,
    email_kinds text NOT NULL,
    email_addresses text NOT NULL,
    webhook_url text NULL,
    webhook_kinds text NOT NULL,
    webhook_secret text NULL,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL,
    last_email_at timestamptz NULL,
    last_email_succeeded boolean NULL,
    last_email_result text NULL,
    last_webhook_at timestamptz NULL,
    last_webhook_succeeded boolean NULL,
    last_webhook_result text NULL
);
