using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Homeroom.Server.Roster.OneRoster;

public enum ChangeKind
{
    Create,
    Update,
    Archive,
}

public sealed record StoredSchool(Guid Id, string SourcedId, string Name);

public sealed record StoredPerson(Guid Id, string SourcedId, PersonKind Kind, Guid? SchoolId, string GivenName, string FamilyName, string? Email, int? GradeLevel, bool Archived);

public sealed record StoredClass(Guid Id, string SourcedId, Guid? SchoolId, string Name, int? GradeLevel, bool Archived);

/// <summary>The part of the stored roster an import touches: what carries a sourcedId, and the memberships between such classes and people.</summary>
public sealed class StoredRoster
{
    public Dictionary<string, StoredSchool> Schools { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, StoredPerson> People { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, StoredClass> Classes { get; } = new(StringComparer.Ordinal);
    public HashSet<(Guid Group, Guid Person)> Members { get; } = [];
}

public sealed record SchoolOp(ChangeKind Change, Guid Id, string SourcedId, string Name);

public sealed record PersonOp(ChangeKind Change, Guid Id, string SourcedId, PersonKind Kind, Guid? SchoolId, string? SchoolSourcedId, string GivenName, string FamilyName, string? Email, int? GradeLevel);

public sealed record ClassOp(ChangeKind Change, Guid Id, string SourcedId, Guid? SchoolId, string? SchoolSourcedId, string Name, int? GradeLevel);

public sealed record MemberOp(bool Add, Guid GroupId, Guid PersonId, string ClassSourcedId, string UserSourcedId);

/// <summary>What applying a OneRoster set to the stored roster would do, and the set's problems.</summary>
public sealed class ImportPlan
{
    public List<SchoolOp> Schools { get; } = [];
    public List<PersonOp> People { get; } = [];
    public List<ClassOp> Classes { get; } = [];
    public List<MemberOp> Members { get; } = [];
    public List<OneRosterError> Errors { get; } = [];

    /// <summary>Users whose role is neither student nor teacher (guardians, administrators, aides…): not people in Homeroom.</summary>
    public int SkippedUsers { get; set; }

    /// <summary>Enrollments other than of students and teachers (administrators, proctors): not memberships in Homeroom.</summary>
    public int SkippedEnrollments { get; set; }

    public int UnchangedSchools { get; set; }
    public int UnchangedStudents { get; set; }
    public int UnchangedTeachers { get; set; }
    public int UnchangedClasses { get; set; }

    /// <summary>
    /// A digest of every change, without the ids new records would get: the same set against the same
    /// stored roster gives the same fingerprint, so an apply can check it does what the preview showed.
    /// </summary>
    public string Fingerprint()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string line) => hash.AppendData(Encoding.UTF8.GetBytes(line + "\n"));
        string Existing(ChangeKind change, Guid id) => change == ChangeKind.Create ? "" : id.ToString();
        foreach (var s in Schools)
        {
            Add(string.Join('|', "s", s.Change, Existing(s.Change, s.Id), s.SourcedId, s.Name));
        }

        foreach (var c in Classes)
        {
            Add(string.Join('|', "c", c.Change, Existing(c.Change, c.Id), c.SourcedId, c.SchoolSourcedId, c.Name, c.GradeLevel?.ToString(CultureInfo.InvariantCulture)));
        }

        foreach (var p in People)
        {
            Add(string.Join('|', "p", p.Change, Existing(p.Change, p.Id), p.SourcedId, p.Kind, p.SchoolSourcedId, p.GivenName, p.FamilyName, p.Email, p.GradeLevel?.ToString(CultureInfo.InvariantCulture)));
        }

        foreach (var m in Members)
        {
            Add(string.Join('|', "m", m.Add, m.ClassSourcedId, m.UserSourcedId));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}

/// <summary>
/// Compares a read OneRoster set with the stored roster, by sourcedId: what to create, change and
/// archive, and which memberships to add and remove. Also checks the set's references (a class's
/// school, a user's orgs, an enrollment's class and user), against the set itself for a bulk file and
/// against the set and the stored roster for a delta. Only records that carry a sourcedId are ever
/// changed or archived: schools, classes and people made by hand are left alone, and so are their
/// memberships. Schools are never archived (removing one would take its classes with it).
/// </summary>
public static class ImportPlanner
{
    public static ImportPlan Plan(OneRosterSet set, StoredRoster stored)
    {
        var plan = new ImportPlan();
        var orgsBulk = set.Mode(OneRosterReader.Orgs) == OneRosterFileMode.Bulk;

        // Orgs: schools are created or renamed; other org types only need to exist for references.
        var orgTypes = new Dictionary<string, string>(StringComparer.Ordinal);
        var schoolIds = stored.Schools.Values.ToDictionary(s => s.SourcedId, s => s.Id, StringComparer.Ordinal);
        foreach (var org in set.Orgs.Where(o => !o.ToBeDeleted))
        {
            orgTypes[org.SourcedId] = org.Type;
            if (org.Type != "school")
            {
                continue;
            }

            if (stored.Schools.TryGetValue(org.SourcedId, out var school))
            {
                if (school.Name == org.Name)
                {
                    plan.UnchangedSchools++;
                }
                else
                {
                    plan.Schools.Add(new SchoolOp(ChangeKind.Update, school.Id, org.SourcedId, org.Name));
                }
            }
            else
            {
                var id = Guid.CreateVersion7();
                schoolIds[org.SourcedId] = id;
                plan.Schools.Add(new SchoolOp(ChangeKind.Create, id, org.SourcedId, org.Name));
            }
        }

        // In a bulk orgs file every referenced org must be in it; otherwise a stored school (or an org of the set) will do.
        bool OrgKnown(string sourcedId) => orgTypes.ContainsKey(sourcedId) || (!orgsBulk && stored.Schools.ContainsKey(sourcedId));
        Guid? SchoolOf(string sourcedId) => (orgTypes.TryGetValue(sourcedId, out var type) ? type == "school" : !orgsBulk) && schoolIds.TryGetValue(sourcedId, out var id) ? id : null;

        var classIds = PlanClasses(set, stored, plan, OrgKnown, SchoolOf);
        var personIds = PlanPeople(set, stored, plan, OrgKnown, SchoolOf, out var skippedUsers);
        PlanMembers(set, stored, plan, classIds, personIds, skippedUsers);
        plan.Errors.InsertRange(0, set.Errors);
        return plan;
    }

    private static Dictionary<string, Guid> PlanClasses(OneRosterSet set, StoredRoster stored, ImportPlan plan, Func<string, bool> orgKnown, Func<string, Guid?> schoolOf)
    {
        var bulk = set.Mode(OneRosterReader.Classes) == OneRosterFileMode.Bulk;
        var ids = bulk ? new Dictionary<string, Guid>(StringComparer.Ordinal) : stored.Classes.Values.ToDictionary(c => c.SourcedId, c => c.Id, StringComparer.Ordinal);
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in set.Classes)
        {
            listed.Add(row.SourcedId);
            stored.Classes.TryGetValue(row.SourcedId, out var existing);
            if (row.ToBeDeleted)
            {
                if (existing is { Archived: false })
                {
                    plan.Classes.Add(new ClassOp(ChangeKind.Archive, existing.Id, existing.SourcedId, existing.SchoolId, null, existing.Name, existing.GradeLevel));
                }

                continue;
            }

            if (!orgKnown(row.SchoolSourcedId))
            {
                plan.Errors.Add(new OneRosterError(OneRosterReader.Classes, row.Line, "schoolSourcedId", $"No org '{OneRosterReader.Clip(row.SchoolSourcedId)}' in orgs.csv."));
                continue;
            }

            if (schoolOf(row.SchoolSourcedId) is not { } school)
            {
                plan.Errors.Add(new OneRosterError(OneRosterReader.Classes, row.Line, "schoolSourcedId", $"Org '{OneRosterReader.Clip(row.SchoolSourcedId)}' is not a school."));
                continue;
            }

            if (existing is null)
            {
                var id = Guid.CreateVersion7();
                ids[row.SourcedId] = id;
                plan.Classes.Add(new ClassOp(ChangeKind.Create, id, row.SourcedId, school, row.SchoolSourcedId, row.Title, row.Grade));
                continue;
            }

            ids[row.SourcedId] = existing.Id;
            if (existing.Name == row.Title && existing.SchoolId == school && existing.GradeLevel == row.Grade && !existing.Archived)
            {
                plan.UnchangedClasses++;
            }
            else
            {
                plan.Classes.Add(new ClassOp(ChangeKind.Update, existing.Id, row.SourcedId, school, row.SchoolSourcedId, row.Title, row.Grade));
            }
        }

        if (bulk)
        {
            foreach (var gone in stored.Classes.Values.Where(c => !c.Archived && !listed.Contains(c.SourcedId)).OrderBy(c => c.SourcedId, StringComparer.Ordinal))
            {
                plan.Classes.Add(new ClassOp(ChangeKind.Archive, gone.Id, gone.SourcedId, gone.SchoolId, null, gone.Name, gone.GradeLevel));
            }
        }

        return ids;
    }

    private static Dictionary<string, Guid> PlanPeople(OneRosterSet set, StoredRoster stored, ImportPlan plan, Func<string, bool> orgKnown, Func<string, Guid?> schoolOf, out HashSet<string> skipped)
    {
        var bulk = set.Mode(OneRosterReader.Users) == OneRosterFileMode.Bulk;
        var ids = bulk ? new Dictionary<string, Guid>(StringComparer.Ordinal) : stored.People.Values.ToDictionary(p => p.SourcedId, p => p.Id, StringComparer.Ordinal);
        skipped = new HashSet<string>(StringComparer.Ordinal);
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var user in set.Users)
        {
            listed.Add(user.SourcedId);
            stored.People.TryGetValue(user.SourcedId, out var existing);
            if (user.ToBeDeleted)
            {
                if (existing is { Archived: false })
                {
                    plan.People.Add(Archive(existing));
                }

                continue;
            }

            PersonKind? kind = user.Role switch
            {
                "student" => PersonKind.Student,
                "teacher" => PersonKind.Staff,
                _ => null,
            };
            if (kind is null)
            {
                skipped.Add(user.SourcedId);
                plan.SkippedUsers++;
                continue;
            }

            var unknown = user.Orgs.FirstOrDefault(o => !orgKnown(o));
            if (unknown is not null)
            {
                var column = set.Version == OneRosterVersion.V1_1 ? "orgSourcedIds" : "primaryOrgSourcedId";
                plan.Errors.Add(new OneRosterError(OneRosterReader.Users, user.Line, column, $"No org '{OneRosterReader.Clip(unknown)}' in orgs.csv."));
                continue;
            }

            var schoolSourcedId = user.Orgs.FirstOrDefault(o => schoolOf(o) is not null);
            var school = schoolSourcedId is null ? null : schoolOf(schoolSourcedId);
            var grade = kind == PersonKind.Student ? user.Grade : null;
            if (existing is null)
            {
                var id = Guid.CreateVersion7();
                ids[user.SourcedId] = id;
                plan.People.Add(new PersonOp(ChangeKind.Create, id, user.SourcedId, kind.Value, school, schoolSourcedId, user.GivenName, user.FamilyName, user.Email, grade));
                continue;
            }

            ids[user.SourcedId] = existing.Id;
            if (existing.Kind == kind && existing.SchoolId == school && existing.GivenName == user.GivenName && existing.FamilyName == user.FamilyName
                && existing.Email == user.Email && existing.GradeLevel == grade && !existing.Archived)
            {
                if (kind == PersonKind.Student)
                {
                    plan.UnchangedStudents++;
                }
                else
                {
                    plan.UnchangedTeachers++;
                }
            }
            else
            {
                plan.People.Add(new PersonOp(ChangeKind.Update, existing.Id, user.SourcedId, kind.Value, school, schoolSourcedId, user.GivenName, user.FamilyName, user.Email, grade));
            }
        }

        if (bulk)
        {
            foreach (var gone in stored.People.Values.Where(p => !p.Archived && !listed.Contains(p.SourcedId)).OrderBy(p => p.SourcedId, StringComparer.Ordinal))
            {
                plan.People.Add(Archive(gone));
            }
        }

        return ids;

        static PersonOp Archive(StoredPerson p) => new(ChangeKind.Archive, p.Id, p.SourcedId, p.Kind, p.SchoolId, null, p.GivenName, p.FamilyName, p.Email, p.GradeLevel);
    }

    private static void PlanMembers(OneRosterSet set, StoredRoster stored, ImportPlan plan, Dictionary<string, Guid> classIds, Dictionary<string, Guid> personIds, HashSet<string> skippedUsers)
    {
        var mode = set.Mode(OneRosterReader.Enrollments);
        if (mode == OneRosterFileMode.Absent)
        {
            return;
        }

        var wanted = new Dictionary<(Guid, Guid), (string Class, string User)>();
        var unwanted = new Dictionary<(Guid, Guid), (string Class, string User)>();
        foreach (var row in set.Enrollments)
        {
            if (!classIds.TryGetValue(row.ClassSourcedId, out var group))
            {
                plan.Errors.Add(new OneRosterError(OneRosterReader.Enrollments, row.Line, "classSourcedId", $"No class '{OneRosterReader.Clip(row.ClassSourcedId)}' in classes.csv."));
                continue;
            }

            if (skippedUsers.Contains(row.UserSourcedId) || row.Role is not ("student" or "teacher"))
            {
                plan.SkippedEnrollments++;
                continue;
            }

            if (!personIds.TryGetValue(row.UserSourcedId, out var person))
            {
                plan.Errors.Add(new OneRosterError(OneRosterReader.Enrollments, row.Line, "userSourcedId", $"No user '{OneRosterReader.Clip(row.UserSourcedId)}' in users.csv."));
                continue;
            }

            (row.ToBeDeleted ? unwanted : wanted)[(group, person)] = (row.ClassSourcedId, row.UserSourcedId);
        }

        foreach (var (key, (cls, user)) in wanted)
        {
            if (!stored.Members.Contains(key))
            {
                plan.Members.Add(new MemberOp(true, key.Item1, key.Item2, cls, user));
            }
        }

        if (mode == OneRosterFileMode.Delta)
        {
            foreach (var (key, (cls, user)) in unwanted)
            {
                if (stored.Members.Contains(key) && !wanted.ContainsKey(key))
                {
                    plan.Members.Add(new MemberOp(false, key.Item1, key.Item2, cls, user));
                }
            }

            return;
        }

        // Bulk: the set lists every enrollment. A membership it no longer lists goes, unless its class or person is
        // archived (now or before): an archived class keeps its members, an archived person their classes.
        var classSourcedIds = stored.Classes.Values.ToDictionary(c => c.Id, c => c);
        var personSourcedIds = stored.People.Values.ToDictionary(p => p.Id, p => p);
        var archived = plan.Classes.Where(c => c.Change == ChangeKind.Archive).Select(c => c.Id)
            .Concat(plan.People.Where(p => p.Change == ChangeKind.Archive).Select(p => p.Id)).ToHashSet();
        foreach (var key in stored.Members.Where(m => !wanted.ContainsKey(m)).OrderBy(m => m.Group).ThenBy(m => m.Person))
        {
            var cls = classSourcedIds[key.Group];
            var person = personSourcedIds[key.Person];
            if (cls.Archived || person.Archived || archived.Contains(key.Group) || archived.Contains(key.Person))
            {
                continue;
            }

            plan.Members.Add(new MemberOp(false, key.Group, key.Person, cls.SourcedId, person.SourcedId));
        }
    }
}
