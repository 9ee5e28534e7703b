using System.Buffers;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Activity;
using Homeroom.Server.Data;
using Homeroom.Server.Insights;
using Homeroom.Server.Tests.Infrastructure;
using MimeKit;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using SmtpServerHost = SmtpServer.SmtpServer;
using SmtpServices = SmtpServer.ComponentModel.ServiceProvider;

namespace Homeroom.Server.Tests.Insights;

/// <summary>
/// Scheduled reports end to end: a district administrator schedules a weekly report, the scheduler sends
/// it once when it is due (a real SMTP server on loopback receives it with the CSV attached), never twice,
/// not even after a restart; changes are audited and bad schedules refused.
/// </summary>
public abstract class ReportScheduleTests(DatabaseProvider provider) : IAsyncLifetime
{
    private readonly CapturingStore _store = new();
    private readonly CancellationTokenSource _stopSmtp = new();
    private readonly int _port = FreePort();
    private Task? _smtp;
    private Guid _north;

    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var options = new SmtpServerOptionsBuilder().ServerName("localhost")
            .Endpoint(e => e.Endpoint(new IPEndPoint(IPAddress.Loopback, _port))).Build();
        var services = new SmtpServices();
        services.Add(_store);
        _smtp = new SmtpServerHost(options, services).StartAsync(_stopSmtp.Token);
        Host = await HomeroomHost.StartAsync(provider,
            "Homeroom:Notifications:Smtp:Host=127.0.0.1", $"Homeroom:Notifications:Smtp:Port={_port}", "Homeroom:Notifications:Smtp:Security=none",
            "Homeroom:Notifications:Smtp:From=Homeroom <homeroom@district.example.org>",
            // The test drives the scheduler itself; the background pass runs at start and then hourly (real time).
            "Homeroom:Insights:Reports:ScheduleCheckInterval=01:00:00");
        _north = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "North " + Guid.NewGuid().ToString("N")[..6], timeZone = "UTC" })).GetProperty("id").GetGuid();
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await _stopSmtp.CancelAsync();
        try
        {
            await _smtp!.WaitAsync(HomeroomHost.Timeout);
        }
        catch (OperationCanceledException)
        {
        }

        _stopSmtp.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static object Schedule(string day, int hour, object? filters = null, string[]? recipients = null, string report = "fleet", string name = "Weekly fleet") =>
        new { name, report, filters, dayOfWeek = day, hour, recipients = recipients ?? ["it@district.example.org", "principal@north.example.org"] };

    [Fact]
    public async Task Scheduler_WhenDue_SendsTheReportOnceWithItsCsv_EvenAcrossARestart()
    {
        var token = await Host.CreateTokenAsync(schoolId: _north);
        await Host.EnrollAsync(token, "SN-" + Guid.NewGuid().ToString("N")[..8], DevicePlatform.ChromeOS);
        using var created = await Host.PostJsonAsync("/api/insights/schedules", Schedule("monday", 7, new { schoolId = _north }));
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        var schedule = await created.Content.ReadFromJsonAsync<JsonElement>(HomeroomHost.Json);
        var id = schedule.GetProperty("id").GetGuid();
        // Due two hours from now, in the district's time zone.
        var zone = TimeZoneInfo.FindSystemTimeZoneById(schedule.GetProperty("timeZone").GetString()!);
        var dueLocal = TimeZoneInfo.ConvertTime(Host.Clock.GetUtcNow(), zone).AddHours(2);
        using (var changed = await Host.Client.PutAsJsonAsync($"/api/insights/schedules/{id}",
            Schedule(dueLocal.DayOfWeek.ToString().ToLowerInvariant(), dueLocal.Hour, new { schoolId = _north })))
        {
            changed.StatusCode.ShouldBe(HttpStatusCode.OK);
            var next = (await changed.Content.ReadFromJsonAsync<JsonElement>(HomeroomHost.Json)).GetProperty("nextDueAt").GetDateTime();
            next.ShouldBeGreaterThan(Host.Clock.GetUtcNow().UtcDateTime.AddHours(1));
            next.ShouldBeLessThanOrEqualTo(Host.Clock.GetUtcNow().UtcDateTime.AddHours(2));
        }

        var scheduler = Host.GetService<ReportScheduler>();
        (await scheduler.SendDueAsync()).ShouldBeEmpty("not due yet");

        Host.Clock.Advance(TimeSpan.FromHours(2));
        var sent = await scheduler.SendDueAsync();

        sent.Count.ShouldBe(1);
        sent[0].Succeeded.ShouldBeTrue(sent[0].Result);
        var message = await _store.Messages.Reader.ReadAsync().AsTask().WaitAsync(HomeroomHost.Timeout);
        message.Subject.ShouldBe("[Homeroom] Weekly fleet");
        message.To.Mailboxes.Select(m => m.Address).ShouldBe(["it@district.example.org", "principal@north.example.org"]);
        (message.TextBody ?? "").ShouldContain("1 devices");
        var attachment = message.Attachments.OfType<MimePart>().Single();
        attachment.FileName.ShouldStartWith("fleet-health-");
        attachment.ContentType.MimeType.ShouldBe("text/csv");
        using var csv = new MemoryStream();
        await attachment.Content!.DecodeToAsync(csv);
        var lines = System.Text.Encoding.UTF8.GetString(csv.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldStartWith("platform,os_version,devices_on_version");
        lines.Length.ShouldBe(2);
        lines[1].ShouldStartWith("chromeos,");

        (await scheduler.SendDueAsync()).ShouldBeEmpty("sent once");
        await Host.RestartAsync();
        (await Host.GetService<ReportScheduler>().SendDueAsync()).ShouldBeEmpty("a restart does not send it again");
        _store.Messages.Reader.TryRead(out _).ShouldBeFalse();

        var listed = (await Host.GetJsonAsync<JsonElement>("/api/insights/schedules")).EnumerateArray().Single();
        listed.GetProperty("lastSucceeded").GetBoolean().ShouldBeTrue();
        listed.GetProperty("lastSentAt").ValueKind.ShouldBe(JsonValueKind.String);
        listed.GetProperty("nextDueAt").GetDateTime().ShouldBeGreaterThan(Host.Clock.GetUtcNow().UtcDateTime.AddDays(6));

        // A week later it is due again, once.
        Host.Clock.Advance(TimeSpan.FromDays(7));
        (await Host.GetService<ReportScheduler>().SendDueAsync()).Count.ShouldBe(1);
        (await _store.Messages.Reader.ReadAsync().AsTask().WaitAsync(HomeroomHost.Timeout)).Subject.ShouldBe("[Homeroom] Weekly fleet");
    }

    [Fact]
    public async Task Scheduler_BlockedSitesReport_SendsTheWeekBeforeWithItsTrend_OnlyForTheSchoolItNames()
    {
        var south = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "South " + Guid.NewGuid().ToString("N")[..6], timeZone = "UTC" })).GetProperty("id").GetGuid();
        var northDevice = (await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: _north), "SN-" + Guid.NewGuid().ToString("N")[..8])).DeviceId;
        var southDevice = (await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: south), "SN-" + Guid.NewGuid().ToString("N")[..8])).DeviceId;
        var now = Host.Clock.GetUtcNow().UtcDateTime;
        // This week: four blocks of poki.com and a blocked app (not a site); the week before: two of
        // poki.com. Another school's blocks are not in North's report.
        await SendAsync(northDevice, now.AddDays(-2), Blocked("https://poki.com/a"), Blocked("https://poki.com/b"), Blocked("https://www.poki.com/"), Blocked("https://poki.com/c"),
            new ActivityEvent(0, default, ActivityKinds.AppBlocked, AppId: "=cmd()", Detail: "games"));
        await SendAsync(northDevice, now.AddDays(-10), Blocked("https://poki.com/"), Blocked("https://poki.com/"));
        await SendAsync(southDevice, now.AddDays(-2), Blocked("https://south-only.example/"));

        var zone = TimeZoneInfo.FindSystemTimeZoneById((await Host.PostJsonAsync<JsonElement>("/api/insights/schedules",
            Schedule("monday", 7, new { schoolId = _north }, report: "blockedSites", name: "North blocks"))).GetProperty("timeZone").GetString()!);
        var id = (await Host.GetJsonAsync<JsonElement>("/api/insights/schedules")).EnumerateArray().Single().GetProperty("id").GetGuid();
        var dueLocal = TimeZoneInfo.ConvertTime(Host.Clock.GetUtcNow(), zone).AddHours(2);
        using (var changed = await Host.Client.PutAsJsonAsync($"/api/insights/schedules/{id}",
            Schedule(dueLocal.DayOfWeek.ToString().ToLowerInvariant(), dueLocal.Hour, new { schoolId = _north, platform = "chromeos" }, report: "blocked-sites", name: "North blocks")))
        {
            changed.StatusCode.ShouldBe(HttpStatusCode.OK);
            (await changed.Content.ReadFromJsonAsync<JsonElement>(HomeroomHost.Json)).GetProperty("report").GetString().ShouldBe("blockedSites");
        }

        Host.Clock.Advance(TimeSpan.FromHours(2));
        var sent = await Host.GetService<ReportScheduler>().SendDueAsync();

        sent.Single().Succeeded.ShouldBeTrue(sent[0].Result);
        var message = await _store.Messages.Reader.ReadAsync().AsTask().WaitAsync(HomeroomHost.Timeout);
        message.Subject.ShouldBe("[Homeroom] North blocks");
        var lastDay = DateOnly.FromDateTime(dueLocal.DateTime).AddDays(-1);
        (message.TextBody ?? "").ShouldContain($"Most-blocked sites from {lastDay.AddDays(-6):yyyy-MM-dd} to {lastDay:yyyy-MM-dd}");
        (message.TextBody ?? "").ShouldContain("poki.com (4 blocks, up 100%)");
        var attachment = message.Attachments.OfType<MimePart>().Single();
        attachment.FileName.ShouldBe($"most-blocked-sites-{lastDay.AddDays(-6):yyyy-MM-dd}-to-{lastDay:yyyy-MM-dd}.csv");
        using var csv = new MemoryStream();
        await attachment.Content!.DecodeToAsync(csv);
        System.Text.Encoding.UTF8.GetString(csv.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
            .ShouldBe(["subject,blocks,students,previous_blocks", "poki.com,4,1,2"]);

        // App adoption is a picture of the sending: the installed app never used is counted, its id kept from running as a formula.
        await using (var db = await Host.GetService<Microsoft.EntityFrameworkCore.IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            db.DeviceApps.Add(new Homeroom.Server.Devices.DeviceApp { DeviceId = northDevice, AppId = "=shelf()", Name = "Shelfware" });
            await db.SaveChangesAsync();
        }

        var due = TimeZoneInfo.ConvertTime(Host.Clock.GetUtcNow(), zone).AddHours(1);
        using (var adoption = await Host.PostJsonAsync("/api/insights/schedules",
            Schedule(due.DayOfWeek.ToString().ToLowerInvariant(), due.Hour, new { schoolId = _north }, report: "appAdoption", name: "Apps")))
        {
            adoption.StatusCode.ShouldBe(HttpStatusCode.Created);
        }

        Host.Clock.Advance(TimeSpan.FromHours(1));
        (await Host.GetService<ReportScheduler>().SendDueAsync()).Single().Succeeded.ShouldBeTrue();
        var apps = await _store.Messages.Reader.ReadAsync().AsTask().WaitAsync(HomeroomHost.Timeout);
        apps.Subject.ShouldBe("[Homeroom] Apps");
        (apps.TextBody ?? "").ShouldContain("1 apps installed, 1 not used on any device in the last 30 days");
        using var appsCsv = new MemoryStream();
        await apps.Attachments.OfType<MimePart>().Single().Content!.DecodeToAsync(appsCsv);
        System.Text.Encoding.UTF8.GetString(appsCsv.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
            .ShouldBe(["app_id,name,installed,licensed,used_last_30_days,never_used", "\"'=shelf()\",Shelfware,1,1,0,1"]);
    }

    private long _seq;

    private static ActivityEvent Blocked(string url) => new(0, default, ActivityKinds.WebBlocked, url, Detail: "games");

    private async Task SendAsync(Guid device, DateTime at, params ActivityEvent[] events)
    {
        var batch = new ActivityBatch(device, events.Select(e => e with { Seq = Interlocked.Increment(ref _seq), OccurredAt = new DateTimeOffset(at, TimeSpan.Zero) }).ToList(), at);
        await Host.GetService<ActivityWriter>().EnqueueAsync(batch);
        (await batch.Stored.Task.WaitAsync(HomeroomHost.Timeout)).ShouldBeTrue();
        await Host.GetService<InsightFolder>().CatchUpAsync();
    }

    [Fact]
    public async Task Schedules_Changes_AreAudited_AndDeleteStopsThem()
    {
        var id = (await Host.PostJsonAsync<JsonElement>("/api/insights/schedules", Schedule("friday", 16, report: "classroom", name: "Classroom week")))
            .GetProperty("id").GetGuid();
        (await Host.Client.PutAsJsonAsync($"/api/insights/schedules/{id}", Schedule("thursday", 15, report: "classroom", name: "Classroom week"))).EnsureSuccessStatusCode();
        using (var deleted = await Host.Client.DeleteAsync($"/api/insights/schedules/{id}"))
        {
            deleted.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        (await Host.GetJsonAsync<JsonElement>("/api/insights/schedules")).GetArrayLength().ShouldBe(0);
        foreach (var action in new[] { "insights.schedule.create", "insights.schedule.update", "insights.schedule.delete" })
        {
            var audit = await Host.GetJsonAsync<JsonElement>($"/api/audit?action={action}");
            audit.GetProperty("total").GetInt32().ShouldBe(1, action);
            audit.GetProperty("items")[0].GetProperty("targetId").GetString().ShouldBe(id.ToString());
        }

        using var gone = await Host.Client.PutAsJsonAsync($"/api/insights/schedules/{id}", Schedule("thursday", 15));
        gone.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    private sealed class CapturingStore : MessageStore
    {
        public System.Threading.Channels.Channel<MimeMessage> Messages { get; } = System.Threading.Channels.Channel.CreateUnbounded<MimeMessage>();

        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            using var stream = new MemoryStream(buffer.ToArray());
            Messages.Writer.TryWrite(await MimeMessage.LoadAsync(stream, cancellationToken));
            return SmtpResponse.Ok;
        }
    }
}

public sealed class ReportScheduleSqliteTests() : ReportScheduleTests(DatabaseProvider.Sqlite);

public sealed class ReportSchedulePostgresTests() : ReportScheduleTests(DatabaseProvider.Postgres);

/// <summary>
/// Refused schedules, one server per class and provider (each case started a server and an SMTP server before):
/// nothing refused is stored, so the schedule list stays empty across the cases. The server has mail set up
/// as in <see cref="ReportScheduleTests"/>; no refused schedule sends any.
/// </summary>
public abstract class ReportScheduleValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    public static TheoryData<string, string> BadSchedules() => new()
    {
        { """{"name":"R","report":"fleet","dayOfWeek":"monday","hour":7,"recipients":[]}""", "recipients" },
        { """{"name":"R","report":"fleet","dayOfWeek":"monday","hour":7}""", "recipients" },
        { """{"name":"R","report":"fleet","dayOfWeek":"monday","hour":7,"recipients":["not an address"]}""", "recipients" },
        { """{"name":"R","report":"fleet","dayOfWeek":"monday","hour":7,"recipients":["Pat <pat@example.org>"]}""", "recipients" },
        { """{"name":"R","report":"fleet","dayOfWeek":"monday","hour":7,"recipients":["a@example.org,b@example.org"]}""", "recipients" },
        { "{\"name\":\"R\",\"report\":\"fleet\",\"dayOfWeek\":\"monday\",\"hour\":7,\"recipients\":[" + string.Join(',', Enumerable.Range(0, 21).Select(i => $"\"r{i}@example.org\"")) + "]}", "recipients" },
        { """{"name":"R","report":"usage","dayOfWeek":"monday","hour":7,"recipients":["a@example.org"]}""", "report" },
        { """{"name":"R","report":"1","dayOfWeek":"monday","hour":7,"recipients":["a@example.org"]}""", "report" },
        { """{"name":"R","report":"blockedSites","dayOfWeek":"monday","hour":7,"recipients":["a@example.org"],"filters":{"to":"2026-01-01"}}""", "filters" },
        { """{"name":"R","report":"topApps","dayOfWeek":"monday","hour":7,"recipients":["a@example.org"],"filters":{"grade":"14"}}""", "filters.grade" },
        { """{"name":"R","report":"fleet","dayOfWeek":"someday","hour":7,"recipients":["a@example.org"]}""", "dayOfWeek" },
        { """{"name":"R","report":"fleet","dayOfWeek":"monday","hour":24,"recipients":["a@example.org"]}""", "hour" },
        { """{"name":"","report":"fleet","dayOfWeek":"monday","hour":7,"recipients":["a@example.org"]}""", "name" },
        { """{"name":"R","report":"fleet","dayOfWeek":"monday","hour":7,"recipients":["a@example.org"],"filters":{"platform":"beos"}}""", "filters.platform" },
        { """{"name":"R","report":"fleet","dayOfWeek":"monday","hour":7,"recipients":["a@example.org"],"filters":{"schoolId":"00000000-0000-0000-0000-000000000001"}}""", "filters.schoolId" },
        { """{"name":"R","report":"classroom","dayOfWeek":"monday","hour":7,"recipients":["a@example.org"],"filters":{"platform":"chromeos"}}""", "filters.platform" },
        { """{"name":"R","report":"classroom","dayOfWeek":"monday","hour":7,"recipients":["a@example.org"],"filters":{"from":"2026-01-01"}}""", "filters" },
    };

    [Theory]
    [MemberData(nameof(BadSchedules))]
    public async Task Create_BadSchedule_IsRefusedWithProblemDetails(string body, string field)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var response = await Host.Client.PostAsync("/api/insights/schedules", content);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue(problem.ToString());
        (await Host.GetJsonAsync<JsonElement>("/api/insights/schedules")).GetArrayLength().ShouldBe(0);
    }
}

public sealed class ReportScheduleValidationSqliteTests(ReportScheduleValidationSqliteTests.Server shared) : ReportScheduleValidationTests(shared), IClassFixture<ReportScheduleValidationSqliteTests.Server>
{
    public sealed class Server() : SharedHost(DatabaseProvider.Sqlite, ReportScheduleMail.Settings);
}

public sealed class ReportScheduleValidationPostgresTests(ReportScheduleValidationPostgresTests.Server shared) : ReportScheduleValidationTests(shared), IClassFixture<ReportScheduleValidationPostgresTests.Server>
{
    public sealed class Server() : SharedHost(DatabaseProvider.Postgres, ReportScheduleMail.Settings);
}

/// <summary>Mail settings for servers that never send (port 9 on loopback: nothing listens, nothing is sent).</summary>
internal static class ReportScheduleMail
{
    public static readonly string[] Settings =
    [
        "Homeroom:Notifications:Smtp:Host=127.0.0.1", "Homeroom:Notifications:Smtp:Port=9", "Homeroom:Notifications:Smtp:Security=none",
        "Homeroom:Notifications:Smtp:From=Homeroom <homeroom@district.example.org>", "Homeroom:Insights:Reports:ScheduleCheckInterval=01:00:00",
    ];
}

/// <summary>When a schedule is due, computed directly: no server (these cases started one per provider before).</summary>
public sealed class ReportScheduleDueTests
{
    [Theory]
    [InlineData(DayOfWeek.Monday, 7, "2026-12-07T06:59:00Z", "2026-11-30T07:00:00Z")]
    [InlineData(DayOfWeek.Monday, 7, "2026-12-07T07:00:00Z", "2026-12-07T07:00:00Z")]
    [InlineData(DayOfWeek.Sunday, 23, "2026-12-07T07:00:00Z", "2026-12-06T23:00:00Z")]
    public void LatestDue_Utc_IsTheLastSlotAtOrBeforeNow(DayOfWeek day, int hour, string now, string expected) =>
        ReportSchedules.LatestDue(day, hour, TimeZoneInfo.Utc, DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture))
            .ShouldBe(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture).UtcDateTime);

    [Fact]
    public void LatestDue_InAZoneWithClockChanges_FollowsLocalTime()
    {
        var chicago = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");
        // Monday 07:00 in Chicago is 13:00 UTC in winter and 12:00 UTC in summer.
        ReportSchedules.LatestDue(DayOfWeek.Monday, 7, chicago, new DateTimeOffset(2026, 12, 8, 0, 0, 0, TimeSpan.Zero)).ShouldBe(new DateTime(2026, 12, 7, 13, 0, 0, DateTimeKind.Utc));
        ReportSchedules.LatestDue(DayOfWeek.Monday, 7, chicago, new DateTimeOffset(2026, 7, 7, 0, 0, 0, TimeSpan.Zero)).ShouldBe(new DateTime(2026, 7, 6, 12, 0, 0, DateTimeKind.Utc));
        // 02:00 on the Sunday clocks spring forward does not exist: sent when it would have been 03:00.
        ReportSchedules.LatestDue(DayOfWeek.Sunday, 2, chicago, new DateTimeOffset(2026, 3, 8, 12, 0, 0, TimeSpan.Zero)).ShouldBe(new DateTime(2026, 3, 8, 8, 0, 0, DateTimeKind.Utc));
    }
}
