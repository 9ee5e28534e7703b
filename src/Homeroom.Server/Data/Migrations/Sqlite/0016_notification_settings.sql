-- Homeroom schema v17 (SQLite): each school's notification settings. Which kinds of notification go
-- by e-mail to which addresses and to which webhook (its signing secret encrypted with the server's
-- data-protection keys), and the last delivery result of each, shown on the settings page.
CREATE TABLE notification_settings (
    school_id TEXT NOT NULL PRIMARY KEY REFERENCES schools (id) ON DELETE CASCADE,
    email_kinds TEXT NOT NULL,
    email_addresses TEXT NOT NULL,
    webhook_url TEXT NULL,
    webhook_kinds TEXT NOT NULL,
    webhook_secret TEXT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    last_email_at TEXT NULL,
    last_email_succeeded INTEGER NULL,
    last_email_result TEXT NULL,
    last_webhook_at TEXT NULL,
    last_webhook_succeeded INTEGER NULL,
    last_webhook_result TEXT NULL
);
