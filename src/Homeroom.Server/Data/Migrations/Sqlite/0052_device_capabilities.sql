-- Homeroom schema v52 (SQLite): what a device's agent last said it can and cannot do (inventory.capabilities, at most
-- 64 entries as the protocol validates them), stored as a JSON array of {name, available, reason} by InventoryWriter with
-- the other inventory facts. Read when the device is not connected to this server (after a restart, before the agent
-- reconnects). Null: the agent never sent a list. One value per device: it does not grow with time.
ALTER TABLE devices ADD COLUMN capabilities_json TEXT NULL;
