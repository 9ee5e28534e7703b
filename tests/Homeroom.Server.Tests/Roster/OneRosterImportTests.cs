using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Homeroom.OneRosterData;
using Homeroom.Server.Data;
using Homeroom.Server.Roster;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Roster;

/// <summary>A server with small OneRoster limits (1 MB uploads, 20 MB unpacked), for refusals that must store nothing.</summary>
public abstract class OneRosterLimitsHost(DatabaseProvider provider) : SharedHost(provider, OneRosterImportTests.Limits)
{
    public DatabaseProvider Provider { get; } = provider;
}

public sealed class OneRosterLimitsSqliteHost() : OneRosterLimitsHost(DatabaseProvider.Sqlite);

public sealed class OneRosterLimitsPostgresHost() : OneRosterLimitsHost(DatabaseProvider.Postgres);

/// <summary>
/// OneRoster CSV import through the real API and database: a realistic set (3 schools, 2,000 students,
/// 100 classes) in 1.1 and 1.2, re-import idempotence, a delta, archiving, an apply refused when the
/// roster changed since the preview, and every kind of bad input refused or reported by line with the
/// stored roster unchanged. Tests that apply start their own server (a bulk import archives what it does not list).
/// </summary>
public abstract class OneRosterImportTests(OneRosterLimitsHost shared)
{
    public static readonly string[] Limits = ["Homeroom:OneRoster:MaxUploadBytes=1000000", "Homeroom:OneRoster:MaxUncompressedBytes=20000000"];

    private const string Imports = "/api/roster/oneroster/imports";

    private sealed record Counts(int Schools, int People, int ArchivedPeople, int Classes, int ArchivedClasses, int Members);

    [Theory]
    [InlineData("1.1")]
    [InlineData("1.2")]
    public async Task BulkImport_RealisticSet_CreatesEverything_AndAReimportChangesNothing(string version)
    {
        await using var host = await HomeroomHost.StartAsync(shared.Provider, Limits);
        var builder = new OneRosterSetBuilder(seed: 18) { Version = version };
        var zip = OneRosterSetBuilder.Zip(builder.Build());

        var (status, preview) = await UploadAsync(host, zip);
        status.ShouldBe(HttpStatusCode.Created, preview.ToString());
        preview.GetProperty("state").GetString().ShouldBe("previewed");
        var counts = preview.GetProperty("preview");
        counts.GetProperty("version").GetString().ShouldBe(version);
        counts.GetProperty("errorCount").GetInt32().ShouldBe(0, counts.GetProperty("errors").ToString());
        counts.GetProperty("schools").GetProperty("created").GetInt32().ShouldBe(3);
        counts.GetProperty("students").GetProperty("created").GetInt32().ShouldBe(2_000);
        counts.GetProperty("teachers").GetProperty("created").GetInt32().ShouldBe(60);
        counts.GetProperty("classes").GetProperty("created").GetInt32().ShouldBe(100);
        counts.GetProperty("membershipsAdded").GetInt32().ShouldBe(builder.EnrollmentCount);
        counts.GetProperty("skippedUsers").GetInt32().ShouldBe(10); // the guardians
        counts.GetProperty("samples").GetArrayLength().ShouldBeGreaterThan(0);

        // The preview changed nothing.
        (await CountsAsync(host)).ShouldBe(new Counts(0, 0, 0, 0, 0, 0));

        var (applied, body) = await ApplyAsync(host, preview.GetProperty("id").GetGuid());
        applied.ShouldBe(HttpStatusCode.OK, body.ToString());
        body.GetProperty("state").GetString().ShouldBe("applied");
        (await CountsAsync(host)).ShouldBe(new Counts(3, 2_060, 0, 100, 0, builder.EnrollmentCount));

        // Grades and teachers as the files say.
        await using (var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            var teacher = await db.People.SingleAsync(p => p.SourcedId == OneRosterSetBuilder.TeacherId(0));
            teacher.Kind.ShouldBe(PersonKind.Staff);
            teacher.GradeLevel.ShouldBeNull();
            (await db.GroupMembers.CountAsync(m => m.PersonId == teacher.Id)).ShouldBeGreaterThan(0);
            var school = await db.Schools.SingleAsync(s => s.SourcedId == OneRosterSetBuilder.SchoolId(0));
            teacher.SchoolId.ShouldBe(school.Id);
            (await db.People.CountAsync(p => p.Kind == PersonKind.Student && p.GradeLevel != null)).ShouldBe(2_000);
            (await db.StaffAccounts.CountAsync(a => a.PersonId == teacher.Id)).ShouldBe(0); // no staff accounts from the roster
        }

        // The same set again: nothing to do, and nothing done.
        var (again, second) = await UploadAsync(host, zip);
        again.ShouldBe(HttpStatusCode.Created);
        second.GetProperty("preview").GetProperty("changes").GetInt32().ShouldBe(0);
        second.GetProperty("preview").GetProperty("students").GetProperty("unchanged").GetInt32().ShouldBe(2_000);
        (await ApplyAsync(host, second.GetProperty("id").GetGuid())).Status.ShouldBe(HttpStatusCode.OK);
        (await CountsAsync(host)).ShouldBe(new Counts(3, 2_060, 0, 100, 0, builder.EnrollmentCount));

        // The history names both, newest first, and the audit log the applies.
        var history = await host.GetJsonAsync<JsonElement>(Imports);
        history.EnumerateArray().Select(i => i.GetProperty("id").GetGuid()).Take(2).ShouldBe([second.GetProperty("id").GetGuid(), preview.GetProperty("id").GetGuid()]);
        await using (var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            (await db.AuditLog.CountAsync(a => a.Action == "oneroster.apply")).ShouldBe(2);
        }
    }

    [Fact]
    public async Task Delta_ChangesArchivesAndRemovesOnlyWhatItLists()
    {
        await using var host = await HomeroomHost.StartAsync(shared.Provider, Limits);
        var builder = new OneRosterSetBuilder(seed: 7) { Students = 40, Teachers = 3, Classes = 6, Guardians = 0 };
        await ImportAsync(host, OneRosterSetBuilder.Zip(builder.Build()));
        var before = await CountsAsync(host);

        var delta = DeltaManifest("users", "enrollments");
        var users = new OneRosterSetBuilder.Csv("sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password");
        users.Row(OneRosterSetBuilder.StudentId(1), "active", "2026-12-01T10:00:00Z", "true", "sch-001", "student", "renamed", "", "Renamed", "Student", "", "", "", "", "", "", "05", "");
        users.Row(OneRosterSetBuilder.StudentId(2), "tobedeleted", "2026-12-01T10:00:00Z", "true", "sch-002", "student", "gone", "", "Gone", "Student", "", "", "", "", "", "", "05", "");
        users.Row("stu-new", "active", "2026-12-01T10:00:00Z", "true", "sch-000", "student", "new", "", "New", "Student", "", "", "", "", "", "", "KG", "");
        var enrollments = new OneRosterSetBuilder.Csv("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary", "beginDate", "endDate");
        enrollments.Row("enr-new", "active", "2026-12-01T10:00:00Z", OneRosterSetBuilder.ClassId(0), "sch-000", "stu-new", "student", "false", "", "");
        enrollments.Row("enr-x", "tobedeleted", "2026-12-01T10:00:00Z", OneRosterSetBuilder.ClassId(3), "sch-000", OneRosterSetBuilder.StudentId(3), "student", "false", "", "");
        delta["users.csv"] = users.ToString();
        delta["enrollments.csv"] = enrollments.ToString();

        var preview = await ImportAsync(host, OneRosterSetBuilder.Zip(delta));
        preview.GetProperty("students").GetProperty("created").GetInt32().ShouldBe(1);
        preview.GetProperty("students").GetProperty("changed").GetInt32().ShouldBe(1);
        preview.GetProperty("students").GetProperty("archived").GetInt32().ShouldBe(1);
        preview.GetProperty("membershipsAdded").GetInt32().ShouldBe(1);
        preview.GetProperty("membershipsRemoved").GetInt32().ShouldBe(1);

        (await CountsAsync(host)).ShouldBe(before with { People = before.People + 1, ArchivedPeople = 1, Members = before.Members });
        await using var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var renamed = await db.People.SingleAsync(p => p.SourcedId == OneRosterSetBuilder.StudentId(1));
        (renamed.GivenName, renamed.GradeLevel).ShouldBe(("Renamed", 5));
        (await db.People.SingleAsync(p => p.SourcedId == OneRosterSetBuilder.StudentId(2))).ArchivedAt.ShouldNotBeNull();
        var student3 = await db.People.SingleAsync(p => p.SourcedId == OneRosterSetBuilder.StudentId(3));
        var class3 = await db.Groups.SingleAsync(g => g.SourcedId == OneRosterSetBuilder.ClassId(3));
        (await db.GroupMembers.AnyAsync(m => m.PersonId == student3.Id && m.GroupId == class3.Id)).ShouldBeFalse();
        (await db.People.CountAsync(p => p.ArchivedAt == null && p.SourcedId != null)).ShouldBe(before.People);
    }

    [Fact]
    public async Task Bulk_ArchivesWhoAndWhatItNoLongerLists_KeepsDevicesAndHandMadePeople()
    {
        await using var host = await HomeroomHost.StartAsync(shared.Provider, Limits);
        var full = new OneRosterSetBuilder(seed: 3) { Students = 30, Teachers = 3, Classes = 6, Guardians = 0 };
        await ImportAsync(host, OneRosterSetBuilder.Zip(full.Build()));
        var handMade = (await host.PostJsonAsync<JsonElement>("/api/people", new { kind = "student", givenName = "Hand", familyName = "Made" })).GetProperty("id").GetGuid();
        Guid leaver;
        await using (var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            leaver = await db.People.Where(p => p.SourcedId == OneRosterSetBuilder.StudentId(29)).Select(p => p.Id).SingleAsync();
        }

        var enrolled = await host.EnrollAsync(await host.CreateTokenAsync(), "SN-ONEROSTER-1");
        await using (var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            await db.Devices.Where(d => d.Id == enrolled.DeviceId).ExecuteUpdateAsync(s => s.SetProperty(d => d.AssignedPersonId, leaver));
        }

        // The same district a term later: the last student and the last class are gone.
        var smaller = new OneRosterSetBuilder(seed: 3) { Students = 29, Teachers = 3, Classes = 5, Guardians = 0 };
        var preview = await ImportAsync(host, OneRosterSetBuilder.Zip(smaller.Build()));
        preview.GetProperty("students").GetProperty("archived").GetInt32().ShouldBe(1);
        preview.GetProperty("classes").GetProperty("archived").GetInt32().ShouldBe(1);

        await using (var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            var person = await db.People.SingleAsync(p => p.Id == leaver);
            person.ArchivedAt.ShouldNotBeNull();
            (await db.Devices.SingleAsync(d => d.Id == enrolled.DeviceId)).AssignedPersonId.ShouldBe(leaver);
            (await db.Groups.SingleAsync(g => g.SourcedId == OneRosterSetBuilder.ClassId(5))).ArchivedAt.ShouldNotBeNull();
            (await db.People.SingleAsync(p => p.Id == handMade)).ArchivedAt.ShouldBeNull();
        }

        // Back on the roster: no longer archived, never duplicated.
        var back = await ImportAsync(host, OneRosterSetBuilder.Zip(full.Build()));
        back.GetProperty("students").GetProperty("created").GetInt32().ShouldBe(0);
        back.GetProperty("classes").GetProperty("created").GetInt32().ShouldBe(0);
        (await CountsAsync(host)).ShouldBe(new Counts(3, 33, 0, 6, 0, (await CountsAsync(host)).Members));
    }

    [Fact]
    public async Task ArchivedClass_NoLongerDecidesPolicy_NorShowsInTheActiveLists()
    {
        await using var host = await HomeroomHost.StartAsync(shared.Provider, Limits);
        var full = new OneRosterSetBuilder(seed: 4) { Students = 30, Teachers = 3, Classes = 6, Guardians = 0 };
        await ImportAsync(host, OneRosterSetBuilder.Zip(full.Build()));
        Guid lastClass, student;
        await using (var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            lastClass = await db.Groups.Where(g => g.SourcedId == OneRosterSetBuilder.ClassId(5)).Select(g => g.Id).SingleAsync();
            student = await db.GroupMembers.Where(m => m.GroupId == lastClass && db.People.Any(p => p.Id == m.PersonId && p.Kind == PersonKind.Student))
                .Select(m => m.PersonId).FirstAsync();
        }

        var device = (await host.EnrollAsync(await host.CreateTokenAsync(), "SN-ONEROSTER-ARCHIVE")).DeviceId;
        await using (var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            await db.Devices.Where(d => d.Id == device).ExecuteUpdateAsync(s => s.SetProperty(d => d.AssignedPersonId, student));
        }

        var profile = (await host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Class rules", settings = new { restrictions = new { camera = false } } })).GetProperty("id").GetGuid();
        (await host.PostJsonAsync("/api/assignments", new { profileId = profile, level = "group", scopeId = lastClass.ToString() })).EnsureSuccessStatusCode();
        async Task<bool> CameraFromTheClassAsync() =>
            (await host.GetJsonAsync<JsonElement>($"/api/devices/{device}/policy")).GetProperty("settings").EnumerateArray()
                .Any(s => s.GetProperty("key").GetString() == "restrictions.camera" && s.GetProperty("source").ValueKind == JsonValueKind.Object);
        (await CameraFromTheClassAsync()).ShouldBeTrue();

        // A term later the class is gone from the roster: archived, its members kept, its assignment no longer reaching them.
        await ImportAsync(host, OneRosterSetBuilder.Zip(new OneRosterSetBuilder(seed: 4) { Students = 30, Teachers = 3, Classes = 5, Guardians = 0 }.Build()));

        (await CameraFromTheClassAsync()).ShouldBeFalse();
        var active = await host.GetJsonAsync<JsonElement>("/api/groups?kind=class&pageSize=100");
        active.GetProperty("items").EnumerateArray().Select(g => g.GetProperty("id").GetGuid()).ShouldNotContain(lastClass);
        var archived = (await host.GetJsonAsync<JsonElement>("/api/groups?kind=class&archived=true&pageSize=100")).GetProperty("items").EnumerateArray().ShouldHaveSingleItem();
        archived.GetProperty("id").GetGuid().ShouldBe(lastClass);
        archived.GetProperty("archivedAt").ValueKind.ShouldBe(JsonValueKind.String);
        (await host.GetJsonAsync<JsonElement>($"/api/groups/{lastClass}")).GetProperty("memberCount").GetInt32().ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task Apply_AfterTheRosterChanged_IsRefused_AndThePreviewComputedAgain()
    {
        await using var host = await HomeroomHost.StartAsync(shared.Provider, Limits);
        var first = new OneRosterSetBuilder(seed: 5) { Students = 10, Teachers = 3, Classes = 3, Guardians = 0 };
        var (_, preview) = await UploadAsync(host, OneRosterSetBuilder.Zip(first.Build()));
        var id = preview.GetProperty("id").GetGuid();

        // Another import lands first.
        await ImportAsync(host, OneRosterSetBuilder.Zip(new OneRosterSetBuilder(seed: 5) { Students = 4, Teachers = 3, Classes = 3, Guardians = 0 }.Build()));
        var before = await CountsAsync(host);

        var (status, body) = await ApplyAsync(host, id);
        status.ShouldBe(HttpStatusCode.Conflict, body.ToString());
        body.GetProperty("import").GetProperty("preview").GetProperty("students").GetProperty("created").GetInt32().ShouldBe(6);
        (await CountsAsync(host)).ShouldBe(before);

        // The recomputed preview applies.
        (await ApplyAsync(host, id)).Status.ShouldBe(HttpStatusCode.OK);
        (await CountsAsync(host)).People.ShouldBe(13);
        (await ApplyAsync(host, id)).Status.ShouldBe(HttpStatusCode.Conflict); // once only
    }

    [Fact]
    public async Task ByteOrderMarkAndQuotedNewlines_AreRead()
    {
        var files = Small();
        files["users.csv"] = "\uFEFF" + files["users.csv"];
        var classes = new OneRosterSetBuilder.Csv("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods");
        classes.Row("cls-q", "", "", "Algebra\r\nPeriod 2, room \"B\"", "09", "", "", "scheduled", "", "sch-000", "", "", "", "");
        classes.Row("cls-bad", "", "", "Art", "09", "", "", "lecture", "", "sch-000", "", "", "", "");
        files["classes.csv"] = classes.ToString();
        var (status, body) = await UploadAsync(shared.Host, Zip(files));
        status.ShouldBe(HttpStatusCode.Created);
        var errors = Errors(body);

        // users.csv's header was read through its byte-order mark; the quoted line break moved the next record to line 4.
        errors.ShouldBe([("classes.csv", 4, "classType")]);
        body.GetProperty("preview").GetProperty("samples").EnumerateArray().Select(s => s.GetString()).ShouldContain("create class 'Algebra\r\nPeriod 2, room \"B\"' (cls-q)");
    }

    public static TheoryData<string> BadRows() => ["missing column", "unknown role", "unknown status", "duplicate sourcedId", "missing org", "missing class", "missing user", "unknown grade"];

    [Theory]
    [MemberData(nameof(BadRows))]
    public async Task BadRows_AreReportedByLine_AndCannotBeApplied(string problem)
    {
        var files = Small();
        var users = new OneRosterSetBuilder.Csv("sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password");
        users.Row("u1", "", "", "true", "sch-000", "student", "u1", "", "Ada", "One", "", "", "", "", "", "", "05", "");
        users.Row("u2", "", "", "true", problem == "missing org" ? "sch-404" : "sch-000", problem == "unknown role" ? "wizard" : "student", "u2", "", "Ada", "Two", "", "", "", "", "", "",
            problem == "unknown grade" ? "Year 5" : "05", "");
        users.Row(problem == "duplicate sourcedId" ? "u1" : "u3", problem == "unknown status" ? "gone" : "", "", "true", "sch-000", "teacher", "u3", "", "Ada", "Three", "", "", "", "", "", "", "", "");
        files["users.csv"] = problem == "missing column" ? users.ToString().Replace("givenName,", "", StringComparison.Ordinal) : users.ToString();
        var enrollments = new OneRosterSetBuilder.Csv("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary", "beginDate", "endDate");
        enrollments.Row("e1", "", "", problem == "missing class" ? "cls-404" : "cls-1", "sch-000", problem == "missing user" ? "u-404" : "u1", "student", "false", "", "");
        files["enrollments.csv"] = enrollments.ToString();
        var before = await CountsAsync(shared.Host);

        var (status, body) = await UploadAsync(shared.Host, Zip(files));
        status.ShouldBe(HttpStatusCode.Created, body.ToString());
        body.GetProperty("state").GetString().ShouldBe("invalid");
        var expected = problem switch
        {
            "missing column" => ("users.csv", 1, "givenName"),
            "unknown role" => ("users.csv", 3, "role"),
            "unknown status" => ("users.csv", 4, "status"),
            "duplicate sourcedId" => ("users.csv", 4, "sourcedId"),
            "missing org" => ("users.csv", 3, "orgSourcedIds"),
            "missing class" => ("enrollments.csv", 2, "classSourcedId"),
            "missing user" => ("enrollments.csv", 2, "userSourcedId"),
            _ => ("users.csv", 3, "grades"),
        };
        Errors(body).ShouldContain(expected);
        if (problem == "missing column")
        {
            Errors(body).Where(e => e.File == "users.csv").ShouldAllBe(e => e.Line == 1, "a file without a required column is refused whole");
        }

        var (applied, refusal) = await ApplyAsync(shared.Host, body.GetProperty("id").GetGuid());
        applied.ShouldBe(HttpStatusCode.Conflict);
        refusal.GetProperty("detail").GetString()!.ShouldContain("errors");
        (await CountsAsync(shared.Host)).ShouldBe(before);
    }

    public static TheoryData<string> BadPackages() => ["not a zip", "path traversal", "folder entry", "zip bomb", "too large", "empty"];

    [Theory]
    [MemberData(nameof(BadPackages))]
    public async Task BadPackages_AreRefusedWhole_AndNothingIsStored(string problem)
    {
        var before = await CountsAsync(shared.Host);
        var upload = problem switch
        {
            "not a zip" => Encoding.UTF8.GetBytes("sourcedId,name\r\n"),
            "path traversal" => ZipWith("../../etc/users.csv", "x"),
            "folder entry" => ZipWith("oneroster/", ""),
            "zip bomb" => ZipWith("demographics.csv", new string('0', 25_000_000)), // 25 MB of zeros packs to about 25 KB; the limit here is 20 MB
            "too large" => new byte[1_000_001],
            _ => [],
        };
        upload.Length.ShouldBeLessThan(problem == "too large" ? 2_000_000 : 1_000_000);

        var (status, body) = await UploadAsync(shared.Host, upload);
        status.ShouldBe(problem switch
        {
            "too large" => HttpStatusCode.RequestEntityTooLarge,
            _ => HttpStatusCode.BadRequest,
        }, body.ToString());
        if (problem is "path traversal" or "folder entry" or "zip bomb" or "not a zip")
        {
            var detail = body.GetProperty("detail").GetString()!;
            detail.ShouldContain(problem switch { "zip bomb" => "unpacks to more than", "not a zip" => "not a zip", _ => "not a plain file name" });
            var import = await shared.Host.GetJsonAsync<JsonElement>($"{Imports}/{body.GetProperty("importId").GetGuid()}");
            import.GetProperty("state").GetString().ShouldBe("refused");
        }

        (await CountsAsync(shared.Host)).ShouldBe(before);
    }

    [Fact]
    public async Task ExpiredPreview_IsNotApplied_AndItsPackageIsDeleted()
    {
        var (_, body) = await UploadAsync(shared.Host, Zip(Small()));
        var id = body.GetProperty("id").GetGuid();
        shared.Host.Clock.Advance(TimeSpan.FromHours(25));
        try
        {
            var (status, refusal) = await ApplyAsync(shared.Host, id);
            status.ShouldBe(HttpStatusCode.Conflict);
            refusal.GetProperty("detail").GetString()!.ShouldContain("expired");
            await using var db = await shared.Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
            (await db.Set<Homeroom.Server.Roster.OneRoster.OneRosterImport>().Where(i => i.Id == id).Select(i => i.Package).SingleAsync()).ShouldBeNull();
        }
        finally
        {
            shared.Host.Clock.Advance(TimeSpan.FromHours(-25));
        }
    }

    // A small valid 1.1 set: one school, one class, no users until a test adds them.
    private static Dictionary<string, string> Small()
    {
        var files = new OneRosterSetBuilder(seed: 1) { Schools = 1, Students = 2, Teachers = 1, Classes = 1, Guardians = 0 }.Build();
        var classes = new OneRosterSetBuilder.Csv("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods");
        classes.Row("cls-1", "", "", "Class one", "05", "", "", "scheduled", "", "sch-000", "", "", "", "");
        files["classes.csv"] = classes.ToString();
        files["enrollments.csv"] = new OneRosterSetBuilder.Csv("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary", "beginDate", "endDate").ToString();
        return files;
    }

    private static Dictionary<string, string> DeltaManifest(params string[] deltaFiles)
    {
        var manifest = new OneRosterSetBuilder.Csv("propertyName", "value");
        manifest.Row("manifest.version", "1.0");
        manifest.Row("oneroster.version", "1.1");
        foreach (var file in deltaFiles)
        {
            manifest.Row("file." + file, "delta");
        }

        return new Dictionary<string, string> { ["manifest.csv"] = manifest.ToString() };
    }

    private static byte[] Zip(Dictionary<string, string> files)
    {
        // Keeps a byte-order mark a test put at the start of a file's text.
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, text) in files)
            {
                using var stream = zip.CreateEntry(name).Open();
                stream.Write(new UTF8Encoding(false).GetBytes(text));
            }
        }

        return buffer.ToArray();
    }

    private static byte[] ZipWith(string entryName, string text)
    {
        var files = Small();
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                using var stream = zip.CreateEntry(name).Open();
                stream.Write(Encoding.UTF8.GetBytes(content));
            }

            using var extra = zip.CreateEntry(entryName, CompressionLevel.Optimal).Open();
            extra.Write(Encoding.UTF8.GetBytes(text));
        }

        return buffer.ToArray();
    }

    private static List<(string File, int Line, string? Column)> Errors(JsonElement import) =>
        [.. import.GetProperty("preview").GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("file").GetString()!, e.GetProperty("line").GetInt32(), e.GetProperty("column").GetString()))];

    private static async Task<(HttpStatusCode Status, JsonElement Body)> UploadAsync(HomeroomHost host, byte[] zip)
    {
        using var content = new ByteArrayContent(zip);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        using var response = await host.Client.PostAsync(new Uri($"{Imports}?fileName=set.zip", UriKind.Relative), content).WaitAsync(HomeroomHost.Timeout);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> ApplyAsync(HomeroomHost host, Guid id)
    {
        using var response = await host.Client.PostAsync(new Uri($"{Imports}/{id}/apply", UriKind.Relative), null).WaitAsync(HomeroomHost.Timeout);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    // Uploads and applies a set that must be valid; answers the preview's counts.
    private static async Task<JsonElement> ImportAsync(HomeroomHost host, byte[] zip)
    {
        var (status, body) = await UploadAsync(host, zip);
        status.ShouldBe(HttpStatusCode.Created, body.ToString());
        body.GetProperty("preview").GetProperty("errorCount").GetInt32().ShouldBe(0, body.GetProperty("preview").GetProperty("errors").ToString());
        var (applied, result) = await ApplyAsync(host, body.GetProperty("id").GetGuid());
        applied.ShouldBe(HttpStatusCode.OK, result.ToString());
        return body.GetProperty("preview");
    }

    private static async Task<Counts> CountsAsync(HomeroomHost host)
    {
        await using var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return new Counts(
            await db.Schools.CountAsync(s => s.SourcedId != null),
            await db.People.CountAsync(p => p.SourcedId != null),
            await db.People.CountAsync(p => p.SourcedId != null && p.ArchivedAt != null),
            await db.Groups.CountAsync(g => g.SourcedId != null),
            await db.Groups.CountAsync(g => g.SourcedId != null && g.ArchivedAt != null),
            await db.GroupMembers.CountAsync(m => db.Groups.Any(g => g.Id == m.GroupId && g.SourcedId != null)));
    }
}

public sealed class OneRosterImportSqliteTests(OneRosterLimitsSqliteHost shared) : OneRosterImportTests(shared), IClassFixture<OneRosterLimitsSqliteHost>;

public sealed class OneRosterImportPostgresTests(OneRosterLimitsPostgresHost shared) : OneRosterImportTests(shared), IClassFixture<OneRosterLimitsPostgresHost>;
