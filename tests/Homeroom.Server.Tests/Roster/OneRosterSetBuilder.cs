using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Homeroom.OneRosterData;

/// <summary>
/// Writes a realistic OneRoster CSV set, the same for the same seed: a district org with schools, a
/// school year, courses, classes with a teacher each, students enrolled in several classes of their
/// school, a few guardians (who are not people in Homeroom). Version 1.1 (role and orgSourcedIds in
/// users.csv) or 1.2 (roles.csv, primaryOrgSourcedId). Shared by the tests and the roster benchmark.
/// </summary>
public sealed class OneRosterSetBuilder(int seed)
{
    private static readonly string[] GivenNames = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Niklaus", "Shafi", "Tim", "Hedy"];
    private static readonly string[] FamilyNames = ["Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Wirth", "Goldwasser", "Berners-Lee", "Lamarr"];
    private static readonly string[] Subjects = ["Math", "English", "Science", "History", "Art", "Music", "Spanish", "Computing"];
    private static readonly string[] Grades = ["KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"];

    public string Version { get; init; } = "1.1";
    public int Schools { get; init; } = 3;
    public int Students { get; init; } = 2_000;
    public int Teachers { get; init; } = 60;
    public int Classes { get; init; } = 100;
    public int ClassesPerStudent { get; init; } = 4;
    public int Guardians { get; init; } = 10;

    /// <summary>Users, for sizes and checks: students then teachers then guardians.</summary>
    public int Users => Students + Teachers + Guardians;

    public static string SchoolId(int i) => $"sch-{i:D3}";
    public static string StudentId(int i) => $"stu-{i:D6}";
    public static string TeacherId(int i) => $"tea-{i:D5}";
    public static string ClassId(int i) => $"cls-{i:D5}";

    /// <summary>The set's files, by name.</summary>
    public Dictionary<string, string> Build()
    {
        var random = new Random(seed);
        var v11 = Version == "1.1";
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        var manifest = new Csv("propertyName", "value");
        manifest.Row("manifest.version", "1.0");
        manifest.Row("oneroster.version", Version);
        foreach (var file in new[] { "academicSessions", "classes", "courses", "enrollments", "orgs", "users" })
        {
            manifest.Row("file." + file, "bulk");
        }

        foreach (var file in new[] { "categories", "classResources", "courseResources", "demographics", "lineItems", "resources", "results" })
        {
            manifest.Row("file." + file, "absent");
        }

        manifest.Row("file.roles", v11 ? "absent" : "bulk");
        manifest.Row("source.systemName", "Homeroom test SIS");
        manifest.Row("source.systemCode", "seed-" + seed.ToString(CultureInfo.InvariantCulture));
        files["manifest.csv"] = manifest.ToString();

        var orgs = new Csv("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId");
        orgs.Row("dist-1", "", "", "Homeroom Unified", "district", "D1", "");
        for (var s = 0; s < Schools; s++)
        {
            orgs.Row(SchoolId(s), "", "", $"{FamilyNames[s % FamilyNames.Length]} School {s + 1}", "school", $"S{s + 1}", "dist-1");
        }

        files["orgs.csv"] = orgs.ToString();

        var sessions = new Csv("sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear");
        sessions.Row("year-2027", "", "", "2026-2027", "schoolYear", "2026-08-15", "2027-06-15", "", "2027");
        files["academicSessions.csv"] = sessions.ToString();

        var courses = new Csv("sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode", "grades", "orgSourcedId", "subjects", "subjectCodes");
        var classes = new Csv("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods");
        var classSchool = new int[Classes];
        var classGrade = new string[Classes];
        for (var c = 0; c < Classes; c++)
        {
            var school = c % Schools;
            var grade = Grades[random.Next(Grades.Length)];
            var subject = Subjects[random.Next(Subjects.Length)];
            classSchool[c] = school;
            classGrade[c] = grade;
            courses.Row($"crs-{c:D5}", "", "", "year-2027", $"{subject} {grade}", $"{subject[..3].ToUpperInvariant()}{grade}", grade, SchoolId(school), subject, "");
            classes.Row(ClassId(c), "", "", $"{subject} {grade} section {c + 1}", grade, $"crs-{c:D5}", $"C{c}", c % 10 == 0 ? "homeroom" : "scheduled", $"Room {100 + c}", SchoolId(school), "year-2027", subject, "", $"{(c % 7) + 1}");
        }

        files["courses.csv"] = courses.ToString();
        files["classes.csv"] = classes.ToString();

        var users = v11
            ? new Csv("sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password")
            : new Csv("sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password",
                "userMasterIdentifier", "resourceSourcedIds", "preferredGivenName", "preferredMiddleName", "preferredFamilyName", "primaryOrgSourcedId", "pronouns");
        var roles = new Csv("sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId");
        var enrollments = new Csv("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary", "beginDate", "endDate");
        var enrollment = 0;

        void User(string id, string role, int school, string given, string family, string grade, string agents)
        {
            var username = $"{given}.{family}.{id}".ToLowerInvariant();
            var email = username + "@homeroom-unified.example";
            if (v11)
            {
                users.Row(id, "", "", "true", $"{SchoolId(school)}", role, username, $"{{sis:{id}}}", given, family, "", id, email, "", "", agents, grade, "");
            }
            else
            {
                users.Row(id, "", "", "true", username, $"{{sis:{id}}}", given, family, "", id, email, "", "", agents, grade, "", id.ToUpperInvariant(), "", "", "", "", SchoolId(school), "");
                roles.Row("role-" + id, "", "", id, "primary", role, "", "", SchoolId(school), "");
            }
        }

        var classesBySchool = Enumerable.Range(0, Schools).Select(s => Enumerable.Range(0, Classes).Where(c => classSchool[c] == s).ToArray()).ToArray();
        for (var t = 0; t < Teachers; t++)
        {
            User(TeacherId(t), "teacher", t % Schools, GivenNames[random.Next(GivenNames.Length)], FamilyNames[random.Next(FamilyNames.Length)], "", "");
        }

        for (var c = 0; c < Classes; c++)
        {
            // A teacher of the class's school (teacher t works at school t mod Schools).
            var teacher = classSchool[c] + (Schools * ((c / Schools) % Math.Max(1, Teachers / Schools)));
            if (teacher < Teachers)
            {
                enrollments.Row($"enr-{enrollment++:D7}", "", "", ClassId(c), SchoolId(classSchool[c]), TeacherId(teacher), "teacher", "true", "", "");
            }
        }

        for (var s = 0; s < Students; s++)
        {
            var school = s % Schools;
            var grade = Grades[random.Next(Grades.Length)];
            User(StudentId(s), "student", school, GivenNames[random.Next(GivenNames.Length)], FamilyNames[random.Next(FamilyNames.Length)], grade, "");
            var own = classesBySchool[school];
            if (own.Length == 0)
            {
                continue;
            }

            var first = random.Next(own.Length);
            for (var k = 0; k < Math.Min(ClassesPerStudent, own.Length); k++)
            {
                enrollments.Row($"enr-{enrollment++:D7}", "", "", ClassId(own[(first + k) % own.Length]), SchoolId(school), StudentId(s), "student", "false", "", "");
            }
        }

        for (var g = 0; g < Guardians; g++)
        {
            User($"gua-{g:D5}", "guardian", g % Schools, GivenNames[random.Next(GivenNames.Length)], FamilyNames[random.Next(FamilyNames.Length)], "", StudentId(g % Math.Max(1, Students)));
        }

        files["users.csv"] = users.ToString();
        if (!v11)
        {
            files["roles.csv"] = roles.ToString();
        }

        files["enrollments.csv"] = enrollments.ToString();
        EnrollmentCount = enrollment;
        return files;
    }

    /// <summary>The enrollments the last <see cref="Build"/> wrote.</summary>
    public int EnrollmentCount { get; private set; }

    /// <summary>A zip of <paramref name="files"/> (UTF-8, no byte-order mark unless the text has one).</summary>
    public static byte[] Zip(IReadOnlyDictionary<string, string> files)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, text) in files)
            {
                var entry = zip.CreateEntry(name, CompressionLevel.Fastest);
                using var stream = entry.Open();
                var bytes = new UTF8Encoding(false).GetBytes(text);
                stream.Write(bytes);
            }
        }

        return buffer.ToArray();
    }

    /// <summary>A CSV file being written: fields quoted when they hold a comma, a quote or a line break.</summary>
    public sealed class Csv
    {
        private readonly StringBuilder _text = new();

        public Csv(params string[] header) => Row(header);

        public void Row(params string[] fields)
        {
            for (var i = 0; i < fields.Length; i++)
            {
                if (i > 0)
                {
                    _text.Append(',');
                }

                var field = fields[i];
                _text.Append(field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field);
            }

            _text.Append("\r\n");
        }

        public override string ToString() => _text.ToString();
    }
}
