-- Homeroom schema v40 (PostgreSQL): the Windows programs of a catalog entry's Windows package (steam.exe), one per
-- line, which the desktop agent stops from starting while the app is blocked (docs/apps.md).
ALTER TABLE apps ADD COLUMN windows_executables text NULL;
