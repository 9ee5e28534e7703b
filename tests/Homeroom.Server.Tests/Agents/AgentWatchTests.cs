using System.Net.WebSockets;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Agents;
using Homeroom.Server.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Agents;

/// <summary>
/// The agent watch (issue 17, self-protection) on a real server with agents over real WebSockets: a desktop agent
/// stopped while its computer runs raises an alert when it does not come back in time, a shutdown or a quick return
/// raises none, a silent Mac that goes on checking in through MDM raises one, and the agent's return clears it.
/// </summary>
public sealed class AgentWatchTests(AgentWatchHost shared) : IClassFixture<AgentWatchHost>
{
    internal static readonly string[] Settings =
    [
        "Homeroom:Agents:StoppedAlertGraceSeconds=1",
        "Homeroom:Agents:SilentAlertSeconds=1",
        // The test runs each pass itself; the background pass waits longer than any test.
        "Homeroom:Agents:WatchIntervalSeconds=300",
    ];

    private HomeroomHost Host => shared.Host;

    private AgentWatch Watch => Host.GetService<AgentWatch>();

    [Fact]
    public async Task AgentStoppedOnARunningComputer_RaisesAnAlertAfterTheGrace_AndItsReturnClearsIt()
    {
        var (enrolled, agent) = await ConnectAsync(DevicePlatform.Windows);
        await agent.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, AgentGoingAwayReasons.AgentStopped);
        await Poll.UntilAsync(() => Task.FromResult(Watch.IsWaitingFor(enrolled.DeviceId)));

        await Task.Delay(TimeSpan.FromSeconds(1.2));
        await Watch.CheckAsync(CancellationToken.None);

        var alert = (await AlertsAsync(enrolled.DeviceId, "open")).ShouldHaveSingleItem();
        alert.GetProperty("kind").GetString().ShouldBe("agentStopped");
        alert.GetProperty("details").GetString()!.ShouldContain("was stopped");
        (await AuditAsync(enrolled.DeviceId)).ShouldContain("alert.raise");

        await using var back = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await back.ExpectWelcomeAsync();
        await Watch.CheckAsync(CancellationToken.None);
        (await AlertsAsync(enrolled.DeviceId, "open")).ShouldBeEmpty();
        var cleared = (await AlertsAsync(enrolled.DeviceId, "cleared")).ShouldHaveSingleItem();
        cleared.GetProperty("id").GetGuid().ShouldBe(alert.GetProperty("id").GetGuid());
        (await AuditAsync(enrolled.DeviceId)).ShouldContain("alert.clear");
    }

    [Fact]
    public async Task AnAgentBackWithinTheGrace_ASystemShutdown_OrANormalClose_RaiseNothing()
    {
        var (restarted, first) = await ConnectAsync(DevicePlatform.Linux);
        await first.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, AgentGoingAwayReasons.AgentStopped);
        await Poll.UntilAsync(() => Task.FromResult(Watch.IsWaitingFor(restarted.DeviceId)));
        await using (var again = await TestAgent.ConnectAsync(Host.AgentUri, restarted.DeviceId, restarted.Credential))
        {
            await again.ExpectWelcomeAsync();
            Watch.IsWaitingFor(restarted.DeviceId).ShouldBeFalse();
            await again.CloseAsync();
        }

        var (shutDown, second) = await ConnectAsync(DevicePlatform.Windows);
        await second.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, AgentGoingAwayReasons.SystemShutdown);
        var (closed, third) = await ConnectAsync(DevicePlatform.Linux);
        await third.CloseAsync();

        await Task.Delay(TimeSpan.FromSeconds(1.2));
        await Watch.CheckAsync(CancellationToken.None);
        foreach (var id in new[] { restarted.DeviceId, shutDown.DeviceId, closed.DeviceId })
        {
            Watch.IsWaitingFor(id).ShouldBeFalse();
            (await AlertsAsync(id, "all")).ShouldBeEmpty();
        }
    }

    [Fact]
    public async Task ADroppedConnection_WithNoOtherChannel_OrOnAChromebook_RaisesNothing()
    {
        var (windows, dropped) = await ConnectAsync(DevicePlatform.Windows);
        dropped.Abort();
        var (chromebook, stopped) = await ConnectAsync(DevicePlatform.ChromeOS);
        await stopped.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, AgentGoingAwayReasons.AgentStopped);
        await Poll.UntilAsync(() => Task.FromResult(!Host.GetService<ConnectionRegistry>().IsOnline(windows.DeviceId) && !Host.GetService<ConnectionRegistry>().IsOnline(chromebook.DeviceId)));

        Watch.IsWaitingFor(chromebook.DeviceId).ShouldBeFalse();
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        await Watch.CheckAsync(CancellationToken.None);

        // Without an MDM enrollment nothing else shows the laptop running: it went home or to sleep as far as anyone knows.
        Watch.IsWaitingFor(windows.DeviceId).ShouldBeFalse();
        (await AlertsAsync(windows.DeviceId, "all")).ShouldBeEmpty();
        (await AlertsAsync(chromebook.DeviceId, "all")).ShouldBeEmpty();
    }

    [Fact]
    public async Task ASilentMacAgent_WhoseMacChecksInThroughMdm_RaisesAnAgentSilentAlert()
    {
        var (mac, agent) = await ConnectAsync(DevicePlatform.MacOS);
        var factory = Host.GetService<IDbContextFactory<HomeroomDbContext>>();
        await using (var db = await factory.CreateDbContextAsync())
        {
            db.AppleDevices.Add(new AppleDevice
            {
                DeviceId = mac.DeviceId, Udid = Guid.NewGuid().ToString("N"), IdentityThumbprint = new string('a', 64),
                EnrolledAt = DateTime.UtcNow,
            });
            await db.SaveChangesAsync();
        }

        agent.Abort();
        await Poll.UntilAsync(() => Task.FromResult(Watch.IsWaitingFor(mac.DeviceId)));
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        await Watch.CheckAsync(CancellationToken.None);
        (await AlertsAsync(mac.DeviceId, "all")).ShouldBeEmpty(); // No check-in since it fell silent: maybe just asleep.
        Watch.IsWaitingFor(mac.DeviceId).ShouldBeTrue();

        await Task.Delay(TimeSpan.FromMilliseconds(50));
        Host.GetService<PresenceTracker>().MdmContact(mac.DeviceId); // What an MDM check-in or command poll records.
        await Watch.CheckAsync(CancellationToken.None);

        var alert = (await AlertsAsync(mac.DeviceId, "open")).ShouldHaveSingleItem();
        alert.GetProperty("kind").GetString().ShouldBe("agentSilent");
        alert.GetProperty("details").GetString()!.ShouldContain("Apple MDM");
    }

    [Fact]
    public async Task ARevokedDevice_RaisesNothing()
    {
        var (enrolled, agent) = await ConnectAsync(DevicePlatform.Windows);
        await agent.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, AgentGoingAwayReasons.AgentStopped);
        await Poll.UntilAsync(() => Task.FromResult(Watch.IsWaitingFor(enrolled.DeviceId)));
        using (var revoke = await Host.PostJsonAsync($"/api/devices/{enrolled.DeviceId}/revoke", new { }))
        {
            revoke.IsSuccessStatusCode.ShouldBeTrue(await revoke.Content.ReadAsStringAsync());
        }

        await Task.Delay(TimeSpan.FromSeconds(1.2));
        await Watch.CheckAsync(CancellationToken.None);
        (await AlertsAsync(enrolled.DeviceId, "all")).ShouldBeEmpty();
    }

    private async Task<(EnrollResponse Enrolled, TestAgent Agent)> ConnectAsync(DevicePlatform platform)
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "WATCH-" + Guid.NewGuid().ToString("N")[..10], platform);
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        return (enrolled, agent);
    }

    private async Task<List<JsonElement>> AlertsAsync(Guid deviceId, string state) =>
        [.. (await Host.GetJsonAsync<JsonElement>($"/api/alerts?state={state}&deviceId={deviceId}")).GetProperty("items").EnumerateArray()
            .Where(a => a.GetProperty("deviceId").GetGuid() == deviceId)];

    private async Task<List<string>> AuditAsync(Guid deviceId)
    {
        var factory = Host.GetService<IDbContextFactory<HomeroomDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        return await db.AuditLog.Where(e => e.TargetId == deviceId.ToString()).Select(e => e.Action).ToListAsync();
    }
}

public sealed class AgentWatchHost() : SharedHost(DatabaseProvider.Sqlite, AgentWatchTests.Settings);
