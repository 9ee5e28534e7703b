using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Roster;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Roster;

/// <summary>
/// The school year rollover through the real API and database: a dry run reports and changes nothing; an apply
/// promotes students (and their grade-level policy follows), graduates grade 12 (archived, devices unassigned),
/// archives classes but not carts, refuses a second apply within the window unless forced, stays inside one
/// school when asked, and is refused to school administrators and teachers.
/// </summary>
public abstract class RolloverTests(DatabaseProvider provider) : IAsyncLifetime
{
    private const string Rollover = "/api/roster/rollover";

    private HomeroomHost _host = null!;
    private Guid _north;
    private Guid _south;

    public async Task InitializeAsync()
    {
        _host = await HomeroomHost.StartAsync(provider);
        _north = await IdAsync("/api/schools", new { name = "North", timeZone = "UTC" });
        _south = await IdAsync("/api/schools", new { name = "South", timeZone = "UTC" });
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<Guid> IdAsync(string path, object body) => (await _host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private Task<Guid> StudentAsync(string name, int? grade, Guid school) =>
        IdAsync("/api/people", new { kind = "student", givenName = name, familyName = "Pupil", gradeLevel = grade, schoolId = school });

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(object body, HttpClient? client = null)
    {
        using var response = await (client ?? _host.Client).PostAsJsonAsync(new Uri(Rollover, UriKind.Relative), body).WaitAsync(HomeroomHost.Timeout);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task<string> LockMessageAsync(Guid deviceId)
    {
        var policy = await _host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/policy");
        return policy.GetProperty("settings").EnumerateArray().Single(s => s.GetProperty("key").GetString() == "device.lockMessage").GetProperty("value").GetString()!;
    }

    private async Task AssignGradeAsync(int grade, string lockMessage)
    {
        var profile = await IdAsync("/api/profiles", new { name = $"Grade {grade}", settings = new { device = new { lockMessage } } });
        await IdAsync("/api/assignments", new { profileId = profile, level = "grade", scopeId = grade.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    private async Task<Person> PersonAsync(Guid id)
    {
        await using var db = await _host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.People.AsNoTracking().SingleAsync(p => p.Id == id);
    }

    private async Task<Group> GroupAsync(Guid id)
    {
        await using var db = await _host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.Groups.AsNoTracking().SingleAsync(g => g.Id == id);
    }

    private static string LockMessage(PolicyFrame frame) => frame.Document.GetProperty("device").GetProperty("lockMessage").GetString()!;

    /// <summary>Reads policy frames until one carries <paramref name="lockMessage"/> (the device was sent it); fails after the host's timeout.</summary>
    private static async Task SentAsync(TestAgent agent, string lockMessage)
    {
        var deadline = DateTime.UtcNow + HomeroomHost.Timeout;
        while (agent.LastPolicy is not { } last || LockMessage(last) != lockMessage)
        {
            var remaining = deadline - DateTime.UtcNow;
            await agent.ExpectAsync<PolicyFrame>(remaining > TimeSpan.Zero ? remaining : TimeSpan.FromMilliseconds(1));
        }
    }

    [Fact]
    public async Task DryRunThenApply_PromotesGraduatesArchivesClasses_PolicyFollows_AndASecondApplyNeedsForce()
    {
        var kim = await StudentAsync("Kim", 5, _north);
        var pat = await StudentAsync("Pat", 12, _north);
        var lee = await StudentAsync("Lee", -1, _south);
        var noGrade = await StudentAsync("Sam", null, _north);
        var teacher = await IdAsync("/api/people", new { kind = "staff", givenName = "Tess", familyName = "Teacher", schoolId = _north });
        var science = await IdAsync("/api/groups", new { name = "Science 5", kind = "class", schoolId = _north });
        (await _host.PostJsonAsync($"/api/groups/{science}/members", new { personIds = new[] { kim, teacher } })).EnsureSuccessStatusCode();
        var cart = await IdAsync("/api/groups", new { name = "Cart A", kind = "cart", schoolId = _north });
        var custom = await IdAsync("/api/groups", new { name = "Chess club", kind = "custom", schoolId = _north });

        await AssignGradeAsync(5, "Grade five");
        await AssignGradeAsync(6, "Grade six");
        var scienceProfile = await IdAsync("/api/profiles", new { name = "Science", settings = new { device = new { lockMessage = "Science class" } } });
        await IdAsync("/api/assignments", new { profileId = scienceProfile, level = "group", scopeId = science.ToString() });
        await using var kimsDevice = await _host.ConnectNewAgentAsync(await _host.CreateTokenAsync(schoolId: _north));
        (await _host.Client.PatchAsJsonAsync($"/api/devices/{kimsDevice.DeviceId}", new { assignedPersonId = kim }, HomeroomHost.Json)).EnsureSuccessStatusCode();
        await using var patsDevice = await _host.ConnectNewAgentAsync(await _host.CreateTokenAsync(schoolId: _north));
        (await _host.Client.PatchAsJsonAsync($"/api/devices/{patsDevice.DeviceId}", new { assignedPersonId = pat }, HomeroomHost.Json)).EnsureSuccessStatusCode();
        (await LockMessageAsync(kimsDevice.DeviceId)).ShouldBe("Science class"); // a class's assignment outranks the grade's

        // The dry run: what would change, and nothing changed.
        var (status, dry) = await PostAsync(new { dryRun = true });
        status.ShouldBe(HttpStatusCode.OK, dry.ToString());
        dry.GetProperty("dryRun").GetBoolean().ShouldBeTrue();
        dry.GetProperty("promoted").GetInt32().ShouldBe(2);
        dry.GetProperty("graduated").GetInt32().ShouldBe(1);
        dry.GetProperty("withoutGrade").GetInt32().ShouldBe(1);
        dry.GetProperty("devicesUnassigned").GetInt32().ShouldBe(1);
        dry.GetProperty("classesArchived").GetInt32().ShouldBe(1);
        dry.GetProperty("classes").EnumerateArray().Select(c => c.GetString()).ShouldBe(["Science 5"]);
        dry.GetProperty("grades").EnumerateArray().Select(g => (g.GetProperty("from").GetInt32(), g.GetProperty("to").ValueKind == JsonValueKind.Null ? (int?)null : g.GetProperty("to").GetInt32(), g.GetProperty("students").GetInt32()))
            .ShouldBe([(-1, 0, 1), (5, 6, 1), (12, null, 1)]);
        dry.GetProperty("samplePromoted").EnumerateArray().Select(s => s.GetString()).ShouldContain("Kim Pupil: grade 5 → grade 6");
        dry.GetProperty("sampleGraduated").EnumerateArray().Select(s => s.GetString()).ShouldBe(["Pat Pupil"]);
        (await PersonAsync(kim)).GradeLevel.ShouldBe(5);
        (await PersonAsync(pat)).ArchivedAt.ShouldBeNull();
        (await GroupAsync(science)).ArchivedAt.ShouldBeNull();
        (await LockMessageAsync(kimsDevice.DeviceId)).ShouldBe("Science class");

        // The apply: the same summary, and it is done.
        var (applied, summary) = await PostAsync(new { dryRun = false });
        applied.ShouldBe(HttpStatusCode.OK, summary.ToString());
        summary.GetProperty("dryRun").GetBoolean().ShouldBeFalse();
        summary.GetProperty("promoted").GetInt32().ShouldBe(2);
        summary.GetProperty("graduated").GetInt32().ShouldBe(1);
        summary.GetProperty("appliedAt").ValueKind.ShouldBe(JsonValueKind.String);

        (await PersonAsync(kim)).GradeLevel.ShouldBe(6);
        (await PersonAsync(lee)).GradeLevel.ShouldBe(0);
        (await PersonAsync(noGrade)).GradeLevel.ShouldBeNull();
        (await PersonAsync(noGrade)).ArchivedAt.ShouldBeNull();
        var graduate = await PersonAsync(pat);
        graduate.ArchivedAt.ShouldNotBeNull();
        graduate.GradeLevel.ShouldBe(12);
        (await GroupAsync(science)).ArchivedAt.ShouldNotBeNull();
        (await GroupAsync(cart)).ArchivedAt.ShouldBeNull();
        (await GroupAsync(custom)).ArchivedAt.ShouldBeNull();
        await using (var db = await _host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            (await db.GroupMembers.CountAsync(m => m.GroupId == science)).ShouldBe(2); // last year's class keeps its members
            (await db.Devices.SingleAsync(d => d.Id == patsDevice.DeviceId)).AssignedPersonId.ShouldBeNull();
            (await db.Devices.SingleAsync(d => d.Id == kimsDevice.DeviceId)).AssignedPersonId.ShouldBe(kim);
            (await db.AuditLog.CountAsync(a => a.Action == "roster.rollover")).ShouldBe(1);
            (await db.AuditLog.CountAsync(a => a.Action == "roster.rollover.dryRun")).ShouldBe(1);
        }

        // Last year's class no longer reaches Kim's device: it now resolves (and is sent) the grade-6 policy.
        (await LockMessageAsync(kimsDevice.DeviceId)).ShouldBe("Grade six");
        await SentAsync(kimsDevice, "Grade six");

        // A double click: refused, nothing promoted twice; with force it runs again.
        var (again, refused) = await PostAsync(new { dryRun = false });
        again.ShouldBe(HttpStatusCode.Conflict, refused.ToString());
        (await PersonAsync(kim)).GradeLevel.ShouldBe(6);
        var (forced, _) = await PostAsync(new { dryRun = false, force = true });
        forced.ShouldBe(HttpStatusCode.OK);
        (await PersonAsync(kim)).GradeLevel.ShouldBe(7);
    }

    [Fact]
    public async Task Apply_ForOneSchool_LeavesOtherSchools_AndTheWindowIsPerSchool()
    {
        var north = await StudentAsync("Nia", 3, _north);
        var south = await StudentAsync("Sol", 3, _south);
        var northClass = await IdAsync("/api/groups", new { name = "North 3", kind = "class", schoolId = _north });
        var southClass = await IdAsync("/api/groups", new { name = "South 3", kind = "class", schoolId = _south });

        var (dryStatus, dry) = await PostAsync(new { dryRun = true, schoolId = _north });
        dryStatus.ShouldBe(HttpStatusCode.OK, dry.ToString());
        dry.GetProperty("promoted").GetInt32().ShouldBe(1);
        dry.GetProperty("classes").EnumerateArray().Select(c => c.GetString()).ShouldBe(["North 3"]);

        (await PostAsync(new { dryRun = false, schoolId = _north })).Status.ShouldBe(HttpStatusCode.OK);
        (await PersonAsync(north)).GradeLevel.ShouldBe(4);
        (await PersonAsync(south)).GradeLevel.ShouldBe(3);
        (await GroupAsync(northClass)).ArchivedAt.ShouldNotBeNull();
        (await GroupAsync(southClass)).ArchivedAt.ShouldBeNull();

        // North is done for today; South may still roll over, the whole district may not.
        (await PostAsync(new { dryRun = false, schoolId = _north })).Status.ShouldBe(HttpStatusCode.Conflict);
        (await PostAsync(new { dryRun = false })).Status.ShouldBe(HttpStatusCode.Conflict);
        (await PostAsync(new { dryRun = false, schoolId = _south })).Status.ShouldBe(HttpStatusCode.OK);
        (await PersonAsync(south)).GradeLevel.ShouldBe(4);
        (await PersonAsync(north)).GradeLevel.ShouldBe(4);

        // After the window, a rollover is allowed again.
        _host.Clock.Advance(TimeSpan.FromHours(25));
        (await PostAsync(new { dryRun = false })).Status.ShouldBe(HttpStatusCode.OK);
        (await PersonAsync(north)).GradeLevel.ShouldBe(5);
    }

    [Fact]
    public async Task Rollover_BadInputAndOtherRoles_AreRefused_AndChangeNothing()
    {
        var student = await StudentAsync("Ola", 8, _north);
        var teacherPerson = await IdAsync("/api/people", new { kind = "staff", givenName = "Tom", familyName = "Teacher", schoolId = _north });
        using var schoolAdmin = await _host.SignInAsNewAccountAsync("northadmin", "schoolAdmin", schoolId: _north);
        using var teacher = await _host.SignInAsNewAccountAsync("tom", "teacher", teacherPerson);

        (await PostAsync(new { dryRun = false, schoolId = _north }, schoolAdmin)).Status.ShouldBe(HttpStatusCode.Forbidden);
        (await PostAsync(new { dryRun = true, schoolId = _north }, schoolAdmin)).Status.ShouldBe(HttpStatusCode.Forbidden);
        (await PostAsync(new { dryRun = false }, teacher)).Status.ShouldBe(HttpStatusCode.Forbidden);

        var (missing, problem) = await PostAsync(new { schoolId = _north });
        missing.ShouldBe(HttpStatusCode.BadRequest);
        problem.GetProperty("errors").TryGetProperty("dryRun", out _).ShouldBeTrue();
        var (unknown, noSchool) = await PostAsync(new { dryRun = false, schoolId = Guid.NewGuid() });
        unknown.ShouldBe(HttpStatusCode.BadRequest);
        noSchool.GetProperty("errors").TryGetProperty("schoolId", out _).ShouldBeTrue();
        using (var notJson = await _host.Client.PostAsync(new Uri(Rollover, UriKind.Relative), new StringContent("{\"dryRun\":", System.Text.Encoding.UTF8, "application/json")))
        {
            notJson.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }

        (await PersonAsync(student)).GradeLevel.ShouldBe(8);
        await using var db = await _host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        (await db.AuditLog.CountAsync(a => a.Action == "roster.rollover")).ShouldBe(0);
    }
}

public sealed class RolloverSqliteTests() : RolloverTests(DatabaseProvider.Sqlite);

public sealed class RolloverPostgresTests() : RolloverTests(DatabaseProvider.Postgres);
