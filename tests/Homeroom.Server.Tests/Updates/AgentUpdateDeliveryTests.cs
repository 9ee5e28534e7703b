using System.Net;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Commands;
using Homeroom.Rules.Updates;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Server.Updates;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Updates;

/// <summary>
/// Rollouts for the desktop agent's platforms (Linux, Windows) deliver, over real WebSockets on loopback: a started
/// ring's devices that are not on the target (below its version, or reporting updates pending) are sent
/// <c>installOsUpdates</c> with the ring's deadline once; a failed install counts against the gate and is sent again
/// only after the back-off; the status agents report feeds the gate. A malformed or oversized update status
/// closes the connection and stores nothing. One server per class (tests make their own groups and devices).
/// </summary>
public abstract class AgentUpdateDeliveryTests(SharedHost shared) : IAsyncLifetime
{
    private readonly List<TestAgent> _agents = [];

    private HomeroomHost Host => shared.Host;

    private RolloutEvaluator Evaluator => Host.GetService<RolloutEvaluator>();

    private DateTime Now => Host.Clock.GetUtcNow().UtcDateTime;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }
    }

    private static string Unique() => Guid.NewGuid().ToString("N")[..6];

    private async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task<Guid> GroupAsync()
    {
        var school = await IdAsync("/api/schools", new { name = "School " + Unique(), timeZone = "UTC" });
        return await IdAsync("/api/groups", new { name = "Ring " + Unique(), kind = "custom", schoolId = school });
    }

    /// <summary>A device of the platform in the group, connected as an agent that reported this inventory.</summary>
    private async Task<TestAgent> AgentAsync(Guid group, DevicePlatform platform, string version, OsUpdateStatus? updates)
    {
        var token = await Host.CreateTokenAsync(groupId: group);
        var enrolled = await Host.EnrollAsync(token, "SN-" + Unique(), platform);
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        _agents.Add(agent);
        await agent.ExpectWelcomeAsync();
        await agent.SendAsync(new InventoryFrame(platform == DevicePlatform.Linux ? "Debian GNU/Linux" : "Windows", version, null, null, null, null, null, null, updates));
        await Poll.UntilAsync(async () =>
        {
            await using var db = await Db();
            var device = await db.Devices.AsNoTracking().SingleAsync(d => d.Id == agent.DeviceId);
            return device.OsVersion == version && (updates is null || await db.DeviceOsUpdates.AnyAsync(u => u.DeviceId == agent.DeviceId && u.Pending == updates.Pending));
        }, HomeroomHost.Timeout);
        await Seen(agent.DeviceId);
        return agent;
    }

    private Task<HomeroomDbContext> Db() => Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();

    private async Task Seen(params Guid[] devices)
    {
        await using var db = await Db();
        var now = Now;
        await db.Devices.Where(d => devices.Contains(d.Id)).ExecuteUpdateAsync(d => d.SetProperty(x => x.LastSeenAt, now));
    }

    private async Task<Guid> RolloutAsync(string platform, string target, Guid group, int percent, DateTime? deadline = null)
    {
        using var created = await Host.PostJsonAsync("/api/updates/rollouts", new
        {
            name = "Rollout " + Unique(), platform, targetVersion = target,
            rings = new[] { new { groupId = group, requiredPercent = percent, soakHours = 0, deadline } },
        });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var rollout = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        rollout.GetProperty("delivery").GetString()!.ShouldContain("installOsUpdates");
        rollout.GetProperty("delivery").GetString()!.ShouldNotContain("Not delivered");
        return rollout.GetProperty("id").GetGuid();
    }

    private async Task<DeliveryStatus> StatusOfAsync(Guid commandId, Guid deviceId)
    {
        await using var db = await Db();
        return await db.CommandDeliveries.Where(cd => cd.CommandId == commandId && cd.DeviceId == deviceId).Select(cd => cd.Status).SingleAsync();
    }

    [Fact]
    public async Task Linux_PendingUpdatesInAStartedRing_InstallSentOnce_FailureRetriedAfterBackOff_ThenTheGatePasses()
    {
        var group = await GroupAsync();
        var failing = await AgentAsync(group, DevicePlatform.Linux, "12", new OsUpdateStatus(3, 1, false, DateTimeOffset.UtcNow));
        var current = await AgentAsync(group, DevicePlatform.Linux, "12", new OsUpdateStatus(0, 0, false, DateTimeOffset.UtcNow));
        var pending = await AgentAsync(group, DevicePlatform.Linux, "12", new OsUpdateStatus(1, 0, false, DateTimeOffset.UtcNow));
        var deadline = Now.AddDays(7).Date;
        var id = await RolloutAsync("linux", "12", group, 50, deadline);

        // The ring started: the two with updates pending get installOsUpdates with the ring's deadline; the current one does not.
        (await Host.GetJsonAsync<JsonElement>($"/api/updates/devices/{failing.DeviceId}")).EnumerateArray().Single().GetProperty("atTarget").GetBoolean().ShouldBeFalse();
        (await Host.GetJsonAsync<JsonElement>($"/api/updates/devices/{current.DeviceId}")).EnumerateArray().Single().GetProperty("atTarget").GetBoolean().ShouldBeTrue();
        var first = (await Evaluator.EvaluateOnceAsync(id)).ShouldNotBeNull();
        first.UpdateCommandsSent.ShouldBe(2);
        first.Decision.Progress.Devices.ShouldBe(3);
        first.Decision.Progress.AtTarget.ShouldBe(1);
        var toFailing = await failing.ExpectAsync<CommandFrame>();
        toFailing.Kind.ShouldBe(CommandKinds.InstallOsUpdates);
        DateTimeOffset.Parse(toFailing.Arguments!["deadline"], System.Globalization.CultureInfo.InvariantCulture).UtcDateTime.ShouldBe(deadline);
        var toPending = await pending.ExpectAsync<CommandFrame>();
        toPending.Kind.ShouldBe(CommandKinds.InstallOsUpdates);
        (await current.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();

        // While they are on their way, nothing more is sent.
        (await Evaluator.EvaluateOnceAsync(id))!.UpdateCommandsSent.ShouldBe(0);

        // One fails: it counts as a failed install, and it is not sent again before the back-off (1 h).
        await failing.SendAsync(new CommandStatusFrame(toFailing.CommandId, CommandStatusValues.Acknowledged));
        await failing.SendAsync(new CommandStatusFrame(toFailing.CommandId, CommandStatusValues.Failed, Error: "apt-get upgrade exited with 100: E: broken"));
        await Poll.UntilAsync(async () => await StatusOfAsync(toFailing.CommandId, failing.DeviceId) == DeliveryStatus.Failed, HomeroomHost.Timeout);
        var afterFailure = (await Evaluator.EvaluateOnceAsync(id)).ShouldNotBeNull();
        afterFailure.UpdateCommandsSent.ShouldBe(0);
        afterFailure.Decision.Progress.FailedInstall.ShouldBe(1);
        afterFailure.Decision.Outcome.ShouldBe(GateOutcome.Wait);

        Host.Clock.Advance(TimeSpan.FromMinutes(59));
        await Seen(failing.DeviceId, current.DeviceId, pending.DeviceId);
        (await Evaluator.EvaluateOnceAsync(id))!.UpdateCommandsSent.ShouldBe(0);
        Host.Clock.Advance(TimeSpan.FromMinutes(2));
        await Seen(failing.DeviceId, current.DeviceId, pending.DeviceId);
        (await Evaluator.EvaluateOnceAsync(id))!.UpdateCommandsSent.ShouldBe(1);
        var retry = await failing.ExpectAsync<CommandFrame>();
        retry.Kind.ShouldBe(CommandKinds.InstallOsUpdates);
        retry.CommandId.ShouldNotBe(toFailing.CommandId);

        // The other installs and reports nothing pending: with the current one, 2 of 3 healthy on the target pass the 50 % gate.
        await pending.SendAsync(new InventoryFrame("Debian GNU/Linux", "12", null, null, null, null, null, null,
            new OsUpdateStatus(0, 0, true, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, true, "installed 1 update with apt-get (0 for security)")));
        await pending.AnswerAsync(toPending);
        await Poll.UntilAsync(async () =>
        {
            await using var db = await Db();
            return await db.DeviceOsUpdates.AnyAsync(u => u.DeviceId == pending.DeviceId && u.Pending == 0 && u.RebootRequired && u.LastInstallOk == true);
        }, HomeroomHost.Timeout);
        var passed = (await Evaluator.EvaluateOnceAsync(id)).ShouldNotBeNull();
        passed.Decision.Progress.AtTarget.ShouldBe(2);
        passed.Decision.Progress.HealthyAtTarget.ShouldBe(2);
        passed.Decision.Outcome.ShouldBe(GateOutcome.Pass);
        (await Host.GetJsonAsync<JsonElement>($"/api/updates/rollouts/{id}")).GetProperty("state").GetString().ShouldBe("done");
    }

    [Fact]
    public async Task Linux_FailedInstallTheAgentReports_CountsAgainstTheGate()
    {
        var group = await GroupAsync();
        var failed = await AgentAsync(group, DevicePlatform.Linux, "12", new OsUpdateStatus(0, 0, false, DateTimeOffset.UtcNow));
        await AgentAsync(group, DevicePlatform.Linux, "12", new OsUpdateStatus(0, 0, false, DateTimeOffset.UtcNow));
        var id = await RolloutAsync("linux", "12", group, 100);
        Host.Clock.Advance(TimeSpan.FromMinutes(1));
        await failed.SendAsync(new InventoryFrame("Debian GNU/Linux", "12", null, null, null, null, null, null,
            new OsUpdateStatus(0, 0, false, Host.Clock.GetUtcNow(), Host.Clock.GetUtcNow(), false, "apt-get upgrade exited with 100")));
        await Poll.UntilAsync(async () =>
        {
            await using var db = await Db();
            return await db.DeviceOsUpdates.AnyAsync(u => u.DeviceId == failed.DeviceId && u.LastInstallOk == false);
        }, HomeroomHost.Timeout);
        await Seen([.. _agents.Select(a => a.DeviceId)]);

        var evaluation = (await Evaluator.EvaluateOnceAsync(id)).ShouldNotBeNull();

        evaluation.Decision.Progress.FailedInstall.ShouldBe(1);
        evaluation.Decision.Outcome.ShouldBe(GateOutcome.Pause);
        evaluation.Decision.Reason.ShouldContain("1 failed to install 12");
        evaluation.UpdateCommandsSent.ShouldBe(0);
    }

    [Fact]
    public async Task Windows_DeviceBelowTheTargetBuild_SentInstall_DeviceOnIt_NotSent()
    {
        var group = await GroupAsync();
        var behind = await AgentAsync(group, DevicePlatform.Windows, "10.0.22631.4317", null);
        var ahead = await AgentAsync(group, DevicePlatform.Windows, "10.0.22631.4460", null);
        var id = await RolloutAsync("windows", "10.0.22631.4460", group, 100);

        var evaluation = (await Evaluator.EvaluateOnceAsync(id)).ShouldNotBeNull();

        evaluation.UpdateCommandsSent.ShouldBe(1);
        var command = await behind.ExpectAsync<CommandFrame>();
        command.Kind.ShouldBe(CommandKinds.InstallOsUpdates);
        command.Arguments?.ContainsKey("deadline").ShouldNotBe(true);
        (await ahead.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
    }

    public static TheoryData<string, string> BadStatuses => new()
    {
        { """{"pending":-1,"security":0,"rebootRequired":false,"checkedAt":null}""", "osUpdates counts invalid" },
        { """{"pending":2,"security":3,"rebootRequired":false,"checkedAt":null}""", "osUpdates counts invalid" },
        { """{"pending":100001,"security":0,"rebootRequired":false,"checkedAt":null}""", "osUpdates counts invalid" },
        { """{"pending":0,"security":0,"rebootRequired":false,"checkedAt":null,"lastInstallAt":"2026-01-01T00:00:00Z"}""", "osUpdates install outcome incomplete" },
        { $$"""{"pending":0,"security":0,"rebootRequired":false,"checkedAt":null,"error":"{{new string('x', 257)}}"}""", "osUpdates.error" },
        { $$"""{"pending":0,"security":0,"rebootRequired":false,"checkedAt":null,"lastInstallAt":"2026-01-01T00:00:00Z","lastInstallOk":false,"lastInstallResult":"{{new string('x', 257)}}"}""", "osUpdates.lastInstallResult" },
    };

    [Theory]
    [MemberData(nameof(BadStatuses))]
    public async Task Inventory_MalformedOrOversizedUpdateStatus_ClosesTheConnection_StoresNothing(string status, string reason)
    {
        var group = await GroupAsync();
        var token = await Host.CreateTokenAsync(groupId: group);
        var enrolled = await Host.EnrollAsync(token, "SN-" + Unique(), DevicePlatform.Linux);
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        _agents.Add(agent);
        await agent.ExpectWelcomeAsync();

        await agent.SendRawAsync(Encoding.UTF8.GetBytes($$"""{"type":"inventory","osName":"Debian GNU/Linux","osVersion":"12","osUpdates":{{status}}}"""));

        var (code, closeReason) = await agent.WaitForCloseAsync();
        code.ShouldBe(AgentCloseCodes.MalformedFrame);
        closeReason.ShouldNotBeNull().ShouldContain(reason);
        await using var db = await Db();
        (await db.DeviceOsUpdates.AnyAsync(u => u.DeviceId == enrolled.DeviceId)).ShouldBeFalse();
        (await db.Devices.Where(d => d.Id == enrolled.DeviceId).Select(d => d.OsVersion).SingleAsync()).ShouldNotBe("12");
    }
}

public sealed class SharedUpdatesSqliteHost() : SharedHost(DatabaseProvider.Sqlite, "Homeroom:Updates:EvaluationInterval=01:00:00");

public sealed class SharedUpdatesPostgresHost() : SharedHost(DatabaseProvider.Postgres, "Homeroom:Updates:EvaluationInterval=01:00:00");

public sealed class AgentUpdateDeliverySqliteTests(SharedUpdatesSqliteHost shared) : AgentUpdateDeliveryTests(shared), IClassFixture<SharedUpdatesSqliteHost>;

public sealed class AgentUpdateDeliveryPostgresTests(SharedUpdatesPostgresHost shared) : AgentUpdateDeliveryTests(shared), IClassFixture<SharedUpdatesPostgresHost>;
