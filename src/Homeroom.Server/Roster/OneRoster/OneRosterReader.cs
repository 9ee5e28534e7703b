using System.Globalization;

namespace Homeroom.Server.Roster.OneRoster;

/// <summary>Which OneRoster CSV binding a set follows (manifest property <c>oneroster.version</c>).</summary>
public enum OneRosterVersion
{
    V1_1,
    V1_2,
}

/// <summary>How the manifest says a file is processed: not sent, the whole truth (bulk) or changes (delta).</summary>
public enum OneRosterFileMode
{
    Absent,
    Bulk,
    Delta,
}

/// <summary>One problem with the set: the file, the line (1 is the header), the column if one, what is wrong.</summary>
public sealed record OneRosterError(string File, int Line, string? Column, string Message);

public sealed record OneRosterOrg(string SourcedId, bool ToBeDeleted, string Name, string Type, int Line);

public sealed record OneRosterClass(string SourcedId, bool ToBeDeleted, string Title, string SchoolSourcedId, string ClassType, int? Grade, int Line);

/// <summary>
/// A user. <see cref="Role"/> is the 1.1 <c>role</c> column or, in 1.2, the primary role in roles.csv;
/// <see cref="Orgs"/> the orgs in 1.1's <c>orgSourcedIds</c>, or 1.2's <c>primaryOrgSourcedId</c> then the role orgs.
/// </summary>
public sealed class OneRosterUser
{
    public required string SourcedId { get; init; }
    public bool ToBeDeleted { get; init; }
    public required string GivenName { get; init; }
    public required string FamilyName { get; init; }
    public string? Email { get; init; }
    public int? Grade { get; init; }
    public string? Role { get; set; }
    public List<string> Orgs { get; } = [];
    public int Line { get; init; }
}

public sealed record OneRosterEnrollment(string SourcedId, bool ToBeDeleted, string ClassSourcedId, string UserSourcedId, string Role, int Line);

/// <summary>A OneRoster CSV set as read: what each file holds and every problem found in it.</summary>
public sealed class OneRosterSet
{
    public OneRosterVersion Version { get; set; }
    public Dictionary<string, OneRosterFileMode> Modes { get; } = new(StringComparer.Ordinal);
    public List<OneRosterOrg> Orgs { get; } = [];
    public List<OneRosterClass> Classes { get; } = [];
    public List<OneRosterUser> Users { get; } = [];
    public List<OneRosterEnrollment> Enrollments { get; } = [];
    public List<OneRosterError> Errors { get; } = [];

    public OneRosterFileMode Mode(string file) => Modes.GetValueOrDefault(file, OneRosterFileMode.Absent);
}

/// <summary>
/// Reads the OneRoster 1.1 and 1.2 CSV bindings (the manifest, orgs, classes, users, 1.2's roles, and
/// enrollments; academic sessions, courses and the other optional files are accepted and not used).
/// Checks what can be checked without the stored roster: required columns (a file without one is
/// refused whole), required values, enumerations, field lengths, duplicate sourcedIds, row counts.
/// References between records are checked by <see cref="ImportPlanner"/>, which also knows the stored roster (for deltas).
/// </summary>
public static class OneRosterReader
{
    public const int MaxSourcedIdLength = 255;

    public const string Manifest = "manifest.csv", Orgs = "orgs.csv", Classes = "classes.csv", Users = "users.csv", Roles = "roles.csv", Enrollments = "enrollments.csv";

    private static readonly string[] DataFiles = ["academicSessions.csv", "categories.csv", Classes, "classResources.csv", "courses.csv", "courseResources.csv",
        "demographics.csv", Enrollments, "lineItems.csv", Orgs, "resources.csv", "results.csv", Users, Roles, "userProfiles.csv", "userResources.csv",
        "lineItemLearningObjectiveIds.csv", "lineItemScoreScales.csv", "resultLearningObjectiveIds.csv", "resultScoreScales.csv", "scoreScales.csv"];

    private static readonly HashSet<string> OrgTypes = ["department", "school", "district", "local", "state", "national"];
    private static readonly HashSet<string> ClassTypes = ["homeroom", "scheduled"];
    private static readonly HashSet<string> Roles11 = ["administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher"];
    private static readonly HashSet<string> Roles12 = ["aide", "counselor", "districtAdministrator", "guardian", "parent", "principal", "proctor", "relative",
        "siteAdministrator", "student", "systemAdministrator", "teacher"];
    private static readonly HashSet<string> EnrollmentRoles = ["administrator", "proctor", "student", "teacher"];
    private static readonly HashSet<string> RoleTypes = ["primary", "secondary"];

    public static OneRosterSet Read(IReadOnlyDictionary<string, byte[]> files, OneRosterOptions options)
    {
        var set = new OneRosterSet();
        if (!files.TryGetValue(Manifest, out var manifestBytes))
        {
            set.Errors.Add(new OneRosterError(Manifest, 0, null, "The set has no manifest.csv."));
            return set;
        }

        var manifest = Table.Load(set, Manifest, manifestBytes, ["propertyName", "value"], delta: false, options);
        if (manifest is null)
        {
            return set;
        }

        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var row in manifest.Rows)
        {
            properties[manifest.Get(row, "propertyName")] = manifest.Get(row, "value");
        }

        switch (properties.GetValueOrDefault("oneroster.version"))
        {
            case "1.1":
                set.Version = OneRosterVersion.V1_1;
                break;
            case "1.2":
                set.Version = OneRosterVersion.V1_2;
                break;
            case var other:
                set.Errors.Add(new OneRosterError(Manifest, 0, "oneroster.version", other is null ? "The manifest does not say oneroster.version (1.1 or 1.2)." : $"Unknown OneRoster version '{Clip(other)}': 1.1 or 1.2."));
                return set;
        }

        foreach (var file in DataFiles)
        {
            var mode = properties.GetValueOrDefault("file." + file[..^4]) ?? "absent";
            set.Modes[file] = mode switch
            {
                "bulk" => OneRosterFileMode.Bulk,
                "delta" => OneRosterFileMode.Delta,
                "absent" => OneRosterFileMode.Absent,
                _ => Fail(file, mode),
            };
            if (set.Modes[file] != OneRosterFileMode.Absent && !files.ContainsKey(file))
            {
                set.Errors.Add(new OneRosterError(Manifest, 0, "file." + file[..^4], $"The manifest lists {file} as {mode}, but the set has no such file."));
                set.Modes[file] = OneRosterFileMode.Absent;
            }
        }

        if (set.Version == OneRosterVersion.V1_1 && set.Mode(Roles) != OneRosterFileMode.Absent)
        {
            set.Errors.Add(new OneRosterError(Manifest, 0, "file.roles", "roles.csv belongs to OneRoster 1.2; this set says 1.1."));
            set.Modes[Roles] = OneRosterFileMode.Absent;
        }

        ReadOrgs(set, files, options);
        ReadClasses(set, files, options);
        ReadUsers(set, files, options);
        ReadEnrollments(set, files, options);
        return set;

        OneRosterFileMode Fail(string file, string mode)
        {
            set.Errors.Add(new OneRosterError(Manifest, 0, "file." + file[..^4], $"Unknown processing mode '{Clip(mode)}': bulk, delta or absent."));
            return OneRosterFileMode.Absent;
        }
    }

    private static void ReadOrgs(OneRosterSet set, IReadOnlyDictionary<string, byte[]> files, OneRosterOptions options)
    {
        if (Open(set, files, Orgs, ["sourcedId", "name", "type"], options) is not { } table)
        {
            return;
        }

        foreach (var row in table.Rows)
        {
            var line = row.Line;
            if (table.Record(row) is not { } record)
            {
                continue;
            }

            var name = table.Required(row, "name", RosterLimits.MaxNameLength);
            var type = table.Enum(row, "type", OrgTypes);
            if (name is not null && type is not null)
            {
                set.Orgs.Add(new OneRosterOrg(record.SourcedId, record.ToBeDeleted, name, type, line));
            }
        }
    }

    private static void ReadClasses(OneRosterSet set, IReadOnlyDictionary<string, byte[]> files, OneRosterOptions options)
    {
        if (Open(set, files, Classes, ["sourcedId", "title", "classType", "schoolSourcedId"], options) is not { } table)
        {
            return;
        }

        foreach (var row in table.Rows)
        {
            if (table.Record(row) is not { } record)
            {
                continue;
            }

            var title = table.Required(row, "title", RosterLimits.MaxNameLength);
            var type = table.Enum(row, "classType", ClassTypes);
            var school = table.Required(row, "schoolSourcedId", MaxSourcedIdLength);
            var grade = table.Grade(row);
            if (title is not null && type is not null && school is not null && grade.Ok)
            {
                set.Classes.Add(new OneRosterClass(record.SourcedId, record.ToBeDeleted, title, school, type, grade.Value, row.Line));
            }
        }
    }

    private static void ReadUsers(OneRosterSet set, IReadOnlyDictionary<string, byte[]> files, OneRosterOptions options)
    {
        var v11 = set.Version == OneRosterVersion.V1_1;
        string[] required = v11
            ? ["sourcedId", "enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName"]
            : ["sourcedId", "enabledUser", "username", "givenName", "familyName"];
        if (Open(set, files, Users, required, options) is not { } table)
        {
            return;
        }

        var byId = new Dictionary<string, OneRosterUser>(StringComparer.Ordinal);
        foreach (var row in table.Rows)
        {
            if (table.Record(row) is not { } record)
            {
                continue;
            }

            var given = table.Required(row, "givenName", RosterLimits.MaxNameLength);
            var family = table.Required(row, "familyName", RosterLimits.MaxNameLength);
            var email = table.Optional(row, "email", PeopleDirectory.MaxEmailLength);
            var role = v11 ? table.Enum(row, "role", Roles11) : null;
            var grade = table.Grade(row);
            List<string>? orgs;
            if (v11)
            {
                orgs = table.List(row, "orgSourcedIds");
            }
            else
            {
                var primary = table.Optional(row, "primaryOrgSourcedId", MaxSourcedIdLength);
                orgs = primary == Table.Bad ? null : primary is { Length: > 0 } ? [primary] : [];
            }

            if (given is null || family is null || !grade.Ok || (v11 && role is null) || email == Table.Bad || orgs is null)
            {
                continue;
            }

            var user = new OneRosterUser
            {
                SourcedId = record.SourcedId, ToBeDeleted = record.ToBeDeleted, GivenName = given, FamilyName = family,
                Email = email is { Length: > 0 } ? email : null, Grade = grade.Value, Role = role, Line = row.Line,
            };
            user.Orgs.AddRange(orgs);
            set.Users.Add(user);
            byId[user.SourcedId] = user;
        }

        if (v11)
        {
            return;
        }

        // OneRoster 1.2 keeps roles apart: a user's role is their primary one, their orgs those of their roles after primaryOrgSourcedId.
        if (Open(set, files, Roles, ["sourcedId", "userSourcedId", "roleType", "role", "orgSourcedId"], options) is not { } roles)
        {
            return;
        }

        var primaries = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in roles.Rows)
        {
            if (roles.Record(row) is not { } record)
            {
                continue;
            }

            var userId = roles.Required(row, "userSourcedId", MaxSourcedIdLength);
            var roleType = roles.Enum(row, "roleType", RoleTypes);
            var role = roles.Enum(row, "role", Roles12);
            var org = roles.Required(row, "orgSourcedId", MaxSourcedIdLength);
            if (userId is null || roleType is null || role is null || org is null || record.ToBeDeleted)
            {
                continue;
            }

            if (!byId.TryGetValue(userId, out var user))
            {
                if (set.Mode(Users) == OneRosterFileMode.Bulk)
                {
                    set.Errors.Add(new OneRosterError(Roles, row.Line, "userSourcedId", $"No user '{Clip(userId)}' in users.csv."));
                }

                continue;
            }

            if (roleType == "primary")
            {
                if (!primaries.Add(userId))
                {
                    set.Errors.Add(new OneRosterError(Roles, row.Line, "roleType", $"User '{Clip(userId)}' has a second primary role."));
                    continue;
                }

                user.Role = role;
            }
            else
            {
                user.Role ??= role;
            }

            if (!user.Orgs.Contains(org))
            {
                user.Orgs.Add(org);
            }
        }

        foreach (var user in set.Users.Where(u => u.Role is null && !u.ToBeDeleted))
        {
            set.Errors.Add(new OneRosterError(Users, user.Line, "sourcedId", $"User '{Clip(user.SourcedId)}' has no role in roles.csv."));
        }
    }

    private static void ReadEnrollments(OneRosterSet set, IReadOnlyDictionary<string, byte[]> files, OneRosterOptions options)
    {
        if (Open(set, files, Enrollments, ["sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"], options) is not { } table)
        {
            return;
        }

        foreach (var row in table.Rows)
        {
            if (table.Record(row) is not { } record)
            {
                continue;
            }

            var classId = table.Required(row, "classSourcedId", MaxSourcedIdLength);
            var userId = table.Required(row, "userSourcedId", MaxSourcedIdLength);
            var role = table.Enum(row, "role", EnrollmentRoles);
            if (classId is not null && userId is not null && role is not null)
            {
                set.Enrollments.Add(new OneRosterEnrollment(record.SourcedId, record.ToBeDeleted, classId, userId, role, row.Line));
            }
        }
    }

    private static Table? Open(OneRosterSet set, IReadOnlyDictionary<string, byte[]> files, string file, string[] required, OneRosterOptions options)
    {
        var mode = set.Mode(file);
        if (mode == OneRosterFileMode.Absent)
        {
            return null;
        }

        var delta = mode == OneRosterFileMode.Delta;
        return Table.Load(set, file, files[file], delta ? [.. required, "status", "dateLastModified"] : required, delta, options);
    }

    internal static string Clip(string value) => value.Length > 60 ? value[..60] + "…" : value;

    /// <summary>One CSV file being read: its header, its records, and the checks that report into the set's errors.</summary>
    private sealed class Table
    {
        /// <summary>What <see cref="Optional"/> returns for a value that is there but wrong (already reported).</summary>
        public const string Bad = "\u0000bad";

        private readonly OneRosterSet _set;
        private readonly string _file;
        private readonly bool _delta;
        private readonly Dictionary<string, int> _columns;
        private readonly HashSet<string> _ids = new(StringComparer.Ordinal);

        private Table(OneRosterSet set, string file, bool delta, Dictionary<string, int> columns, List<CsvRecord> rows)
        {
            _set = set;
            _file = file;
            _delta = delta;
            _columns = columns;
            Rows = rows;
        }

        public List<CsvRecord> Rows { get; }

        public static Table? Load(OneRosterSet set, string file, byte[] bytes, string[] required, bool delta, OneRosterOptions options)
        {
            if (CsvRecords.Decode(bytes) is not { } text)
            {
                set.Errors.Add(new OneRosterError(file, 0, null, "The file is not UTF-8 text."));
                return null;
            }

            var records = CsvRecords.Parse(text, out var error);
            if (error is not null)
            {
                set.Errors.Add(new OneRosterError(file, records.Count > 0 ? records[^1].Line : 1, null, error));
                return null;
            }

            if (records.Count == 0)
            {
                set.Errors.Add(new OneRosterError(file, 1, null, "The file has no header."));
                return null;
            }

            if (records.Count - 1 > options.MaxRowsPerFile)
            {
                set.Errors.Add(new OneRosterError(file, 0, null, $"The file has {records.Count - 1:N0} rows; at most {options.MaxRowsPerFile:N0} are accepted."));
                return null;
            }

            var columns = new Dictionary<string, int>(StringComparer.Ordinal);
            var header = records[0].Fields;
            for (var i = 0; i < header.Length; i++)
            {
                columns.TryAdd(header[i].Trim(), i);
            }

            var missing = required.Where(c => !columns.ContainsKey(c)).ToList();
            if (missing.Count > 0)
            {
                foreach (var column in missing)
                {
                    set.Errors.Add(new OneRosterError(file, 1, column, $"Required column '{column}' is missing; the file is refused."));
                }

                return null;
            }

            records.RemoveAt(0);
            return new Table(set, file, delta, columns, records);
        }

        public string Get(CsvRecord row, string column) =>
            _columns.TryGetValue(column, out var i) && i < row.Fields.Length ? row.Fields[i].Trim() : "";

        public (string SourcedId, bool ToBeDeleted)? Record(CsvRecord row)
        {
            var id = Required(row, "sourcedId", MaxSourcedIdLength);
            var ok = id is not null;
            var toBeDeleted = false;
            var status = Get(row, "status");
            if (_delta)
            {
                switch (status)
                {
                    case "active":
                        break;
                    case "tobedeleted":
                        toBeDeleted = true;
                        break;
                    case "":
                        Error(row, "status", "Required in a delta file: active or tobedeleted.");
                        ok = false;
                        break;
                    default:
                        Error(row, "status", $"Unknown status '{Clip(status)}': active or tobedeleted.");
                        ok = false;
                        break;
                }

                if (Get(row, "dateLastModified") is var modified && !DateTimeOffset.TryParse(modified, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _))
                {
                    Error(row, "dateLastModified", modified.Length == 0 ? "Required in a delta file." : $"Not a date and time: '{Clip(modified)}'.");
                    ok = false;
                }
            }
            else if (status is not ("" or "active" or "tobedeleted"))
            {
                Error(row, "status", $"Unknown status '{Clip(status)}': active or tobedeleted.");
                ok = false;
            }

            if (id is not null && !_ids.Add(id))
            {
                Error(row, "sourcedId", $"Duplicate sourcedId '{Clip(id)}'.");
                ok = false;
            }

            return ok ? (id!, toBeDeleted) : null;
        }

        public string? Required(CsvRecord row, string column, int maxLength)
        {
            var value = Get(row, column);
            if (value.Length == 0)
            {
                Error(row, column, "Required.");
                return null;
            }

            if (value.Length > maxLength)
            {
                Error(row, column, $"Longer than {maxLength} characters.");
                return null;
            }

            return value;
        }

        public string? Optional(CsvRecord row, string column, int maxLength)
        {
            var value = Get(row, column);
            if (value.Length > maxLength)
            {
                Error(row, column, $"Longer than {maxLength} characters.");
                return Bad;
            }

            return value;
        }

        public string? Enum(CsvRecord row, string column, HashSet<string> allowed)
        {
            var value = Get(row, column);
            if (allowed.Contains(value) || (value.StartsWith("ext:", StringComparison.Ordinal) && value.Length <= 100))
            {
                return value;
            }

            Error(row, column, value.Length == 0 ? $"Required: one of {string.Join(", ", allowed.Order(StringComparer.Ordinal))}." : $"Unknown {column} '{Clip(value)}': one of {string.Join(", ", allowed.Order(StringComparer.Ordinal))}.");
            return null;
        }

        public List<string>? List(CsvRecord row, string column)
        {
            var items = Get(row, column).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            if (items.Any(i => i.Length > MaxSourcedIdLength))
            {
                Error(row, column, $"A sourcedId is longer than {MaxSourcedIdLength} characters.");
                return null;
            }

            return items;
        }

        /// <summary>The first grade of a <c>grades</c> list (CEDS codes) as a grade level: PK is -1, KG 0, 01 to 13.</summary>
        public (bool Ok, int? Value) Grade(CsvRecord row)
        {
            var grades = Get(row, "grades").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            int? level = null;
            foreach (var grade in grades)
            {
                int? value = grade switch
                {
                    "IT" or "PR" or "PK" => -1,
                    "TK" or "KG" => 0,
                    "PS" or "UG" or "Other" => null,
                    _ when int.TryParse(grade, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 13 => n,
                    _ => int.MinValue,
                };
                if (value == int.MinValue)
                {
                    Error(row, "grades", $"Unknown grade '{Clip(grade)}': a CEDS grade code such as PK, KG, 01 to 13, PS or UG.");
                    return (false, null);
                }

                level ??= value;
            }

            return (true, level);
        }

        private void Error(CsvRecord row, string column, string message) => _set.Errors.Add(new OneRosterError(_file, row.Line, column, message));
    }
}
