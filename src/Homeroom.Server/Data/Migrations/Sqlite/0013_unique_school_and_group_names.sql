-- Homeroom schema v14 (SQLite): school names are unique in the district and group names unique in
-- their school (district groups among themselves), in any case: staff pick schools and groups by name,
-- and two "Spare cart" entries in one school cannot be told apart.
-- Duplicates already stored keep their rows; the later ones get the start of their id appended.
UPDATE schools SET name = name || ' (' || substr(id, 1, 8) || ')'
WHERE EXISTS (SELECT 1 FROM schools o WHERE lower(o.name) = lower(schools.name) AND o.id < schools.id);
CREATE UNIQUE INDEX ux_schools_name ON schools (lower(name));

UPDATE groups SET name = name || ' (' || substr(id, 1, 8) || ')'
WHERE EXISTS (SELECT 1 FROM groups o
              WHERE coalesce(o.school_id, '') = coalesce(groups.school_id, '') AND lower(o.name) = lower(groups.name) AND o.id < groups.id);
CREATE UNIQUE INDEX ux_groups_school_name ON groups (coalesce(school_id, ''), lower(name));
