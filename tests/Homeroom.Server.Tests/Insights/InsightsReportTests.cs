using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Classroom;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Insights;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Insights;

/// <summary>
/// The fleet-health and classroom-use reports through the HTTP API on a real server and database: the
/// numbers against devices and classroom use set up by hand, the scope (a school administrator sees
/// their school only), the CSV export, and refused input (unknown filters, ranges over 3 years).
/// </summary>
public abstract class InsightsReportTests(DatabaseProvider provider) : IAsyncLifetime
{
    protected HomeroomHost Host { get; private set; } = null!;

    private Guid _north, _south;

    public async Task InitializeAsync()
    {
        Host = await HomeroomHost.StartAsync(provider, "Homeroom:Insights:Reports:TargetOsVersions:ipados=17.2");
        _north = await SchoolAsync("North " + Guid.NewGuid().ToString("N")[..6]);
        _south = await SchoolAsync("South " + Guid.NewGuid().ToString("N")[..6]);
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private async Task<Guid> SchoolAsync(string name) =>
        (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name, timeZone = "UTC" })).GetProperty("id").GetGuid();

    private async Task<Guid> ClassAsync(Guid school, string name, int? grade = null) =>
        (await Host.PostJsonAsync<JsonElement>("/api/groups", new { name, kind = "class", schoolId = school, gradeLevel = grade })).GetProperty("id").GetGuid();

    /// <summary>A device enrolled into a school, then given the facts a report reads (as its agent and inventory would report them).</summary>
    private async Task<Guid> DeviceAsync(Guid school, DevicePlatform platform, string? os, Action<Device>? facts = null)
    {
        var token = await Host.CreateTokenAsync(schoolId: school);
        var id = (await Host.EnrollAsync(token, "SN-" + Guid.NewGuid().ToString("N")[..10], platform)).DeviceId;
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var device = await db.Devices.FirstAsync(d => d.Id == id);
        device.OsVersion = os;
        device.LastSeenAt = Host.Clock.GetUtcNow().UtcDateTime;
        facts?.Invoke(device);
        await db.SaveChangesAsync();
        return id;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path).WaitAsync(HomeroomHost.Timeout);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static JsonElement Platform(JsonElement report, string platform) =>
        report.GetProperty("platforms").EnumerateArray().Single(p => p.GetProperty("platform").GetString() == platform);

    [Fact]
    public async Task FleetHealth_CountsVersionsBehindTargetsAndDevicesNeedingAttention()
    {
        var now = Host.Clock.GetUtcNow().UtcDateTime;
        await DeviceAsync(_north, DevicePlatform.ChromeOS, "120.0.6099.235");
        await DeviceAsync(_north, DevicePlatform.ChromeOS, "120.0.6099.235", d => d.LastSeenAt = now.AddDays(-8));
        await DeviceAsync(_north, DevicePlatform.ChromeOS, "119.0.1", d => d.LastSeenAt = now.AddDays(-31));
        await DeviceAsync(_north, DevicePlatform.ChromeOS, "120.0.10", d => { d.BatteryLevel = 12; d.BatteryCharging = false; });
        await DeviceAsync(_north, DevicePlatform.ChromeOS, null, d => { d.LastSeenAt = null; d.State = DeviceState.InRepair; });
        // iPadOS has a configured target (17.2): 17.10 is newer than 17.2, 16.7 and 17.1.2 are behind.
        await DeviceAsync(_north, DevicePlatform.IPadOS, "17.10", d => { d.StorageTotalBytes = 64_000_000_000; d.StorageFreeBytes = 1_000_000_000; });
        await DeviceAsync(_north, DevicePlatform.IPadOS, "16.7", d => d.State = DeviceState.Lost);
        await DeviceAsync(_north, DevicePlatform.IPadOS, "17.1.2", d => { d.StorageTotalBytes = 64_000_000_000; d.StorageFreeBytes = 32_000_000_000; d.BatteryLevel = 5; d.BatteryCharging = true; });
        await DeviceAsync(_north, DevicePlatform.IPadOS, "17.0", d => d.State = DeviceState.Retired);
        await DeviceAsync(_south, DevicePlatform.ChromeOS, "90.0");

        var (status, report) = await GetAsync(Host.Client, $"/api/insights/fleet-health?schoolId={_north}");

        status.ShouldBe(HttpStatusCode.OK);
        report.GetProperty("devices").GetInt32().ShouldBe(8, "the retired device and the other school's are left out");
        var chrome = Platform(report, "chromeos");
        chrome.GetProperty("devices").GetInt32().ShouldBe(5);
        chrome.GetProperty("targetVersion").GetString().ShouldBe("120.0.6099.235", "the newest version seen, by its numbers (6099 > 10)");
        chrome.GetProperty("targetConfigured").GetBoolean().ShouldBeFalse();
        chrome.GetProperty("behind").GetInt32().ShouldBe(2);
        chrome.GetProperty("unknownVersion").GetInt32().ShouldBe(1);
        chrome.GetProperty("notSeen7Days").GetInt32().ShouldBe(2);
        chrome.GetProperty("notSeen30Days").GetInt32().ShouldBe(1);
        chrome.GetProperty("neverSeen").GetInt32().ShouldBe(1);
        chrome.GetProperty("lowBattery").GetInt32().ShouldBe(1);
        chrome.GetProperty("inRepair").GetInt32().ShouldBe(1);
        var ipad = Platform(report, "ipados");
        ipad.GetProperty("targetVersion").GetString().ShouldBe("17.2");
        ipad.GetProperty("targetConfigured").GetBoolean().ShouldBeTrue();
        ipad.GetProperty("behind").GetInt32().ShouldBe(2);
        ipad.GetProperty("storageNearlyFull").GetInt32().ShouldBe(1);
        ipad.GetProperty("lowBattery").GetInt32().ShouldBe(0, "a charging battery is not low");
        ipad.GetProperty("lost").GetInt32().ShouldBe(1);
        report.GetProperty("behind").GetInt32().ShouldBe(4);
        var versions = report.GetProperty("osVersions").EnumerateArray()
            .Select(v => (v.GetProperty("platform").GetString(), v.GetProperty("version").GetString(), v.GetProperty("devices").GetInt32(), v.GetProperty("behind").GetBoolean()))
            .ToList();
        versions.ShouldContain(("chromeos", "120.0.6099.235", 2, false));
        versions.ShouldContain(("ipados", "17.1.2", 1, true));
        versions.ShouldContain(("ipados", "17.10", 1, false));

        var (_, ipadsOnly) = await GetAsync(Host.Client, $"/api/insights/fleet-health?schoolId={_north}&platform=ipados");
        ipadsOnly.GetProperty("devices").GetInt32().ShouldBe(3);
        ipadsOnly.GetProperty("platforms").GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task FleetHealth_ByGradeAndClass_CountsTheStudentsDevices()
    {
        var ninth = (await Host.PostJsonAsync<JsonElement>("/api/people", new { kind = "student", givenName = "Ana", familyName = "Ninth", schoolId = _north, gradeLevel = 9 })).GetProperty("id").GetGuid();
        var third = (await Host.PostJsonAsync<JsonElement>("/api/people", new { kind = "student", givenName = "Ben", familyName = "Third", schoolId = _north, gradeLevel = 3 })).GetProperty("id").GetGuid();
        await DeviceAsync(_north, DevicePlatform.ChromeOS, "120", d => d.AssignedPersonId = ninth);
        await DeviceAsync(_north, DevicePlatform.ChromeOS, "120", d => d.AssignedPersonId = third);
        await DeviceAsync(_north, DevicePlatform.ChromeOS, "120");
        var biology = await ClassAsync(_north, "Biology", 9);
        (await Host.PostJsonAsync($"/api/groups/{biology}/members", new { personIds = new[] { ninth } })).EnsureSuccessStatusCode();

        (await GetAsync(Host.Client, "/api/insights/fleet-health?grade=9")).Body.GetProperty("devices").GetInt32().ShouldBe(1);
        (await GetAsync(Host.Client, "/api/insights/fleet-health?grade=3")).Body.GetProperty("devices").GetInt32().ShouldBe(1);
        (await GetAsync(Host.Client, $"/api/insights/fleet-health?classId={biology}")).Body.GetProperty("devices").GetInt32().ShouldBe(1);
        (await GetAsync(Host.Client, "/api/insights/fleet-health?grade=k")).Body.GetProperty("devices").GetInt32().ShouldBe(0);
    }

    [Fact]
    public async Task Reports_AsSchoolAdmin_CoverTheirSchoolOnly_AndRefuseAnotherSchool()
    {
        await DeviceAsync(_north, DevicePlatform.ChromeOS, "120");
        await DeviceAsync(_south, DevicePlatform.ChromeOS, "120");
        await DeviceAsync(_south, DevicePlatform.ChromeOS, "121");
        var southClass = await ClassAsync(_south, "South class");
        await Host.GetService<ClassUsageRecorder>().AddCommandAsync(southClass, Host.Clock.GetUtcNow());
        using var northAdmin = await Host.SignInAsNewAccountAsync("north-admin-" + Guid.NewGuid().ToString("N")[..6], "schoolAdmin", schoolId: _north);

        var (status, own) = await GetAsync(northAdmin, "/api/insights/fleet-health");
        status.ShouldBe(HttpStatusCode.OK);
        own.GetProperty("devices").GetInt32().ShouldBe(1);
        Platform(own, "chromeos").GetProperty("targetVersion").GetString().ShouldBe("120", "the newest version in their scope, not the district's");
        (await GetAsync(Host.Client, "/api/insights/fleet-health")).Body.GetProperty("devices").GetInt32().ShouldBe(3);
        (await GetAsync(northAdmin, "/api/insights/classroom")).Body.GetProperty("commands").GetInt32().ShouldBe(0);
        (await GetAsync(Host.Client, "/api/insights/classroom")).Body.GetProperty("commands").GetInt32().ShouldBe(1);

        var (refused, problem) = await GetAsync(northAdmin, $"/api/insights/fleet-health?schoolId={_south}");
        refused.ShouldBe(HttpStatusCode.BadRequest);
        problem.GetProperty("errors").GetProperty("schoolId")[0].GetString().ShouldBe("No such school in your scope.");
        (await GetAsync(northAdmin, $"/api/insights/classroom?classId={southClass}")).Status.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Classroom_CountsSessionsViewingAndCommands_PerClassAndDay()
    {
        // Mid-morning, so the 12 minutes viewed below stay on one day (started at 23:50 they were split over two).
        Host.Clock.MoveToSchoolDayMorning();
        var today = DateOnly.FromDateTime(Host.Clock.GetUtcNow().UtcDateTime);
        var math = await ClassAsync(_north, "Math 7", 7);
        var art = await ClassAsync(_north, "Art 3", 3);
        await ClassAsync(_north, "Idle class", 7);
        var recorder = Host.GetService<ClassUsageRecorder>();

        // A screen view through the classroom's own viewing service: its length is recorded when it ends.
        var views = Host.GetService<ScreenViews>();
        var start = Host.Clock.GetUtcNow();
        await views.StartAsync(math, "Ms. Lee", start.AddHours(1), []);
        Host.Clock.Advance(TimeSpan.FromMinutes(12));
        await views.StopAsync(math);
        await recorder.AddCommandAsync(math, Host.Clock.GetUtcNow());
        await recorder.AddCommandAsync(math, Host.Clock.GetUtcNow());
        // Three days ago: 30 minutes of viewing and a command in Art.
        var earlier = Host.Clock.GetUtcNow().AddDays(-3);
        await recorder.AddViewingAsync(art, earlier, earlier.AddMinutes(30));
        await recorder.AddCommandAsync(art, earlier);
        // A scheduled Math meeting every day of the week, this term, from 00:00 (begun by now, whatever the hour).
        (await Host.Client.PutAsJsonAsync($"/api/groups/{math}/schedule", new
        {
            termStart = today.AddDays(-30).ToString("yyyy-MM-dd"),
            termEnd = today.AddDays(30).ToString("yyyy-MM-dd"),
            meetings = new[] { new { days = new[] { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" }, start = "00:00", end = "00:30" } },
        })).EnsureSuccessStatusCode();
        await using (var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            db.ClassSessions.Add(new ClassSessionRecord { Id = Guid.NewGuid(), GroupId = art, StartsAt = earlier.UtcDateTime, EndsAt = earlier.UtcDateTime.AddMinutes(40), StartedBy = "teacher" });
            await db.SaveChangesAsync();
        }

        var (status, report) = await GetAsync(Host.Client, $"/api/insights/classroom?schoolId={_north}&from={today.AddDays(-6):yyyy-MM-dd}&to={today:yyyy-MM-dd}");

        status.ShouldBe(HttpStatusCode.OK);
        var rows = report.GetProperty("classRows").EnumerateArray().ToDictionary(r => r.GetProperty("className").GetString()!);
        rows.Keys.ShouldBe(["Math 7", "Art 3"], ignoreOrder: true);
        rows["Math 7"].GetProperty("scheduledMeetings").GetInt32().ShouldBe(7);
        rows["Math 7"].GetProperty("adHocSessions").GetInt32().ShouldBe(0);
        rows["Math 7"].GetProperty("minutesViewed").GetDouble().ShouldBe(12);
        rows["Math 7"].GetProperty("commands").GetInt32().ShouldBe(2);
        rows["Art 3"].GetProperty("sessions").GetInt32().ShouldBe(1);
        rows["Art 3"].GetProperty("minutesViewed").GetDouble().ShouldBe(30);
        report.GetProperty("commands").GetInt32().ShouldBe(3);
        report.GetProperty("minutesViewed").GetDouble().ShouldBe(42);
        var days = report.GetProperty("days").EnumerateArray().ToList();
        days.Count.ShouldBe(7);
        var todayRow = days.Single(d => d.GetProperty("day").GetString() == $"{DateOnly.FromDateTime(Host.Clock.GetUtcNow().UtcDateTime):yyyy-MM-dd}");
        todayRow.GetProperty("commands").GetInt32().ShouldBe(2);

        (await GetAsync(Host.Client, $"/api/insights/classroom?grade=3&from={today.AddDays(-6):yyyy-MM-dd}&to={today:yyyy-MM-dd}")).Body
            .GetProperty("classRows").EnumerateArray().Select(r => r.GetProperty("className").GetString()).ShouldBe(["Art 3"]);
        (await GetAsync(Host.Client, $"/api/insights/classroom?from={today.AddDays(-1):yyyy-MM-dd}&to={today.AddDays(1):yyyy-MM-dd}")).Body
            .GetProperty("minutesViewed").GetDouble().ShouldBe(12, "Art's viewing was three days ago");
    }

    [Fact]
    public async Task Csv_FleetAndClassroom_StreamTheReportAsCsv()
    {
        await DeviceAsync(_north, DevicePlatform.ChromeOS, "120.1");
        await DeviceAsync(_north, DevicePlatform.ChromeOS, "119.9");
        var math = await ClassAsync(_north, "=cmd|' /C calc'!A0");
        await Host.GetService<ClassUsageRecorder>().AddCommandAsync(math, Host.Clock.GetUtcNow());

        using var fleet = await Host.Client.GetAsync("/api/insights/fleet-health?format=csv");
        fleet.StatusCode.ShouldBe(HttpStatusCode.OK);
        fleet.Content.Headers.ContentType!.MediaType.ShouldBe("text/csv");
        fleet.Content.Headers.ContentDisposition!.FileName!.Trim('"').ShouldStartWith("fleet-health-");
        var lines = (await fleet.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldStartWith("platform,os_version,devices_on_version,behind_target,target_version");
        lines.ShouldContain(l => l.StartsWith("chromeos,119.9,1,yes,120.1,2,1,", StringComparison.Ordinal));
        lines.ShouldContain(l => l.StartsWith("chromeos,120.1,1,no,120.1,2,1,", StringComparison.Ordinal));

        using var classroom = await Host.Client.GetAsync("/api/insights/classroom?format=csv");
        classroom.Content.Headers.ContentType!.MediaType.ShouldBe("text/csv");
        var rows = (await classroom.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        rows[0].ShouldBe("class,school,grade,sessions,scheduled_meetings,ad_hoc_sessions,minutes_viewed,commands");
        rows.Length.ShouldBe(2);
        rows[1].ShouldStartWith("\"'=cmd|' /C calc'!A0\",North", Case.Sensitive, "a class named like a formula is neutralised");
        rows[1].ShouldEndWith(",0,0,0,0,1");
    }

    [Fact]
    public async Task ClassUsageRetention_AtStart_DeletesUseOlderThanTheRetention_AndKeepsTheRest()
    {
        var math = await ClassAsync(_north, "Math");
        var recorder = Host.GetService<ClassUsageRecorder>();
        var now = Host.Clock.GetUtcNow();
        await recorder.AddCommandAsync(math, now.AddDays(-731));
        await recorder.AddCommandAsync(math, now.AddDays(-700));

        await Host.RestartAsync();

        var dbFactory = Host.GetService<IDbContextFactory<HomeroomDbContext>>();
        await Poll.UntilAsync(async () =>
        {
            await using var db = await dbFactory.CreateDbContextAsync();
            return await db.ClassUsageDays.CountAsync() == 1;
        });
        await using var check = await dbFactory.CreateDbContextAsync();
        (await check.ClassUsageDays.SingleAsync()).Day.ShouldBe(DateOnly.FromDateTime(now.AddDays(-700).UtcDateTime));
    }

    [Fact]
    public async Task Classroom_RangeOfExactlyThreeYears_IsServed()
    {
        var (status, report) = await GetAsync(Host.Client, "/api/insights/classroom?from=2023-01-01&to=2025-12-31");

        status.ShouldBe(HttpStatusCode.OK);
        report.GetProperty("days").GetArrayLength().ShouldBe(1096);
    }
}

public sealed class InsightsReportSqliteTests() : InsightsReportTests(DatabaseProvider.Sqlite);

public sealed class InsightsReportPostgresTests() : InsightsReportTests(DatabaseProvider.Postgres);

/// <summary>
/// Reports refusing bad input, one server per class and provider (each case started a server and seeded a
/// district before): a refused read needs no data and changes none.
/// </summary>
public abstract class InsightsReportValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    [Theory]
    [InlineData("/api/insights/fleet-health?grade=14", "grade")]
    [InlineData("/api/insights/fleet-health?grade=ninth", "grade")]
    [InlineData("/api/insights/fleet-health?platform=beos", "platform")]
    [InlineData("/api/insights/fleet-health?schoolId=not-a-guid", "schoolId")]
    [InlineData("/api/insights/fleet-health?classId=00000000-0000-0000-0000-000000000001", "classId")]
    [InlineData("/api/insights/fleet-health?from=2026-01-01", "from")]
    [InlineData("/api/insights/fleet-health?format=xlsx", "format")]
    [InlineData("/api/insights/classroom?from=2023-01-01&to=2026-01-01", "to")]
    [InlineData("/api/insights/classroom?from=2026-02-05&to=2026-02-01", "from")]
    [InlineData("/api/insights/classroom?from=yesterday", "from")]
    [InlineData("/api/insights/classroom?platform=chromeos", "platform")]
    [InlineData("/api/insights/classroom?limit=5", "limit")]
    [InlineData("/api/insights/fleet-health?grade=7&format=pdf", "format")]
    public async Task Reports_BadInput_AnswerProblemDetails400(string path, string field)
    {
        using var response = await Host.Client.GetAsync(path);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue($"{path}: {problem}");
    }
}

public sealed class InsightsReportValidationSqliteTests(SharedSqliteHost shared) : InsightsReportValidationTests(shared), IClassFixture<SharedSqliteHost>;

public sealed class InsightsReportValidationPostgresTests(SharedPostgresHost shared) : InsightsReportValidationTests(shared), IClassFixture<SharedPostgresHost>;
