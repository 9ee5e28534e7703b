using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace Homeroom.Server.Roster.OneRoster;

/// <summary>A reference to another record (<c>GUIDRef</c> in the specification): only its sourcedId is used.</summary>
public sealed record OneRosterRef(string? SourcedId, string? Type);

public sealed record OrgJson(string? SourcedId, string? Status, string? Name, string? Type, string? Identifier, OneRosterRef? Parent);

/// <summary>An academic session; schoolYear is a string in the specification, but some services send a number.</summary>
public sealed record SessionJson(string? SourcedId, string? Status, string? Title, string? Type, string? StartDate, string? EndDate, JsonElement? SchoolYear);

public sealed record CourseJson(string? SourcedId, string? Status, string? Title, string? CourseCode, OneRosterRef? Org, OneRosterRef? SchoolYear);

public sealed record ClassJson(string? SourcedId, string? Status, string? Title, string? ClassCode, string? ClassType, List<string>? Grades, OneRosterRef? Course, OneRosterRef? School);

/// <summary>A role of a 1.2 user.</summary>
public sealed record RoleJson(string? RoleType, string? Role, OneRosterRef? Org);

/// <summary>A user: 1.1 has <see cref="Role"/> and <see cref="Orgs"/>, 1.2 <see cref="Roles"/> and <see cref="PrimaryOrg"/>.</summary>
public sealed record UserJson(
    string? SourcedId, string? Status, string? Username, string? GivenName, string? FamilyName, string? Email, string? Role, List<OneRosterRef>? Orgs,
    List<string>? Grades, List<RoleJson>? Roles, OneRosterRef? PrimaryOrg);

public sealed record EnrollmentJson(string? SourcedId, string? Status, string? Role, OneRosterRef? User, OneRosterRef? Class, OneRosterRef? School);

/// <summary>What a full REST read fetched.</summary>
public sealed class OneRosterRestData
{
    public List<OrgJson> Orgs { get; init; } = [];
    public List<SessionJson> AcademicSessions { get; init; } = [];
    public List<CourseJson> Courses { get; init; } = [];
    public List<ClassJson> Classes { get; init; } = [];
    public List<UserJson> Users { get; init; } = [];
    public List<EnrollmentJson> Enrollments { get; init; } = [];
}

/// <summary>
/// Writes what a REST read fetched as the CSV bulk set of the same OneRoster version (every file
/// "bulk": a full sync lists the whole roster; records marked tobedeleted are left out, so they are archived), so a sync goes through exactly the checks, planner,
/// preview and apply of an upload, and a preview kept for review is applied from its stored package like
/// any other. Records are written in the order the service listed them, one CSV record each, so an error's
/// line is the record's position among those written plus one (the header), unless a value holds a line break.
/// </summary>
public static class OneRosterRestSet
{
    public static Dictionary<string, byte[]> ToCsv(OneRosterRestData data, string version)
    {
        // A bulk CSV file takes no notice of status; in a full REST read, a record marked tobedeleted is as good as
        // gone, so it is left out, and the planner archives what the bulk set no longer lists.
        static bool Listed(string? status) => !string.Equals(status, "tobedeleted", StringComparison.Ordinal);
        var v11 = version == "1.1";
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var manifest = new CsvText("propertyName", "value");
        manifest.Row("manifest.version", "1.0");
        manifest.Row("oneroster.version", version);
        foreach (var file in new[] { "academicSessions", "classes", "courses", "enrollments", "orgs", "users" })
        {
            manifest.Row("file." + file, "bulk");
        }

        manifest.Row("file.roles", v11 ? "absent" : "bulk");
        manifest.Row("source.systemName", "OneRoster REST " + version);
        files[OneRosterReader.Manifest] = manifest.Bytes();

        var orgs = new CsvText("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId");
        foreach (var o in data.Orgs.Where(r => Listed(r.Status)))
        {
            orgs.Row(o.SourcedId, o.Status, "", o.Name, o.Type, o.Identifier, o.Parent?.SourcedId);
        }

        files[OneRosterReader.Orgs] = orgs.Bytes();

        var sessions = new CsvText("sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear");
        foreach (var s in data.AcademicSessions.Where(r => Listed(r.Status)))
        {
            sessions.Row(s.SourcedId, s.Status, "", s.Title, s.Type, s.StartDate, s.EndDate, "", s.SchoolYear is { ValueKind: JsonValueKind.String or JsonValueKind.Number } year ? year.ToString() : "");
        }

        files["academicSessions.csv"] = sessions.Bytes();

        var courses = new CsvText("sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode", "grades", "orgSourcedId", "subjects", "subjectCodes");
        foreach (var c in data.Courses.Where(r => Listed(r.Status)))
        {
            courses.Row(c.SourcedId, c.Status, "", c.SchoolYear?.SourcedId, c.Title, c.CourseCode, "", c.Org?.SourcedId, "", "");
        }

        files["courses.csv"] = courses.Bytes();

        var classes = new CsvText("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods");
        foreach (var c in data.Classes.Where(r => Listed(r.Status)))
        {
            classes.Row(c.SourcedId, c.Status, "", c.Title, List(c.Grades), c.Course?.SourcedId, c.ClassCode, c.ClassType, "", c.School?.SourcedId, "", "", "", "");
        }

        files[OneRosterReader.Classes] = classes.Bytes();

        if (v11)
        {
            var users = new CsvText("sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password");
            foreach (var u in data.Users.Where(r => Listed(r.Status)))
            {
                users.Row(u.SourcedId, u.Status, "", "true", List(u.Orgs?.Select(o => o.SourcedId)), u.Role, u.Username, "", u.GivenName, u.FamilyName, "", "", u.Email, "", "", "", List(u.Grades), "");
            }

            files[OneRosterReader.Users] = users.Bytes();
        }
        else
        {
            var users = new CsvText("sourcedId", "status", "dateLastModified", "enabledUser", "username", "givenName", "familyName", "email", "grades", "primaryOrgSourcedId");
            var roles = new CsvText("sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId");
            foreach (var u in data.Users.Where(r => Listed(r.Status)))
            {
                users.Row(u.SourcedId, u.Status, "", "true", u.Username, u.GivenName, u.FamilyName, u.Email, List(u.Grades), u.PrimaryOrg?.SourcedId);
                var n = 0;
                foreach (var r in u.Roles ?? [])
                {
                    // Roles are part of the user in the REST binding; in CSV they are records of their own and need an id.
                    roles.Row($"{u.SourcedId}#role{n++}", "", "", u.SourcedId, r.RoleType, r.Role, "", "", r.Org?.SourcedId, "");
                }
            }

            files[OneRosterReader.Users] = users.Bytes();
            files[OneRosterReader.Roles] = roles.Bytes();
        }

        var enrollments = new CsvText("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary", "beginDate", "endDate");
        foreach (var e in data.Enrollments.Where(r => Listed(r.Status)))
        {
            enrollments.Row(e.SourcedId, e.Status, "", e.Class?.SourcedId, e.School?.SourcedId, e.User?.SourcedId, e.Role, "", "", "");
        }

        files[OneRosterReader.Enrollments] = enrollments.Bytes();
        return files;

        static string List(IEnumerable<string?>? items) => items is null ? "" : string.Join(',', items.Where(i => !string.IsNullOrEmpty(i)));
    }

    /// <summary>A zip of the files, as an upload would be.</summary>
    public static byte[] Zip(IReadOnlyDictionary<string, byte[]> files)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, bytes) in files)
            {
                using var stream = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
                stream.Write(bytes);
            }
        }

        return buffer.ToArray();
    }

    /// <summary>RFC 4180 CSV being written: a field is quoted when it holds a comma, a quote or a line break.</summary>
    private sealed class CsvText
    {
        private readonly StringBuilder _text = new();

        public CsvText(params string[] header) => Row(header);

        public void Row(params string?[] fields)
        {
            for (var i = 0; i < fields.Length; i++)
            {
                if (i > 0)
                {
                    _text.Append(',');
                }

                var field = fields[i] ?? "";
                _text.Append(field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field);
            }

            _text.Append("\r\n");
        }

        public byte[] Bytes() => Encoding.UTF8.GetBytes(_text.ToString());
    }
}
