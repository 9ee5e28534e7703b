-- Homeroom schema v14 (PostgreSQL): school names are unique in the district and group names unique in
-- their school (district groups among themselves), in any case: staff pick schools and groups by name,
-- and two "Spare cart" entries in one school cannot be told apart.
-- Duplicates already stored keep their rows; the later ones get the start of their id appended.
UPDATE schools s SET name = s.name || ' (' || left(s.id::text, 8) || ')'
WHERE EXISTS (SELECT 1 FROM schools o WHERE lower(o.name) = lower(s.name) AND o.id < s.id);
CREATE UNIQUE INDEX ux_schools_name ON schools (lower(name));

UPDATE groups g SET name = g.name || ' (' || left(g.id::text, 8) || ')'
WHERE EXISTS (SELECT 1 FROM groups o
              WHERE o.school_id IS NOT DISTINCT FROM g.school_id AND lower(o.name) = lower(g.name) AND o.id < g.id);
CREATE UNIQUE INDEX ux_groups_school_name ON groups (coalesce(school_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name));
