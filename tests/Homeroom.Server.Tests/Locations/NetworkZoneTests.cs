using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Locations;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Apple;

namespace Homeroom.Server.Tests.Locations;

/// <summary>
/// School-network zones (public ranges seen behind trusted proxies, local ranges reported by the device),
/// how network and GPS combine, Apple Lost Mode locations, and the limits on the fixes the server takes.
/// </summary>
public abstract class NetworkZoneTests(DatabaseProvider provider) : IAsyncLifetime
{
    // A campus in Seattle about 1.1 km by 1.1 km.
    private const double West = -122.305, East = -122.295, South = 47.595, North = 47.605;
    private static readonly (double Lat, double Lon) OnCampus = (47.600, -122.300);
    private static readonly (double Lat, double Lon) OffCampus = (47.620, -122.300);

    private HomeroomHost? _host;
    private readonly List<IDisposable> _disposables = [];

    private HomeroomHost Host => _host ?? throw new InvalidOperationException("Start the host first.");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _disposables.ForEach(d => d.Dispose());
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    private async Task<HomeroomHost> StartAsync(params string[] settings)
    {
        _host = await HomeroomHost.StartWithDeviceCaAsync(provider, settings);
        // A school day morning: inside the default location.reportingHours (Mon-Fri 07:00-17:00, the district on UTC),
        // which the server enforces, so these tests mean the same whatever the time they run at.
        _host.Clock.MoveToSchoolDayMorning();
        return _host;
    }

    private static object Campus(string name = "Maple Valley campus", string[]? publicRanges = null, string[]? localRanges = null) => new
    {
        type = "Feature",
        properties = new { name, kind = "campus", publicRanges, localRanges },
        geometry = new
        {
            type = "Polygon",
            coordinates = new[] { new[] { new[] { West, South }, new[] { East, South }, new[] { East, North }, new[] { West, North }, new[] { West, South } } },
        },
    };

    private async Task<Guid> CreateZoneAsync(object feature)
    {
        using var response = await Host.PostJsonAsync("/api/zones", feature);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return Guid.Parse((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
    }

    private async Task AssignToDistrictAsync(object settings)
    {
        var profile = await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "P" + Guid.NewGuid().ToString("N")[..6], settings });
        await Host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" });
    }

    private static LocationFix Fix((double Lat, double Lon) at, DateTimeOffset when, double accuracy = 20) => new(at.Lat, at.Lon, accuracy, when);

    // Each fix a little later: the server takes at most one fix per device every 10 s.
    private Task HeartbeatAsync(TestAgent agent, (double Lat, double Lon)? at, string? localAddress = null)
    {
        Host.Clock.Advance(TimeSpan.FromSeconds(11));
        var network = localAddress is null ? null : new NetworkState("wifi", "District-WiFi", localAddress);
        return agent.SendAsync(new HeartbeatFrame(null, network, at is { } p ? Fix(p, Host.Clock.GetUtcNow()) : null));
    }

    private async Task<List<JsonElement>> DeviceZonesAsync(Guid deviceId) =>
        [.. (await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/zones")).EnumerateArray()];

    private async Task<JsonElement?> ZoneStateAsync(Guid deviceId, Guid zoneId) =>
        (await DeviceZonesAsync(deviceId)).Cast<JsonElement?>().FirstOrDefault(z => z!.Value.GetProperty("zoneId").GetGuid() == zoneId);

    private async Task<bool> InsideAsync(Guid zoneId, Guid deviceId) =>
        (await Host.GetJsonAsync<JsonElement>($"/api/zones/{zoneId}/devices")).EnumerateArray().Any(d => d.GetProperty("id").GetGuid() == deviceId);

    private async Task<List<JsonElement>> TrackAsync(Guid deviceId) =>
        [.. (await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/locations")).EnumerateArray()];

    private async Task<JsonElement> OpenAlertsAsync() => (await Host.GetJsonAsync<JsonElement>("/api/alerts?state=open")).GetProperty("items");

    /// <summary>An agent connection that sends X-Forwarded-For, as a device behind a proxy (or one forging the header) would.</summary>
    private async Task<ClientWebSocket> ConnectForwardedAsync(string forwardedFor)
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "SN-" + Guid.NewGuid().ToString("N")[..10]);
        var socket = new ClientWebSocket();
        _disposables.Add(socket);
        socket.Options.SetRequestHeader("X-Forwarded-For", forwardedFor);
        await socket.ConnectAsync(Host.AgentUri, CancellationToken.None).WaitAsync(HomeroomHost.Timeout);
        await SendAsync(socket, new AuthFrame(enrolled.DeviceId, enrolled.Credential, AgentProtocol.Version, "test-agent/1.0"));
        _ = Task.Run(async () =>
        {
            // Reads and drops what the server sends (welcome, policy), so its sends never wait on this client.
            var buffer = new byte[64 * 1024];
            try
            {
                while (socket.State == WebSocketState.Open)
                {
                    await socket.ReceiveAsync(buffer, CancellationToken.None);
                }
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
            {
            }
        });
        _forwardedDevice = enrolled.DeviceId;
        return socket;
    }

    private Guid _forwardedDevice;

    private static Task SendAsync(ClientWebSocket socket, AgentFrame frame) =>
        socket.SendAsync(AgentFrameCodec.Serialize(frame), WebSocketMessageType.Text, true, CancellationToken.None).WaitAsync(HomeroomHost.Timeout);

    // Polls as the device would, acknowledging anything else queued first (its policy profile), until the command of that type comes.
    private static async Task<Dictionary<string, object>> NextCommandAsync(VirtualAppleDevice device, string requestType)
    {
        var reply = new Dictionary<string, object> { ["UDID"] = device.Udid, ["Status"] = "Idle" };
        for (var i = 0; i < 10; i++)
        {
            using var response = await device.SendAsync("/mdm/connect", reply);
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            var body = await response.Content.ReadAsByteArrayAsync();
            body.Length.ShouldBeGreaterThan(0, $"no {requestType} command came");
            var envelope = PropertyList.ReadDictionary(body);
            if ((string)((Dictionary<string, object>)envelope["Command"])["RequestType"] == requestType)
            {
                return envelope;
            }

            reply = new Dictionary<string, object> { ["UDID"] = device.Udid, ["Status"] = "Acknowledged", ["CommandUUID"] = (string)envelope["CommandUUID"] };
        }

        throw new ShouldAssertException($"no {requestType} command came");
    }

    [Fact]
    public async Task SchoolPublicRange_DeviceWithNoGpsFix_IsOnCampusAndTheStateSaysWhy()
    {
        await StartAsync();
        // Loopback connections come from 127.0.0.1: here that is the school's internet connection.
        var campus = await CreateZoneAsync(Campus(publicRanges: ["127.0.0.0/8"]));
        await using var agent = await Host.ConnectNewAgentAsync();

        await HeartbeatAsync(agent, null);

        await Poll.UntilAsync(() => InsideAsync(campus, agent.DeviceId));
        var state = (await ZoneStateAsync(agent.DeviceId, campus))!.Value;
        state.GetProperty("state").GetString().ShouldBe("inside");
        state.GetProperty("signal").GetString().ShouldBe("network");
        state.GetProperty("explanation").GetString()!.ShouldContain("127.0.0.0/8");
        state.GetProperty("networkMatch").GetString().ShouldBe("127.0.0.0/8");
        (await Host.GetJsonAsync<JsonElement>("/api/audit?action=device.zones.read")).GetProperty("total").GetInt32().ShouldBeGreaterThan(0);
        (await TrackAsync(agent.DeviceId)).ShouldBeEmpty(); // nothing about the network is kept as a position
    }

    [Theory]
    [InlineData(new string[0], true)] // a proxy on this machine is trusted by default
    [InlineData(new[] { "Homeroom:Proxy:TrustLoopback=false" }, false)]
    [InlineData(new[] { "Homeroom:Proxy:TrustLoopback=false", "Homeroom:Proxy:TrustedProxies:0=127.0.0.1" }, true)]
    public async Task ForwardedFor_IsBelievedOnlyFromATrustedProxy(string[] settings, bool believed)
    {
        await StartAsync(settings);
        var school = await CreateZoneAsync(Campus("Forwarded school", publicRanges: ["203.0.113.0/24"]));
        var loopback = await CreateZoneAsync(Campus("Loopback school", publicRanges: ["127.0.0.0/8"]));

        var socket = await ConnectForwardedAsync("203.0.113.7");
        var device = _forwardedDevice;
        await SendAsync(socket, new HeartbeatFrame(null, null, null));

        // The connection is seen from exactly one address: the forwarded one, or the proxy's own.
        await Poll.UntilAsync(async () => await InsideAsync(school, device) || await InsideAsync(loopback, device));
        (await InsideAsync(school, device)).ShouldBe(believed);
        (await InsideAsync(loopback, device)).ShouldBe(!believed);
        socket.State.ShouldBe(WebSocketState.Open);
    }

    [Fact]
    public async Task LeavingTheSchoolNetwork_WithGpsOutside_RaisesOneAlertNamingTheSignals()
    {
        await StartAsync();
        var campus = await CreateZoneAsync(Campus(localRanges: ["10.12.0.0/16"]));
        await AssignToDistrictAsync(new { location = new { allowedZones = new[] { campus }, outOfBoundsMessage = "Please go back to school." } });
        await using var agent = await Host.ConnectNewAgentAsync();
        await agent.ExpectAsync<PolicyFrame>();

        // On the school's Wi-Fi, indoors: no fix, yet on campus.
        await HeartbeatAsync(agent, null, "10.12.4.31");
        await Poll.UntilAsync(() => InsideAsync(campus, agent.DeviceId));

        // GPS drifting outside while still on the school's network does not take the device out.
        await HeartbeatAsync(agent, OffCampus, "10.12.4.31");
        await HeartbeatAsync(agent, OffCampus, "10.12.4.31");
        await Poll.UntilAsync(async () => (await TrackAsync(agent.DeviceId)).Count == 2);
        (await ZoneStateAsync(agent.DeviceId, campus))!.Value.GetProperty("state").GetString().ShouldBe("inside");

        // Off the school's network, and the GPS agrees: out, after the normal two fixes.
        await HeartbeatAsync(agent, OffCampus, "192.168.1.20");
        await HeartbeatAsync(agent, OffCampus, "192.168.1.20");
        var message = await agent.ExpectAsync<CommandFrame>();
        message.Kind.ShouldBe("message");
        message.Arguments!["text"].ShouldBe("Please go back to school.");
        await Poll.UntilAsync(async () => (await OpenAlertsAsync()).GetArrayLength() == 1);
        var alert = (await OpenAlertsAsync())[0];
        var details = (await Host.GetJsonAsync<JsonElement>($"/api/alerts/{alert.GetProperty("id").GetGuid()}")).GetProperty("alert").GetProperty("details").GetString()!;
        details.ShouldContain("GPS fix 47.62000, -122.30000 (±20 m) outside");
        details.ShouldContain("network range 10.12.0.0/16 no longer matched");
        var state = (await ZoneStateAsync(agent.DeviceId, campus))!.Value;
        state.GetProperty("state").GetString().ShouldBe("outside");
        state.GetProperty("signal").GetString().ShouldBe("gps");

        // Further fixes outside: still one alert, one message.
        await HeartbeatAsync(agent, OffCampus, "192.168.1.20");
        await HeartbeatAsync(agent, OffCampus, "192.168.1.20");
        await Poll.UntilAsync(async () => (await TrackAsync(agent.DeviceId)).Count == 6);
        (await agent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(500))).ShouldBeTrue();
        (await OpenAlertsAsync()).GetArrayLength().ShouldBe(1);
        (await Host.GetJsonAsync<JsonElement>("/api/audit?action=alert.raise")).GetProperty("total").GetInt32().ShouldBe(1);

        // Back on the school's network: back in bounds at once, and the clearing says why.
        await HeartbeatAsync(agent, null, "10.12.9.9");
        await Poll.UntilAsync(async () => (await OpenAlertsAsync()).GetArrayLength() == 0);
        var cleared = (await Host.GetJsonAsync<JsonElement>("/api/audit?action=alert.clear")).GetProperty("items")[0].GetProperty("details").GetString()!;
        cleared.ShouldContain("Network range 10.12.0.0/16 matched (address 10.12.9.9)");
    }

    [Fact]
    public async Task BadFixes_AreDropped_TheConnectionStaysUp_AndNothingIsKept()
    {
        await StartAsync();
        await using var agent = await Host.ConnectNewAgentAsync();
        var now = () => Host.Clock.GetUtcNow();

        await agent.SendAsync(new HeartbeatFrame(null, null, Fix(OffCampus, now() + TimeSpan.FromHours(1)))); // from the future
        Host.Clock.Advance(TimeSpan.FromSeconds(11));
        await agent.SendAsync(new HeartbeatFrame(null, null, Fix(OffCampus, now() - TimeSpan.FromHours(3)))); // stale
        Host.Clock.Advance(TimeSpan.FromSeconds(11));
        await agent.SendAsync(new HeartbeatFrame(null, null, Fix(OffCampus, now(), accuracy: 5_000_000))); // absurd accuracy
        Host.Clock.Advance(TimeSpan.FromSeconds(11));
        await agent.SendAsync(new HeartbeatFrame(null, null, Fix(OnCampus, now())));

        await Poll.UntilAsync(async () => (await TrackAsync(agent.DeviceId)).Count >= 1);
        var track = await TrackAsync(agent.DeviceId);
        track.Count.ShouldBe(1);
        track[0].GetProperty("latitude").GetDouble().ShouldBe(OnCampus.Lat);
        agent.State.ShouldBe(WebSocketState.Open);
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}")).GetRawText().Contains("47.6", StringComparison.Ordinal));
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}")).GetRawText().ShouldNotContain("47.62");

        // A device clock a little ahead is fine (within the allowed skew).
        (await Host.GetService<LocationTracker>().ObserveAsync(agent.DeviceId, Fix(OnCampus, now() + TimeSpan.FromMinutes(1)))).ShouldBe(FixOutcome.Accepted);

        // A position out of range breaks the protocol itself: the frame is malformed and the connection closes.
        await agent.SendAsync(new HeartbeatFrame(null, null, new LocationFix(91, 0, 10, now())));
        (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.MalformedFrame);
    }

    [Fact]
    public async Task FixFlood_IsRateLimited_AndDoesNotHurryTheHysteresis()
    {
        await StartAsync();
        var campus = await CreateZoneAsync(Campus());
        await AssignToDistrictAsync(new { location = new { allowedZones = new[] { campus } } });
        await using var agent = await Host.ConnectNewAgentAsync();
        await agent.ExpectAsync<PolicyFrame>();
        await HeartbeatAsync(agent, OnCampus);
        await Poll.UntilAsync(() => InsideAsync(campus, agent.DeviceId));

        // A flood of fixes outside, milliseconds apart: only the first is taken.
        Host.Clock.Advance(TimeSpan.FromSeconds(11));
        for (var i = 0; i < 20; i++)
        {
            await agent.SendAsync(new HeartbeatFrame(null, null, Fix(OffCampus, Host.Clock.GetUtcNow())));
        }

        // One more fix, on campus, once the interval has passed: it resets the count the single outside fix started.
        await HeartbeatAsync(agent, OnCampus);
        await Poll.UntilAsync(async () => (await TrackAsync(agent.DeviceId)).Count >= 3);
        (await TrackAsync(agent.DeviceId)).Count.ShouldBe(3);
        (await ZoneStateAsync(agent.DeviceId, campus))!.Value.GetProperty("state").GetString().ShouldBe("inside");
        (await OpenAlertsAsync()).GetArrayLength().ShouldBe(0);
        agent.State.ShouldBe(WebSocketState.Open);

        var tracker = Host.GetService<LocationTracker>();
        (await tracker.ObserveAsync(agent.DeviceId, Fix(OffCampus, Host.Clock.GetUtcNow()))).ShouldBe(FixOutcome.RateLimited);
        Host.Clock.Advance(TimeSpan.FromSeconds(11));
        (await tracker.ObserveAsync(agent.DeviceId, Fix(OffCampus, Host.Clock.GetUtcNow() - TimeSpan.FromMinutes(5)))).ShouldBe(FixOutcome.OutOfOrder);
    }

    [Fact]
    public async Task MonitoringLocationOff_FixesAndNetworksAreDropped()
    {
        await StartAsync();
        var campus = await CreateZoneAsync(Campus(publicRanges: ["127.0.0.0/8"]));
        await AssignToDistrictAsync(new { monitoring = new { location = false } });
        await using var agent = await Host.ConnectNewAgentAsync();
        var policy = await agent.ExpectAsync<PolicyFrame>();
        policy.Document.GetProperty("monitoring").GetProperty("location").GetBoolean().ShouldBeFalse();

        var tracker = Host.GetService<LocationTracker>();
        (await tracker.ObserveAsync(agent.DeviceId, Fix(OnCampus, Host.Clock.GetUtcNow()))).ShouldBe(FixOutcome.NotMonitored);
        await tracker.ObserveNetworkAsync(agent.DeviceId, IPAddress.Loopback, null, false);
        (await InsideAsync(campus, agent.DeviceId)).ShouldBeFalse();
        (await TrackAsync(agent.DeviceId)).ShouldBeEmpty();
    }

    [Fact]
    public async Task FixAtHome_CountsForZonesButIsNotStored_UnlessTheDistrictCollectsAtHome()
    {
        await StartAsync();
        var home = await CreateZoneAsync(new { type = "Feature", properties = new { name = "Home area", kind = "home", radius = 400 }, geometry = new { type = "Point", coordinates = new[] { OffCampus.Lon, OffCampus.Lat } } });
        await using var agent = await Host.ConnectNewAgentAsync();

        await HeartbeatAsync(agent, OffCampus); // at home
        await HeartbeatAsync(agent, OnCampus);
        await Poll.UntilAsync(async () => (await TrackAsync(agent.DeviceId)).Count >= 1);
        var track = await TrackAsync(agent.DeviceId);
        track.Count.ShouldBe(1);
        track[0].GetProperty("latitude").GetDouble().ShouldBe(OnCampus.Lat);
        // The home fix set the zone state (one fix outside since is not enough to leave it).
        (await ZoneStateAsync(agent.DeviceId, home))!.Value.GetProperty("state").GetString().ShouldBe("inside");
    }

    [Fact]
    public async Task FixAtHome_IsStored_WhenTheDistrictCollectsAtHome()
    {
        await StartAsync("Homeroom:Locations:CollectAtHome=true");
        await CreateZoneAsync(new { type = "Feature", properties = new { name = "Home area", kind = "home", radius = 400 }, geometry = new { type = "Point", coordinates = new[] { OffCampus.Lon, OffCampus.Lat } } });
        await using var agent = await Host.ConnectNewAgentAsync();

        await HeartbeatAsync(agent, OffCampus);
        await Poll.UntilAsync(async () => (await TrackAsync(agent.DeviceId)).Count == 1);
        (await TrackAsync(agent.DeviceId))[0].GetProperty("latitude").GetDouble().ShouldBe(OffCampus.Lat);
    }

    [Fact]
    public async Task Zones_NetworksInAndOut_AndAShapeEditKeepsThem()
    {
        await StartAsync();
        var id = await CreateZoneAsync(Campus(publicRanges: ["203.0.113.0/24", " 2001:db8::/48 "], localRanges: ["10.12.0.0/16"]));

        var zone = await Host.GetJsonAsync<JsonElement>($"/api/zones/{id}");
        var properties = zone.GetProperty("properties");
        properties.GetProperty("publicRanges").EnumerateArray().Select(r => r.GetString()).ShouldBe(["203.0.113.0/24", "2001:db8::/48"]);
        properties.GetProperty("localRanges").EnumerateArray().Select(r => r.GetString()).ShouldBe(["10.12.0.0/16"]);

        // The exported feature imports back unchanged, networks included.
        using var import = await Host.PostJsonAsync("/api/zones/import", new { type = "FeatureCollection", features = new[] { zone } });
        import.StatusCode.ShouldBe(HttpStatusCode.OK, await import.Content.ReadAsStringAsync());
        (await Host.GetJsonAsync<JsonElement>($"/api/zones/{id}")).GetProperty("properties").GetProperty("localRanges")[0].GetString().ShouldBe("10.12.0.0/16");

        // A PUT without networks removes them (a PUT replaces the zone).
        using var put = await Host.Client.PutAsJsonAsync($"/api/zones/{id}", Campus(), HomeroomHost.Json);
        put.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Host.GetJsonAsync<JsonElement>($"/api/zones/{id}")).GetProperty("properties").GetProperty("publicRanges").GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task TooManyNetworks_AreRefused()
    {
        await StartAsync();
        var ranges = Enumerable.Range(0, 33).Select(i => $"10.{i}.0.0/16").ToArray();

        using var response = await Host.PostJsonAsync("/api/zones", Campus(publicRanges: ranges));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain("at most 32");
    }

    [Fact]
    public async Task AppleLostModeLocation_ReachesTheTrack_AndAPollFromTheSchoolRangeIsNetworkPresence()
    {
        await StartAsync();
        var campus = await CreateZoneAsync(Campus(publicRanges: ["127.0.0.0/8"]));
        using var device = new VirtualAppleDevice(Host.Client, Host.BaseAddress, "00008030-0001A2D3E0C38802E", "DMPX000001");
        await device.InstallEnrollmentProfileAsync(await Host.CreateTokenAsync());
        using (var authenticate = await device.AuthenticateAsync())
        {
            authenticate.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        using (var token = await device.TokenUpdateAsync())
        {
            token.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        var id = (await Host.GetJsonAsync<JsonElement>($"/api/devices?q={device.Serial}")).GetProperty("items")[0].GetProperty("id").GetGuid();
        await Host.PostJsonAsync<JsonElement>("/api/commands", new { kind = "ping", deviceIds = new[] { id } });
        await device.PollAsync(); // its policy profile and its DeviceInformation answer (supervised)

        // Its polls come from the school's public range: on campus, with no location at all.
        await Poll.UntilAsync(() => InsideAsync(campus, id));
        (await ZoneStateAsync(id, campus))!.Value.GetProperty("signal").GetString().ShouldBe("network");

        await Host.PostJsonAsync<JsonElement>("/api/commands", new { kind = "locate", deviceIds = new[] { id } });
        var envelope = await NextCommandAsync(device, "DeviceLocation");
        var takenAt = Host.Clock.GetUtcNow().AddSeconds(-20);
        using var answer = await device.SendAsync("/mdm/connect", new Dictionary<string, object>
        {
            ["UDID"] = device.Udid,
            ["Status"] = "Acknowledged",
            ["CommandUUID"] = (string)envelope["CommandUUID"],
            ["Latitude"] = OffCampus.Lat,
            ["Longitude"] = OffCampus.Lon,
            ["HorizontalAccuracy"] = 35.0,
            ["Timestamp"] = takenAt.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
        });
        answer.StatusCode.ShouldBe(HttpStatusCode.OK);

        await Poll.UntilAsync(async () => (await TrackAsync(id)).Count == 1);
        var point = (await TrackAsync(id))[0];
        point.GetProperty("latitude").GetDouble().ShouldBe(OffCampus.Lat);
        point.GetProperty("longitude").GetDouble().ShouldBe(OffCampus.Lon);
        point.GetProperty("accuracyMeters").GetDouble().ShouldBe(35);
    }
}

public sealed class NetworkZoneSqliteTests() : NetworkZoneTests(DatabaseProvider.Sqlite);

public sealed class NetworkZonePostgresTests() : NetworkZoneTests(DatabaseProvider.Postgres);

/// <summary>Refused network ranges store nothing, so these cases share one server (<see cref="SharedHost"/>): none is ever stored, so the list stays empty.</summary>
public abstract class NetworkZoneValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    [Theory]
    [InlineData("""["10.0.0.1/8"]""", "publicRanges")] // host bits set
    [InlineData("""["0.0.0.0/0"]""", "publicRanges")] // everyone
    [InlineData("""["10.0.0.0/7"]""", "publicRanges")] // broader than /8
    [InlineData("""["2001::/16"]""", "publicRanges")] // broader than /32
    [InlineData("""["not a network"]""", "publicRanges")]
    [InlineData("""["10.0.0.0/33"]""", "publicRanges")]
    [InlineData("""["10.0.0.0/8", "10.0.0.0/8"]""", "publicRanges")]
    [InlineData("""[""]""", "publicRanges")]
    [InlineData("""[5]""", "publicRanges")]
    [InlineData("\"10.0.0.0/8\"", "publicRanges")]
    [InlineData("""["10.0.0.0/8"]""", "localRanges", """["fe80::1%eth0"]""")]
    public async Task BadNetworks_AreRefusedAndNothingStored(string publicRanges, string field, string localRanges = "[]")
    {
        var json = """{"type":"Feature","properties":{"name":"Bad","kind":"campus","radius":100,"publicRanges":""" + publicRanges + ""","localRanges":""" + localRanges
            + """},"geometry":{"type":"Point","coordinates":[0,0]}}""";

        using var response = await Host.Client.PostAsync("/api/zones", new StringContent(json, Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        (await response.Content.ReadAsStringAsync()).ShouldContain("properties." + field);
        (await Host.GetJsonAsync<JsonElement>("/api/zones")).GetProperty("features").GetArrayLength().ShouldBe(0);
    }
}

public sealed class NetworkZoneValidationSqliteTests(SharedSqliteHost shared) : NetworkZoneValidationTests(shared), IClassFixture<SharedSqliteHost>;

public sealed class NetworkZoneValidationPostgresTests(SharedPostgresHost shared) : NetworkZoneValidationTests(shared), IClassFixture<SharedPostgresHost>;

/// <summary>
/// Absurd fixes refused by the tracker, one server per class and provider (each case started one before).
/// Each case connects its own new device, so the rate one case's accepted fix spends is not another's.
/// </summary>
public abstract class NetworkZoneFixValidationTests(NetworkZoneFixValidationTests.Server shared)
{
    private HomeroomHost Host => shared.Host;

    /// <summary>A server with a device CA, its clock on a school day morning (inside the default reporting hours), as NetworkZoneTests start theirs.</summary>
    public abstract class Server(DatabaseProvider provider) : IAsyncLifetime
    {
        public HomeroomHost Host { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Host = await HomeroomHost.StartWithDeviceCaAsync(provider);
            Host.Clock.MoveToSchoolDayMorning();
        }

        public async Task DisposeAsync() => await Host.DisposeAsync();
    }

    [Theory]
    [InlineData(double.NaN, 0, 10)]
    [InlineData(0, double.NaN, 10)]
    [InlineData(91, 0, 10)]
    [InlineData(0, -181, 10)]
    [InlineData(0, 0, -1)]
    [InlineData(0, 0, double.NaN)]
    [InlineData(0, 0, double.PositiveInfinity)]
    public async Task AbsurdFix_FromAnySource_IsRefusedAsInvalid(double latitude, double longitude, double accuracy)
    {
        await using var agent = await Host.ConnectNewAgentAsync();
        var tracker = Host.GetService<LocationTracker>();

        (await tracker.ObserveAsync(agent.DeviceId, new LocationFix(latitude, longitude, accuracy, Host.Clock.GetUtcNow()))).ShouldBe(FixOutcome.Invalid);
        (await tracker.ObserveAsync(agent.DeviceId, new LocationFix(47.600, -122.300, 20, Host.Clock.GetUtcNow()))).ShouldBe(FixOutcome.Accepted); // a refused fix costs no rate
    }
}

public sealed class NetworkZoneFixValidationSqliteTests(NetworkZoneFixValidationSqliteTests.SqliteServer shared) : NetworkZoneFixValidationTests(shared), IClassFixture<NetworkZoneFixValidationSqliteTests.SqliteServer>
{
    public sealed class SqliteServer() : Server(DatabaseProvider.Sqlite);
}

public sealed class NetworkZoneFixValidationPostgresTests(NetworkZoneFixValidationPostgresTests.PostgresServer shared) : NetworkZoneFixValidationTests(shared), IClassFixture<NetworkZoneFixValidationPostgresTests.PostgresServer>
{
    public sealed class PostgresServer() : Server(DatabaseProvider.Postgres);
}
