using System.Net;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Activity;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Insights;
using Homeroom.Server.Tests.Accounts;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Server.Tests.Insights;

/// <summary>
/// The insight reports over HTTP on real rollups: a school's staff see only their school, names only
/// with the permission (and audited), trends against the previous period, CSV with formulas
/// neutralised, and a ten-year range refused.
/// </summary>
public abstract class InsightsEndpointTests(DatabaseProvider provider) : IAsyncLifetime
{
    private HomeroomHost _host = null!;
    private AccessDistrict _district = null!;
    private DateTime _now;

    public async Task InitializeAsync()
    {
        _host = await HomeroomHost.StartAsync(provider);
        _district = await AccessDistrict.CreateAsync(_host);
        _now = _host.Clock.GetUtcNow().UtcDateTime;
        var north = _district.North.Device;
        var south = _district.South.Device;
        await SendAsync(north, _now,
            Blocked("https://www.poki.com/g/1", "Games"), Blocked("https://poki.com/", "games"), Blocked("https://poki.com/x", "games"),
            new ActivityEvent(0, default, ActivityKinds.AppBlocked, AppId: "=HYPERLINK(\"http://evil.test\")", Detail: "games"),
            new ActivityEvent(0, default, ActivityKinds.WebVisit, "https://docs.example.org/a"),
            new ActivityEvent(0, default, ActivityKinds.WebUsage, "https://docs.example.org/", DurationSeconds: 300, Detail: "focused"),
            new ActivityEvent(0, default, ActivityKinds.AppUsage, AppId: "org.khan", DurationSeconds: 600));
        await SendAsync(south, _now, Blocked("https://poki.com/", "games"), Blocked("https://poki.com/", "games"), Blocked("https://cool.io/", "proxy"));
        // The previous period (the 30 days before the default range).
        await SendAsync(north, _now.AddDays(-40), Blocked("https://poki.com/", "games"));

        await using var db = await _host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        db.DeviceApps.Add(new DeviceApp { DeviceId = north, AppId = "org.khan", Name = "Khan Academy" });
        db.DeviceApps.Add(new DeviceApp { DeviceId = north, AppId = "com.shelfware", Name = "Shelfware" });
        db.DeviceApps.Add(new DeviceApp { DeviceId = south, AppId = "com.shelfware", Name = "Shelfware" });
        await db.SaveChangesAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _district?.Clients.Values.ToList() ?? [])
        {
            client.Dispose();
        }

        await _host.DisposeAsync();
    }

    private static ActivityEvent Blocked(string url, string category) => new(0, default, ActivityKinds.WebBlocked, url, Detail: category);

    private long _seq;

    private async Task SendAsync(Guid device, DateTime at, params ActivityEvent[] events)
    {
        var batch = new ActivityBatch(device, events.Select(e => e with { Seq = Interlocked.Increment(ref _seq), OccurredAt = new DateTimeOffset(at.AddMinutes(-30), TimeSpan.Zero) }).ToList(), at);
        await _host.GetService<ActivityWriter>().EnqueueAsync(batch);
        (await batch.Stored.Task.WaitAsync(HomeroomHost.Timeout)).ShouldBeTrue();
        await _host.GetService<InsightFolder>().CatchUpAsync();
    }

    private async Task<JsonElement> GetAsync(string role, string path)
    {
        using var response = await _district.Clients[role].GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement;
    }

    private static JsonElement Row(JsonElement report, string field, string value) =>
        report.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty(field).GetString() == value);

    [Fact]
    public async Task BlockedSites_DistrictAdmin_SeesEverySchoolWithTheTrend()
    {
        var report = await GetAsync("districtAdmin", "/api/insights/blocked-sites");

        var poki = Row(report, "subject", "poki.com");
        poki.GetProperty("blocks").GetInt64().ShouldBe(5);
        poki.GetProperty("students").GetInt64().ShouldBe(2);
        poki.GetProperty("previousBlocks").GetInt64().ShouldBe(1);
        Row(report, "subject", "cool.io").GetProperty("blocks").GetInt64().ShouldBe(1);
        var categories = await GetAsync("districtAdmin", "/api/insights/blocked-categories");
        Row(categories, "category", "games").GetProperty("blocks").GetInt64().ShouldBe(6);
    }

    [Fact]
    public async Task BlockedSites_SchoolAdmin_SeesOnlyTheirSchool_AndIsRefusedAnother()
    {
        var report = await GetAsync("schoolAdmin", "/api/insights/blocked-sites");
        var rows = report.GetProperty("rows").EnumerateArray().ToList();
        rows.Select(r => r.GetProperty("subject").GetString()).ShouldBe(["poki.com"]);
        rows[0].GetProperty("blocks").GetInt64().ShouldBe(3);
        rows[0].GetProperty("students").GetInt64().ShouldBe(1);

        using var other = await _district.Clients["schoolAdmin"].GetAsync($"/api/insights/blocked-sites?schoolId={_district.South.School}");
        other.StatusCode.ShouldBe(HttpStatusCode.BadRequest, "another school is as unknown as a mistyped one");
        using var otherClass = await _district.Clients["schoolAdmin"].GetAsync($"/api/insights/top-sites?classId={_district.South.Class}");
        otherClass.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task BlockedStudents_NeedTheNamesPermission_AndAreAudited()
    {
        using var technician = await _district.Clients["itTechnician"].GetAsync("/api/insights/blocked-sites/students?site=poki.com");
        technician.StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        var report = await GetAsync("safetyLead", "/api/insights/blocked-sites/students?site=poki.com");
        var rows = report.GetProperty("rows").EnumerateArray().ToList();
        rows.Count.ShouldBe(1, "a safety lead of North sees North's student only");
        rows[0].GetProperty("name").GetString().ShouldBe("Student North");
        rows[0].GetProperty("blocks").GetInt64().ShouldBe(3);

        await using var db = await _host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        (await db.AuditLog.CountAsync(e => e.Action == "insights.blocked.students.read" && e.TargetId == "poki.com")).ShouldBe(1);
    }

    [Fact]
    public async Task BlockedStudents_FindEventsByWhenTheyHappened_HoweverLateOrEarlyTheyArrived()
    {
        var day = _now.Date.AddDays(-10);
        var hours = TimeSpan.FromHours(1);
        await using (var db = await _host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            // Stored directly, to choose each arrival: the schools are on UTC, so the report's day is the UTC day.
            (DateTime Occurred, DateTime Received)[] events =
            [
                (day.AddHours(6), day.AddHours(6).AddMinutes(1)), // on time
                (day.AddHours(12), day.AddDays(3).AddHours(12)), // three days late (the device was offline)
                (day.AddHours(23), day.AddDays(1).AddHours(22)), // 23 hours late: found by its arrival, well after the day
                (day.AddHours(12), day.AddDays(-5)), // dated five days after it arrived (stored before the server clamped that)
                (day.AddHours(-12), day.AddHours(12)), // the day before, arrived during the day: not counted
                (day.AddDays(1).AddHours(1), day.AddDays(1).AddHours(1)), // the day after: not counted
            ];
            db.ActivityEvents.AddRange(events.Select((e, i) => new ActivityRecord
            {
                DeviceId = _district.North.Device, Seq = 1_000 + i, OccurredAt = e.Occurred, ReceivedAt = e.Received,
                Kind = ActivityKinds.WebBlocked, Url = "https://late.example.org/", Detail = "games",
            }));
            await db.SaveChangesAsync();
        }

        var report = await GetAsync("safetyLead", $"/api/insights/blocked-sites/students?site=example.org&from={day:yyyy-MM-dd}&to={day:yyyy-MM-dd}");

        var row = report.GetProperty("rows").EnumerateArray().Single();
        row.GetProperty("name").GetString().ShouldBe("Student North");
        row.GetProperty("blocks").GetInt64().ShouldBe(4);
        row.GetProperty("lastBlockedAt").GetDateTime().ShouldBe(day.AddHours(23), TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Usage_TopSitesOfAClass_AndApps_UsedAndNeverUsed()
    {
        var sites = await GetAsync("schoolAdmin", $"/api/insights/top-sites?classId={_district.North.Class}&order=students");
        var docs = Row(sites, "subject", "example.org");
        docs.GetProperty("seconds").GetInt64().ShouldBe(300);
        docs.GetProperty("events").GetInt64().ShouldBe(1, "one visit");
        docs.GetProperty("students").GetInt64().ShouldBe(1);
        Row(await GetAsync("readOnly", "/api/insights/top-apps"), "subject", "org.khan").GetProperty("seconds").GetInt64().ShouldBe(600);

        var apps = await GetAsync("districtAdmin", "/api/insights/apps");
        var khan = Row(apps, "appId", "org.khan");
        khan.GetProperty("usedLast30Days").GetInt64().ShouldBe(1);
        khan.GetProperty("neverUsed").GetInt64().ShouldBe(0);
        var shelfware = Row(apps, "appId", "com.shelfware");
        shelfware.GetProperty("installed").GetInt64().ShouldBe(2);
        shelfware.GetProperty("neverUsed").GetInt64().ShouldBe(2);
        Row(await GetAsync("schoolAdmin", "/api/insights/apps"), "appId", "com.shelfware").GetProperty("installed").GetInt64().ShouldBe(1);
    }

    [Fact]
    public async Task Csv_AnAppIdThatLooksLikeAFormula_IsNeutralised()
    {
        using var response = await _district.Clients["districtAdmin"].GetAsync("/api/insights/blocked-apps?format=csv");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/csv");
        var text = await response.Content.ReadAsStringAsync();
        text.ShouldBe("subject,blocks,students,previous_blocks\r\n\"'=HYPERLINK(\"\"http://evil.test\"\")\",1,1,0\r\n");
    }

    [Fact]
    public async Task Range_TenYears_IsRefusedAsAProblem()
    {
        using var response = await _district.Clients["districtAdmin"].GetAsync("/api/insights/top-sites?from=2016-01-01&to=2026-01-01");
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await response.Content.ReadAsStringAsync()).ShouldContain("at most 3 years");
    }
}

public sealed class InsightsEndpointSqliteTests() : InsightsEndpointTests(DatabaseProvider.Sqlite);

public sealed class InsightsEndpointPostgresTests() : InsightsEndpointTests(DatabaseProvider.Postgres);
