using System.Net;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Diagnostics;
using Homeroom.Server.Support;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Diagnostics;

/// <summary>A server with a district site to test and three reports kept per device.</summary>
public abstract class DiagnosticsHost(DatabaseProvider provider) : SharedHost(provider, "Homeroom:Diagnostics:Sites:0=https://learn.example.org/", "Homeroom:Diagnostics:KeepPerDevice=3");

public sealed class DiagnosticsSqliteHost() : DiagnosticsHost(DatabaseProvider.Sqlite);

public sealed class DiagnosticsPostgresHost() : DiagnosticsHost(DatabaseProvider.Postgres);

/// <summary>
/// Device diagnostics over the real server and a real agent WebSocket: who may ask and read (administrators and IT
/// technicians of the device's school), the audit entry, the report stored once per diagnose command, refused frames
/// storing nothing, the newest few kept and retention.
/// </summary>
public abstract class DiagnosticsTests(DiagnosticsHost shared)
{
    private HomeroomHost Host => shared.Host;

    private async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task<(Guid School, TestAgent Agent)> SchoolDeviceAsync()
    {
        var school = await IdAsync("/api/schools", new { name = "Diag " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" });
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: school), "SN-" + Guid.NewGuid().ToString("N")[..10], Contracts.Enrollment.DevicePlatform.Linux);
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        return (school, agent);
    }

    private static DiagnosticsReport Report(int logLines = 3) => new(
        DateTimeOffset.UtcNow, "Debian GNU/Linux", "12", "Linux 6.1.0", "homeroom-agent/1.0.0", 3_600,
        [new DiskReport("/", "ext4", 100L << 30, 2L << 30)],
        new MemoryReport(8L << 30, 4L << 30),
        [new BatteryReport("BAT0", 71, "Discharging", 64, 812)],
        [new InterfaceReport("lo", true, "loopback", ["127.0.0.1"]), new InterfaceReport("eth0", true, "ethernet", ["10.0.0.7"])],
        [
            new ConnectivityCheck(ConnectivityTargets.Homeroom, "http://127.0.0.1:5080/healthz", true, 3, 200, null),
            new ConnectivityCheck(ConnectivityTargets.Site, "https://learn.example.org/", false, 5_000, null, "timeout: no answer within 5 s (at the tcp step)"),
        ],
        Enumerable.Range(1, logLines).Select(i => $"2026-12-03T10:00:0{i % 10}Z info AgentWorker: line {i}").ToList(),
        new PolicyReport(4, true, null),
        ["location: not gathered"],
        OsUpdates: new OsUpdateStatus(3, 2, false, DateTimeOffset.UtcNow.AddHours(-2)));

    private async Task<(Guid School, TestAgent Agent, CommandFrame Command, HttpClient Technician)> RequestedAsync()
    {
        var (school, agent) = await SchoolDeviceAsync();
        var technician = await Host.SignInAsNewAccountAsync("tech-" + Guid.NewGuid().ToString("N")[..8], "itTechnician", schoolId: school);
        using var requested = await technician.PostAsync($"/api/devices/{agent.DeviceId}/diagnostics", null);
        requested.StatusCode.ShouldBe(HttpStatusCode.Accepted, await requested.Content.ReadAsStringAsync());
        var command = await agent.ExpectAsync<CommandFrame>();
        command.Kind.ShouldBe(CommandKinds.Diagnose);
        return (school, agent, command, technician);
    }

    private async Task<int> StoredAsync(Guid deviceId)
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.Set<DeviceDiagnosticsRecord>().CountAsync(r => r.DeviceId == deviceId);
    }

    [Fact]
    public async Task Request_ByTheSchoolsTechnician_CarriesTheSitesStoresTheReportWithItsChecksAndIsAudited()
    {
        var (school, agent, command, technician) = await RequestedAsync();
        await using var agentLease = agent;
        using var technicianLease = technician;
        command.Arguments!["urls"].ShouldBe("https://learn.example.org/");

        // Before the answer the page says it is under way.
        var waiting = JsonDocument.Parse(await technician.GetStringAsync($"/api/devices/{agent.DeviceId}/diagnostics")).RootElement;
        waiting.GetProperty("latest").ValueKind.ShouldBe(JsonValueKind.Null);
        waiting.GetProperty("pending").GetProperty("commandId").GetGuid().ShouldBe(command.CommandId);

        await agent.SendAsync(new DiagnosticsFrame(command.CommandId, Report()));
        await agent.SendAsync(new CommandStatusFrame(command.CommandId, CommandStatusValues.Succeeded, Result: "report sent"));

        JsonElement state = default;
        await Poll.UntilAsync(async () =>
        {
            state = JsonDocument.Parse(await technician.GetStringAsync($"/api/devices/{agent.DeviceId}/diagnostics")).RootElement;
            return state.GetProperty("latest").ValueKind == JsonValueKind.Object;
        }, HomeroomHost.Timeout);
        var latest = state.GetProperty("latest");
        latest.GetProperty("commandId").GetGuid().ShouldBe(command.CommandId);
        latest.GetProperty("report").GetProperty("osName").GetString().ShouldBe("Debian GNU/Linux");
        latest.GetProperty("report").GetProperty("logLines").GetArrayLength().ShouldBe(3);
        var failed = latest.GetProperty("checks").EnumerateArray().Where(c => !c.GetProperty("ok").GetBoolean()).Select(c => c.GetProperty("text").GetString()!).ToList();
        // The site timed out, the disk is 2 % free, the battery holds 64 % of its design capacity and security updates wait.
        failed.Count.ShouldBe(4);
        failed.ShouldContain(t => t.Contains("learn.example.org") && t.Contains("timeout"));
        failed.ShouldContain(t => t.StartsWith("/:", StringComparison.Ordinal));
        failed.ShouldContain(t => t.Contains("BAT0") && t.Contains("64 %"));
        failed.ShouldContain(t => t.StartsWith("3 update(s) pending, 2 for security (checked ", StringComparison.Ordinal));
        latest.GetProperty("failedChecks").GetInt32().ShouldBe(4);
        latest.GetProperty("report").GetProperty("osUpdates").GetProperty("security").GetInt32().ShouldBe(2);
        state.GetProperty("pending").ValueKind.ShouldBe(JsonValueKind.Null);

        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var audit = await db.AuditLog.Where(a => a.Action == "command.issue" && a.SchoolId == school).ToListAsync();
        audit.ShouldHaveSingleItem().Details!.ShouldContain(CommandKinds.Diagnose);
        audit[0].ActorName.ShouldNotBe("system");

        // The same report again (a resend) is stored once.
        await agent.SendAsync(new DiagnosticsFrame(command.CommandId, Report(logLines: 1)));
        await agent.SendAsync(new HeartbeatFrame(null, null, null));
        await Task.Delay(300);
        (await StoredAsync(agent.DeviceId)).ShouldBe(1);
    }

    [Theory]
    [InlineData("teacher")]
    [InlineData("readOnly")]
    [InlineData("safetyLead")]
    public async Task OtherRoles_MayNeitherAskNorRead(string role)
    {
        var (school, agent) = await SchoolDeviceAsync();
        await using var agentLease = agent;
        using var staff = await Host.SignInAsNewAccountAsync(role + "-" + Guid.NewGuid().ToString("N")[..8], role, schoolId: school);

        (await staff.PostAsync($"/api/devices/{agent.DeviceId}/diagnostics", null)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await staff.GetAsync($"/api/devices/{agent.DeviceId}/diagnostics")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await staff.GetAsync($"/api/devices/{agent.DeviceId}/diagnostics/history")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await agent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
    }

    [Fact]
    public async Task TechnicianOfAnotherSchool_FindsNoSuchDevice()
    {
        var (_, agent) = await SchoolDeviceAsync();
        await using var agentLease = agent;
        var other = await IdAsync("/api/schools", new { name = "Elsewhere " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" });
        using var stranger = await Host.SignInAsNewAccountAsync("far-" + Guid.NewGuid().ToString("N")[..8], "itTechnician", schoolId: other);

        (await stranger.PostAsync($"/api/devices/{agent.DeviceId}/diagnostics", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await stranger.GetAsync($"/api/devices/{agent.DeviceId}/diagnostics")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await agent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
    }

    [Fact]
    public async Task OversizedReport_ClosesWith4413_AndStoresNothing()
    {
        var (_, agent, command, technician) = await RequestedAsync();
        await using var agentLease = agent;
        using var technicianLease = technician;
        var frame = AgentFrameCodec.Serialize(new DiagnosticsFrame(command.CommandId, Report() with { LogLines = [new string('x', 70_000)] }));
        frame.Length.ShouldBeGreaterThan(ProtocolLimits.MaxTextFrameBytes);

        await agent.SendRawAsync(frame);

        (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.FrameTooLarge);
        (await StoredAsync(agent.DeviceId)).ShouldBe(0);
    }

    [Theory]
    [InlineData("too many log lines")]
    [InlineData("negative disk")]
    [InlineData("bad connectivity target")]
    [InlineData("more security updates than pending")]
    [InlineData("not json")]
    public async Task MalformedReport_ClosesWith4400_AndStoresNothing(string fault)
    {
        var (_, agent, command, technician) = await RequestedAsync();
        await using var agentLease = agent;
        using var technicianLease = technician;
        var report = Report();
        var payload = fault switch
        {
            "too many log lines" => AgentFrameCodec.Serialize(new DiagnosticsFrame(command.CommandId, report with { LogLines = Enumerable.Repeat("x", DiagnosticsLimits.MaxLogLines + 1).ToList() })),
            "negative disk" => AgentFrameCodec.Serialize(new DiagnosticsFrame(command.CommandId, report with { Disks = [new DiskReport("/", "ext4", 10, -1)] })),
            "bad connectivity target" => AgentFrameCodec.Serialize(new DiagnosticsFrame(command.CommandId, report with { Connectivity = [new ConnectivityCheck("elsewhere", "https://x.example/", true, 1, 200, null)] })),
            "more security updates than pending" => AgentFrameCodec.Serialize(new DiagnosticsFrame(command.CommandId, report with { OsUpdates = new OsUpdateStatus(1, 2, false, DateTimeOffset.UtcNow) })),
            _ => Encoding.UTF8.GetBytes("""{"type":"diagnostics","commandId":"COMMAND","report":{"gatheredAt":12}}""".Replace("COMMAND", command.CommandId.ToString(), StringComparison.Ordinal)),
        };

        await agent.SendRawAsync(payload);

        (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.MalformedFrame);
        (await StoredAsync(agent.DeviceId)).ShouldBe(0);
    }

    [Fact]
    public async Task ReportForACommandNotSentToTheDevice_IsIgnored()
    {
        var (_, agent, command, technician) = await RequestedAsync();
        await using var agentLease = agent;
        using var technicianLease = technician;
        var (_, other) = await SchoolDeviceAsync();
        await using var otherLease = other;

        // Another device answers this device's command, and this device answers a command that does not exist.
        await other.SendAsync(new DiagnosticsFrame(command.CommandId, Report()));
        await agent.SendAsync(new DiagnosticsFrame(Guid.NewGuid(), Report()));
        await agent.SendAsync(new HeartbeatFrame(null, null, null));
        await other.SendAsync(new HeartbeatFrame(null, null, null));
        await Task.Delay(300);

        (await StoredAsync(agent.DeviceId)).ShouldBe(0);
        (await StoredAsync(other.DeviceId)).ShouldBe(0);
    }

    [Fact]
    public async Task GroupRequest_ByTheSchoolsTechnician_ReachesEveryDevice_ListsReportsAndPendingAndIsAuditedOnce()
    {
        var (school, first) = await SchoolDeviceAsync();
        await using var firstLease = first;
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: school), "SN-" + Guid.NewGuid().ToString("N")[..10], Contracts.Enrollment.DevicePlatform.Windows);
        await using var second = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await second.ExpectWelcomeAsync();
        var group = await IdAsync("/api/groups", new { name = "Lab " + Guid.NewGuid().ToString("N")[..8], kind = "custom", schoolId = school });
        (await Host.PostJsonAsync($"/api/groups/{group}/members", new { deviceIds = new[] { first.DeviceId, second.DeviceId } })).EnsureSuccessStatusCode();
        using var technician = await Host.SignInAsNewAccountAsync("lab-" + Guid.NewGuid().ToString("N")[..8], "itTechnician", schoolId: school);

        using var requested = await technician.PostAsync($"/api/groups/{group}/diagnostics", null);
        requested.StatusCode.ShouldBe(HttpStatusCode.Accepted, await requested.Content.ReadAsStringAsync());
        var answer = JsonDocument.Parse(await requested.Content.ReadAsStringAsync()).RootElement;
        answer.GetProperty("deviceCount").GetInt32().ShouldBe(2);
        var commandId = answer.GetProperty("commandId").GetGuid();
        var firstCommand = await first.ExpectAsync<CommandFrame>();
        var secondCommand = await second.ExpectAsync<CommandFrame>();
        firstCommand.CommandId.ShouldBe(commandId);
        secondCommand.CommandId.ShouldBe(commandId);
        secondCommand.Kind.ShouldBe(CommandKinds.Diagnose);
        secondCommand.Arguments!["urls"].ShouldBe("https://learn.example.org/");

        // One device answers; the other's request is still under way.
        await first.SendAsync(new DiagnosticsFrame(commandId, Report()));
        await first.SendAsync(new CommandStatusFrame(commandId, CommandStatusValues.Succeeded, Result: "report sent"));
        JsonElement list = default;
        await Poll.UntilAsync(async () =>
        {
            list = JsonDocument.Parse(await technician.GetStringAsync($"/api/groups/{group}/diagnostics")).RootElement;
            return list.EnumerateArray().Any(d => d.GetProperty("latest").ValueKind == JsonValueKind.Object);
        }, HomeroomHost.Timeout);
        list.GetArrayLength().ShouldBe(2);
        var answered = list.EnumerateArray().Single(d => d.GetProperty("deviceId").GetGuid() == first.DeviceId);
        answered.GetProperty("latest").GetProperty("commandId").GetGuid().ShouldBe(commandId);
        answered.GetProperty("latest").GetProperty("failedChecks").GetInt32().ShouldBe(4);
        answered.GetProperty("pending").ValueKind.ShouldBe(JsonValueKind.Null);
        var waiting = list.EnumerateArray().Single(d => d.GetProperty("deviceId").GetGuid() == second.DeviceId);
        waiting.GetProperty("latest").ValueKind.ShouldBe(JsonValueKind.Null);
        waiting.GetProperty("pending").GetProperty("commandId").GetGuid().ShouldBe(commandId);

        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var audit = await db.AuditLog.Where(a => a.Action == "command.issue" && a.SchoolId == school).ToListAsync();
        audit.ShouldHaveSingleItem().TargetId.ShouldBe(group.ToString());
        audit[0].Details!.ShouldContain($"{CommandKinds.Diagnose} to 2 device(s)");
    }

    [Fact]
    public async Task GroupRequest_ByATeacherOrAnotherSchoolsTechnician_IsRefusedAndSendsNothing()
    {
        var (school, agent) = await SchoolDeviceAsync();
        await using var agentLease = agent;
        var group = await IdAsync("/api/groups", new { name = "Lab " + Guid.NewGuid().ToString("N")[..8], kind = "custom", schoolId = school });
        (await Host.PostJsonAsync($"/api/groups/{group}/members", new { deviceIds = new[] { agent.DeviceId } })).EnsureSuccessStatusCode();
        var other = await IdAsync("/api/schools", new { name = "Elsewhere " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" });
        using var stranger = await Host.SignInAsNewAccountAsync("far-" + Guid.NewGuid().ToString("N")[..8], "itTechnician", schoolId: other);
        using var teacher = await Host.SignInAsNewAccountAsync("t-" + Guid.NewGuid().ToString("N")[..8], "teacher", schoolId: school);

        (await teacher.PostAsync($"/api/groups/{group}/diagnostics", null)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await teacher.GetAsync($"/api/groups/{group}/diagnostics")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await stranger.PostAsync($"/api/groups/{group}/diagnostics", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await stranger.GetAsync($"/api/groups/{group}/diagnostics")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await agent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
    }

    [Fact]
    public async Task NewestFewAreKept_AndRetentionDeletesOldReports()
    {
        var (school, agent) = await SchoolDeviceAsync();
        await using var agentLease = agent;
        using var technician = await Host.SignInAsNewAccountAsync("keep-" + Guid.NewGuid().ToString("N")[..8], "itTechnician", schoolId: school);
        var commands = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            (await technician.PostAsync($"/api/devices/{agent.DeviceId}/diagnostics", null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            var command = await agent.ExpectAsync<CommandFrame>();
            commands.Add(command.CommandId);
            await agent.SendAsync(new DiagnosticsFrame(command.CommandId, Report(logLines: i + 1)));
            await Poll.UntilAsync(async () => JsonDocument.Parse(await technician.GetStringAsync($"/api/devices/{agent.DeviceId}/diagnostics")).RootElement
                .GetProperty("latest") is { ValueKind: JsonValueKind.Object } latest && latest.GetProperty("commandId").GetGuid() == command.CommandId, HomeroomHost.Timeout);
        }

        var history = JsonDocument.Parse(await technician.GetStringAsync($"/api/devices/{agent.DeviceId}/diagnostics/history")).RootElement;
        history.EnumerateArray().Select(r => r.GetProperty("commandId").GetGuid()).ShouldBe([commands[3], commands[2], commands[1]]);

        // Thirty days on (the default retention), the support retention job deletes them.
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        await db.Set<DeviceDiagnosticsRecord>().Where(r => r.DeviceId == agent.DeviceId).ExecuteUpdateAsync(s => s.SetProperty(r => r.ReceivedAt, r => r.ReceivedAt.AddDays(-31)));
        await Host.GetService<SupportRetention>().PurgeAsync(CancellationToken.None);
        (await StoredAsync(agent.DeviceId)).ShouldBe(0);
    }
}

public sealed class DiagnosticsSqliteTests(DiagnosticsSqliteHost shared) : DiagnosticsTests(shared), IClassFixture<DiagnosticsSqliteHost>;

public sealed class DiagnosticsPostgresTests(DiagnosticsPostgresHost shared) : DiagnosticsTests(shared), IClassFixture<DiagnosticsPostgresHost>;
