-- Homeroom schema v45 (PostgreSQL): whether a school allows its technicians to send files to a device in a remote control
-- session (issue 21). Existing schools keep file transfer off (the district's default, Homeroom:RemoteSupport:FileTransferAllowed,
-- is off too). One column on a table of one row per school: nothing here grows with time.
ALTER TABLE remote_support_settings ADD COLUMN file_transfer_allowed boolean NOT NULL DEFAULT false;
