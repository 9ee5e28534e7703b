using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Agents;

public sealed class AgentConnectionTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    internal static readonly string[] Settings =
    [
        "Homeroom:Agents:AuthTimeoutSeconds=1",
        "Homeroom:Agents:MessagesPerSecond=5",
        "Homeroom:Agents:MessageBurst=20",
        "Homeroom:Presence:FlushInterval=00:10:00",
    ];

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, Settings);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<JsonElement> DeviceAsync(Guid id) => await _host.GetJsonAsync<JsonElement>($"/api/devices/{id}");

    [Fact]
    public async Task Connect_ValidCredential_GetsWelcomeAndShowsOnline()
    {
        await using var agent = await _host.ConnectNewAgentAsync();

        (await DeviceAsync(agent.DeviceId)).GetProperty("online").GetBoolean().ShouldBeTrue();
        var online = await _host.GetJsonAsync<JsonElement>("/api/devices?online=true");
        online.GetProperty("total").GetInt32().ShouldBe(1);

        await agent.CloseAsync();
        await Poll.UntilAsync(async () => !(await DeviceAsync(agent.DeviceId)).GetProperty("online").GetBoolean());
    }

    [Fact]
    public async Task Connect_WrongCredential_ClosesWith4401()
    {
        var token = await _host.CreateTokenAsync();
        var enrolled = await _host.EnrollAsync(token, "S1");

        await using var agent = await TestAgent.ConnectAsync(_host.AgentUri, enrolled.DeviceId, "hrd_wrong");

        (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.AuthenticationFailed);
        (await DeviceAsync(enrolled.DeviceId)).GetProperty("online").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task Connect_UnknownDevice_ClosesWith4401()
    {
        await using var agent = await TestAgent.ConnectAsync(_host.AgentUri, Guid.NewGuid(), "hrd_whatever");

        (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.AuthenticationFailed);
    }

    [Fact]
    public async Task Connect_NoAuthFrameInTime_ClosesWith4408()
    {
        await using var agent = await TestAgent.ConnectAsync(_host.AgentUri, Guid.NewGuid(), "x", auth: false);

        (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.AuthenticationTimeout);
    }

    [Fact]
    public async Task Connect_OtherProtocolVersion_ClosesWith4426()
    {
        var enrolled = await _host.EnrollAsync(await _host.CreateTokenAsync(), "S2");

        await using var agent = await TestAgent.ConnectAsync(_host.AgentUri, enrolled.DeviceId, enrolled.Credential, protocolVersion: 2);

        (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.UnsupportedProtocolVersion);
    }

    [Fact]
    public async Task Revoke_LiveConnection_ClosesAtOnceWith4403AndRefusesReconnect()
    {
        var token = await _host.CreateTokenAsync();
        var enrolled = await _host.EnrollAsync(token, "REV-1");
        await using var agent = await TestAgent.ConnectAsync(_host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();

        (await _host.Client.PostAsync(new Uri($"/api/devices/{enrolled.DeviceId}/revoke", UriKind.Relative), null)).EnsureSuccessStatusCode();

        var (code, reason) = await agent.WaitForCloseAsync(TimeSpan.FromSeconds(5));
        code.ShouldBe(AgentCloseCodes.DeviceRevoked);
        reason.ShouldBe("device revoked");
        await using var again = await TestAgent.ConnectAsync(_host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        (await again.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.DeviceRevoked);
        (await DeviceAsync(enrolled.DeviceId)).GetProperty("revokedAt").ValueKind.ShouldBe(JsonValueKind.String);
    }

    [Fact]
    public async Task SecondConnection_SameDevice_ReplacesTheFirstWith4409()
    {
        var enrolled = await _host.EnrollAsync(await _host.CreateTokenAsync(), "DUP-1");
        await using var first = await TestAgent.ConnectAsync(_host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await first.ExpectWelcomeAsync();

        await using var second = await TestAgent.ConnectAsync(_host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await second.ExpectWelcomeAsync();

        (await first.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.Replaced);
        (await DeviceAsync(enrolled.DeviceId)).GetProperty("online").GetBoolean().ShouldBeTrue();
    }

    [Fact]
    public async Task OversizedFrame_ClosesWith4413()
    {
        await using var agent = await _host.ConnectNewAgentAsync();
        var huge = Encoding.UTF8.GetBytes("{\"type\":\"heartbeat\",\"x\":\"" + new string('a', ProtocolLimits.MaxTextFrameBytes) + "\"}");

        try
        {
            await agent.SendRawAsync(huge);
        }
        catch (WebSocketException)
        {
            // The server may close before the whole frame is written.
        }

        (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.FrameTooLarge);
    }

    [Fact]
    public async Task UnknownBinaryFrame_ClosesWith4400()
    {
        await using var agent = await _host.ConnectNewAgentAsync();

        await agent.SendRawAsync([9, 9, 9, 9], WebSocketMessageType.Binary);

        (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.MalformedFrame);
    }

    [Fact]
    public async Task ValidThumbnail_IsAcceptedWithoutClosing()
    {
        await using var agent = await _host.ConnectNewAgentAsync();

        await agent.SendRawAsync(ThumbnailFrame.Encode(ThumbnailFormat.Jpeg, DateTimeOffset.UtcNow, new byte[2048]), WebSocketMessageType.Binary);
        await agent.SendAsync(new HeartbeatFrame(new BatteryState(50, false), null, null));

        await Poll.UntilAsync(async () => (await DeviceAsync(agent.DeviceId)).GetProperty("batteryLevel").ValueKind == JsonValueKind.Number);
        agent.State.ShouldBe(WebSocketState.Open);
    }

    [Fact]
    public async Task Flood_BeyondTheRateLimit_ClosesWith4429()
    {
        await using var agent = await _host.ConnectNewAgentAsync();
        var heartbeat = AgentFrameCodec.Serialize(new HeartbeatFrame(new BatteryState(10, false), null, null));

        try
        {
            for (var i = 0; i < 200; i++)
            {
                await agent.SendRawAsync(heartbeat);
            }
        }
        catch (WebSocketException)
        {
            // Closed mid-flood, as intended.
        }

        (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.RateLimited);
    }

    [Fact]
    public async Task ClientVanishesMidFrame_ServerStaysHealthyAndDeviceCanReconnect()
    {
        var enrolled = await _host.EnrollAsync(await _host.CreateTokenAsync(), "MID-1");
        var agent = await TestAgent.ConnectAsync(_host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();

        await agent.SendRawAsync(Encoding.UTF8.GetBytes("{\"type\":\"heartbeat\",\"battery\":{\"lev"), endOfMessage: false);
        agent.Abort();
        await agent.DisposeAsync();

        await Poll.UntilAsync(async () => !(await DeviceAsync(enrolled.DeviceId)).GetProperty("online").GetBoolean());
        await using var again = await TestAgent.ConnectAsync(_host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await again.ExpectWelcomeAsync();
        (await DeviceAsync(enrolled.DeviceId)).GetProperty("batteryLevel").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task Heartbeats_AreHeldInMemoryAndWrittenInOneBatch()
    {
        _host.Clock.MoveToSchoolDayMorning(); // inside the default location.reportingHours, which the server enforces
        await using var agent = await _host.ConnectNewAgentAsync();
        var presence = _host.GetService<PresenceTracker>();
        await presence.FlushAsync(CancellationToken.None);

        await agent.SendAsync(new HeartbeatFrame(new BatteryState(41, false), new NetworkState("wifi", "District-WiFi", "10.0.0.8"), new LocationFix(41.88, -87.63, 25, _host.Clock.GetUtcNow())));
        await Poll.UntilAsync(async () => (await DeviceAsync(agent.DeviceId)).GetProperty("batteryLevel").ValueKind == JsonValueKind.Number);

        presence.PendingWrites.ShouldBe(1);
        await presence.FlushAsync(CancellationToken.None);
        presence.PendingWrites.ShouldBe(0);
        await _host.RestartAsync();
        var stored = await DeviceAsync(agent.DeviceId);
        stored.GetProperty("batteryLevel").GetInt32().ShouldBe(41);
        stored.GetProperty("networkKind").GetString().ShouldBe("wifi");
        stored.GetProperty("location").GetProperty("latitude").GetDouble().ShouldBe(41.88);
        stored.GetProperty("lastSeenAt").ValueKind.ShouldBe(JsonValueKind.String);
    }

    [Fact]
    public async Task Inventory_ReplacesTheInstalledAppList()
    {
        await using var agent = await _host.ConnectNewAgentAsync();

        await agent.SendAsync(new InventoryFrame("ChromeOS", "128.0.6613.1", "Chromebook 311", "Acme", 64_000_000_000, 20_000_000_000,
            [new InstalledApp("ext.a", "Reader", "1.0"), new InstalledApp("ext.b", "Math", "2.1")]));
        await Poll.UntilAsync(async () => (await DeviceAsync(agent.DeviceId)).GetProperty("appCount").GetInt32() == 2);
        await agent.SendAsync(new InventoryFrame(null, "129.0", null, null, null, null, [new InstalledApp("ext.c", "Typing", "3")]));
        await Poll.UntilAsync(async () => (await DeviceAsync(agent.DeviceId)).GetProperty("osVersion").GetString() == "129.0");

        var apps = await _host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/apps");
        apps.GetProperty("total").GetInt32().ShouldBe(1);
        apps.GetProperty("items")[0].GetProperty("appId").GetString().ShouldBe("ext.c");
        (await DeviceAsync(agent.DeviceId)).GetProperty("model").GetString().ShouldBe("Chromebook 311");
    }
}

/// <summary>Each bad frame comes from a device of its own, so these cases share one server (<see cref="SharedHost"/>) configured as <see cref="AgentConnectionTests"/>.</summary>
public abstract class AgentConnectionValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    private async Task<JsonElement> DeviceAsync(Guid id) => await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}");

    [Theory]
    [InlineData("{\"type\":\"heartbeat\",", AgentCloseCodes.MalformedFrame)]
    [InlineData("not json at all", AgentCloseCodes.MalformedFrame)]
    [InlineData("{\"type\":\"heartbeat\",\"battery\":{\"level\":\"full\"}}", AgentCloseCodes.MalformedFrame)]
    [InlineData("{\"type\":\"heartbeat\",\"battery\":{\"level\":250,\"charging\":true}}", AgentCloseCodes.MalformedFrame)]
    [InlineData("{\"type\":\"selfDestruct\"}", AgentCloseCodes.UnknownFrameType)]
    [InlineData("{\"type\":\"welcome\",\"deviceId\":\"00000000-0000-0000-0000-000000000000\"}", AgentCloseCodes.MalformedFrame)]
    [InlineData("{\"type\":\"auth\",\"deviceId\":\"00000000-0000-0000-0000-000000000000\",\"credential\":\"x\",\"protocolVersion\":1}", AgentCloseCodes.MalformedFrame)]
    public async Task BadFrame_AfterAuth_ClosesWithCodeAndKeepsStoredData(string frame, int expectedCode)
    {
        await using var agent = await Host.ConnectNewAgentAsync();
        await agent.SendAsync(new HeartbeatFrame(new BatteryState(77, true), null, null));
        await Poll.UntilAsync(async () => (await DeviceAsync(agent.DeviceId)).GetProperty("batteryLevel").ValueKind == JsonValueKind.Number);
        var before = await DeviceAsync(agent.DeviceId);

        await agent.SendRawAsync(Encoding.UTF8.GetBytes(frame));

        var (code, reason) = await agent.WaitForCloseAsync();
        code.ShouldBe(expectedCode);
        reason.ShouldNotBeNullOrEmpty();
        var after = await DeviceAsync(agent.DeviceId);
        after.GetProperty("batteryLevel").GetInt32().ShouldBe(77);
        after.GetProperty("serial").GetString().ShouldBe(before.GetProperty("serial").GetString());
        (await Host.Client.GetAsync(new Uri("/healthz", UriKind.Relative))).IsSuccessStatusCode.ShouldBeTrue();
    }
}

public sealed class AgentConnectionHost() : SharedHost(DatabaseProvider.Sqlite, AgentConnectionTests.Settings);

public sealed class AgentConnectionValidationSqliteTests(AgentConnectionHost shared) : AgentConnectionValidationTests(shared), IClassFixture<AgentConnectionHost>;
