using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Devices;

/// <summary>
/// A desktop agent's capabilities are stored with the device: after a server restart, before the agent reconnects, the
/// device page and the API still grey out what it said it cannot do, with its reason; an inventory without a list keeps
/// the stored one, a new list replaces it whole.
/// </summary>
public abstract class StoredCapabilitiesTests(DatabaseProvider provider) : IAsyncLifetime
{
    private const string NoHelper = "needs the Homeroom user-session helper, and none is connected";
    private const string NoFiles = "no signed-in user to receive files";

    private HomeroomHost Host { get; set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(provider, "Homeroom:RemoteSupport:FileTransferAllowed=true");

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private async Task<IReadOnlyList<AgentCapability>?> CapabilitiesAsync(Guid deviceId) =>
        (await Host.GetService<DeviceDirectory>().GetAsync(StaffScope.System, deviceId))!.Capabilities;

    private async Task<TestAgent> ConnectAsync(EnrollResponse device)
    {
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, device.DeviceId, device.Credential);
        await agent.ExpectWelcomeAsync();
        return agent;
    }

    [Fact]
    public async Task Capabilities_AfterRestart_BeforeTheAgentReconnects_AreTheStoredOnes()
    {
        var device = await Host.EnrollAsync(await Host.CreateTokenAsync(), "DESK-1", DevicePlatform.Linux);
        AgentCapability[] reported =
        [
            new(CapabilityNames.Lock, false, NoHelper), new(CapabilityNames.Restart, true), new(CapabilityNames.RemoteFile, false, NoFiles),
        ];
        await using (var agent = await ConnectAsync(device))
        {
            await agent.SendAsync(new InventoryFrame("Debian GNU/Linux", "12", null, null, null, null, null, reported));
            await Poll.UntilAsync(() => Task.FromResult(Host.GetService<DeviceLiveState>().Capabilities(device.DeviceId) is not null), TimeSpan.FromSeconds(5));
        }

        await Host.RestartAsync();

        Host.GetService<DeviceLiveState>().Capabilities(device.DeviceId).ShouldBeNull();
        (await CapabilitiesAsync(device.DeviceId)).ShouldBe(reported);
        var api = await Host.GetJsonAsync<JsonElement>($"/api/devices/{device.DeviceId}");
        var locking = api.GetProperty("capabilities").EnumerateArray().Single(c => c.GetProperty("name").GetString() == CapabilityNames.Lock);
        locking.GetProperty("available").GetBoolean().ShouldBeFalse();
        locking.GetProperty("reason").GetString().ShouldBe(NoHelper);
        var support = await Host.Client.GetFromJsonAsync<JsonElement>($"/api/devices/{device.DeviceId}/remote-session", HomeroomHost.Json);
        support.GetProperty("fileTransferUnavailableReason").GetString().ShouldBe(NoFiles);

        // Back: an inventory without a list keeps the stored one; the next list replaces it whole.
        await using var again = await ConnectAsync(device);
        await again.SendAsync(new InventoryFrame("Debian GNU/Linux", "12", null, null, null, null, null));
        await again.SendAsync(new InventoryFrame("Debian GNU/Linux", "12", null, null, null, null, null, [new(CapabilityNames.Lock, true)]));
        await Poll.UntilAsync(() => Task.FromResult(Host.GetService<DeviceLiveState>().Capabilities(device.DeviceId) is not null), TimeSpan.FromSeconds(5));
        await again.CloseAsync();
        await Poll.UntilAsync(async () => (await CapabilitiesAsync(device.DeviceId))?.Count == 1, TimeSpan.FromSeconds(5));
        (await CapabilitiesAsync(device.DeviceId)).ShouldBe([new AgentCapability(CapabilityNames.Lock, true)]);
    }

    [Fact]
    public async Task Capabilities_NeverReported_AreNull_AndAnInventoryWithoutThemStoresNone()
    {
        var device = await Host.EnrollAsync(await Host.CreateTokenAsync(), "CHROME-1");
        await using (var agent = await ConnectAsync(device))
        {
            await agent.SendAsync(new InventoryFrame("ChromeOS", "120", null, null, null, null, null));
            await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{device.DeviceId}")).GetProperty("osVersion").GetString() == "120",
                TimeSpan.FromSeconds(5));
        }

        await Host.RestartAsync();

        (await CapabilitiesAsync(device.DeviceId)).ShouldBeNull();
    }
}

public sealed class StoredCapabilitiesSqliteTests() : StoredCapabilitiesTests(DatabaseProvider.Sqlite);

public sealed class StoredCapabilitiesPostgresTests() : StoredCapabilitiesTests(DatabaseProvider.Postgres);
