using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Hosting.Cluster;

/// <summary>
/// A desktop agent's capabilities across two server nodes on one PostgreSQL database: what the agent told the node it is
/// connected to is what the other node's API and device page act on, also when the agent told that other node something
/// else on an earlier connection.
/// </summary>
public sealed class ClusterCapabilitiesTests
{
    private const string NoHelper = "needs the Homeroom user-session helper, and none is connected";
    private const string NoFiles = "no signed-in user to receive files";

    private static readonly string[] Settings = ["Homeroom:RemoteSupport:FileTransferAllowed=true"];

    private static async Task<(HomeroomHost A, HomeroomHost B)> StartTwoNodesAsync()
    {
        var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres, Settings);
        var b = await HomeroomHost.StartNodeAsync(a, Settings);
        foreach (var node in new[] { a, b })
        {
            var listener = node.GetService<BackplaneListener>();
            await Poll.UntilAsync(() => Task.FromResult(listener.IsListening), TimeSpan.FromSeconds(15));
        }

        return (a, b);
    }

    private static async Task<TestAgent> ConnectAsync(HomeroomHost node, EnrollResponse device, params AgentCapability[] capabilities)
    {
        var agent = await TestAgent.ConnectAsync(node.AgentUri, device.DeviceId, device.Credential);
        await agent.ExpectWelcomeAsync();
        await agent.SendAsync(new InventoryFrame("Debian GNU/Linux", "12", null, null, null, null, null, capabilities));
        return agent;
    }

    private static async Task<JsonElement?> CapabilityAsync(HomeroomHost node, Guid deviceId, string name)
    {
        var device = await node.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}");
        return device.GetProperty("capabilities") is { ValueKind: JsonValueKind.Array } list
            ? list.EnumerateArray().Where(c => c.GetProperty("name").GetString() == name).Cast<JsonElement?>().FirstOrDefault()
            : null;
    }

    [Fact]
    public async Task Capabilities_ReportedToB_AreWhatAsApiAndDevicePageActOn_NotWhatTheAgentOnceToldA()
    {
        var (a, b) = await StartTwoNodesAsync();
        await using var nodeA = a;
        await using var nodeB = b;
        var device = await a.EnrollAsync(await a.CreateTokenAsync(), "DESK-1", DevicePlatform.Linux);

        // First connected to A, with the helper running: the lock and file transfer are available; A's answer says so.
        await using (await ConnectAsync(a, device, new AgentCapability(CapabilityNames.Lock, true), new AgentCapability(CapabilityNames.RemoteFile, true)))
        {
            await Poll.UntilAsync(async () => await CapabilityAsync(a, device.DeviceId, CapabilityNames.Lock) is { } c && c.GetProperty("available").GetBoolean());
        }

        await Poll.UntilAsync(() => Task.FromResult(!a.GetService<ConnectionRegistry>().IsOnline(device.DeviceId)), TimeSpan.FromSeconds(5));

        // Then connected to B, without the helper: B is told both are unavailable, and why.
        await using var agent = await ConnectAsync(b, device,
            new AgentCapability(CapabilityNames.Lock, false, NoHelper), new AgentCapability(CapabilityNames.RemoteFile, false, NoFiles));
        await Poll.UntilAsync(() => Task.FromResult(b.GetService<DeviceLiveState>().Capabilities(device.DeviceId)?.Any(c => !c.Available) == true),
            TimeSpan.FromSeconds(5));

        // A's API (and the device page, which reads the same use case) follows B's list, with the agent's reason.
        await Poll.UntilAsync(async () => await CapabilityAsync(a, device.DeviceId, CapabilityNames.Lock) is { } c && !c.GetProperty("available").GetBoolean(),
            TimeSpan.FromSeconds(5));
        var locking = (await CapabilityAsync(a, device.DeviceId, CapabilityNames.Lock))!.Value;
        locking.GetProperty("reason").GetString().ShouldBe(NoHelper);
        var page = await a.GetService<DeviceDirectory>().GetAsync(StaffScope.System, device.DeviceId);
        page!.Capabilities.ShouldNotBeNull().ShouldContain(new AgentCapability(CapabilityNames.Lock, false, NoHelper));

        // A's remote support answer gives the agent's reason for files too.
        var support = await a.Client.GetFromJsonAsync<JsonElement>($"/api/devices/{device.DeviceId}/remote-session", HomeroomHost.Json);
        support.GetProperty("fileTransferUnavailableReason").GetString().ShouldBe(NoFiles);
    }
}
