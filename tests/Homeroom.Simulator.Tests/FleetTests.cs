using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Fleet;

namespace Homeroom.Simulator.Tests;

public sealed class FleetTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;
    private string _stateFile = null!;

    public async Task InitializeAsync()
    {
        _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);
        _stateFile = Path.Combine(_host.Database.DataDirectory, "simulator-state.json");
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private Fleet.Fleet NewFleet(string token, int devices, int seed = 7, Uri? server = null) => new(new FleetOptions
    {
        Server = server ?? _host.BaseAddress,
        EnrollToken = token,
        Devices = devices,
        Seed = seed,
        AlwaysOnline = true,
        SlowAnswerChance = 0,
        StateFile = _stateFile,
        ActivityInterval = TimeSpan.FromMilliseconds(200),
        Speed = 600,
        StartAt = new DateTimeOffset(2026, 11, 24, 15, 0, 0, TimeSpan.Zero),
    });

    private async Task<JsonElement> IssueAsync(object body) => await _host.PostJsonAsync<JsonElement>("/api/commands", body);

    [Fact]
    public async Task Start_EnrollsAndConnectsEveryDevice()
    {
        var token = await _host.CreateTokenAsync(maxUses: 20);
        await using var fleet = NewFleet(token, 20);

        fleet.Start();

        (await fleet.WaitForConnectedAsync(20, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        var online = await _host.GetJsonAsync<JsonElement>("/api/devices?online=true");
        online.GetProperty("total").GetInt32().ShouldBe(20);
        await Poll.UntilAsync(async () => (await _host.GetJsonAsync<JsonElement>($"/api/devices/{fleet.Devices[0].DeviceId}")).GetProperty("appCount").GetInt32() > 0);
        fleet.Metrics.Enrolled.ShouldBe(20);
    }

    [Fact]
    public async Task Enrollment_ThatTimesOut_IsTriedAgain()
    {
        // A server too busy to answer: it accepts connections and never replies.
        using var hung = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        hung.Start();
        var accepted = new System.Collections.Concurrent.ConcurrentQueue<System.Net.Sockets.Socket>();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                accepted.Enqueue(await hung.AcceptSocketAsync());
            }
        });
        await using var fleet = new Fleet.Fleet(new FleetOptions
        {
            Server = new Uri($"http://127.0.0.1:{((System.Net.IPEndPoint)hung.LocalEndpoint).Port}/"),
            EnrollToken = "hrt_unused",
            Devices = 1,
            AlwaysOnline = true,
            RequestTimeout = TimeSpan.FromMilliseconds(500),
        });

        fleet.Start();

        // The first request times out after 0.5 s; the device pauses 2 to 7 s and asks again on a new connection.
        await Poll.UntilAsync(() => Task.FromResult(accepted.Count >= 2), TimeSpan.FromSeconds(15));
        foreach (var socket in accepted)
        {
            socket.Dispose();
        }
    }

    [Fact]
    public async Task Restart_ResumesWithSavedCredentialsWithoutEnrollingAgain()
    {
        var token = await _host.CreateTokenAsync(maxUses: 10);
        List<Guid?> firstIds;
        await using (var first = NewFleet(token, 10))
        {
            first.Start();
            (await first.WaitForConnectedAsync(10, TimeSpan.FromSeconds(30))).ShouldBeTrue();
            firstIds = first.Devices.Select(d => d.DeviceId).ToList();
            await first.StopAsync();
        }

        await using var second = NewFleet(token, 10);
        second.Start();

        (await second.WaitForConnectedAsync(10, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        second.Metrics.Enrolled.ShouldBe(0);
        second.Metrics.Resumed.ShouldBe(10);
        second.Devices.Select(d => d.DeviceId).ShouldBe(firstIds);
        (await _host.GetJsonAsync<JsonElement>("/api/devices")).GetProperty("total").GetInt32().ShouldBe(10);
    }

    [Fact]
    public async Task Reenroll_AfterTheServerRefusedItsCredential_PresentsItAndKeepsTheDevice()
    {
        var token = await _host.CreateTokenAsync(maxUses: 1);
        Guid? deviceId;
        await using (var first = NewFleet(token, 1))
        {
            first.Start();
            (await first.WaitForConnectedAsync(1, TimeSpan.FromSeconds(30))).ShouldBeTrue();
            deviceId = first.Devices[0].DeviceId;
            await first.StopAsync();
        }

        // As after a close with 4401: the agent enrolls again, and its credential (still the
        // device's here) is what proves the serial is really this device.
        await using var second = NewFleet(token, 1);
        second.Credentials.MarkStale(second.Devices[0].Spec.Serial);
        second.Start();

        (await second.WaitForConnectedAsync(1, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        second.Metrics.Enrolled.ShouldBe(1);
        second.Devices[0].DeviceId.ShouldBe(deviceId);
        (await _host.GetJsonAsync<JsonElement>("/api/devices")).GetProperty("total").GetInt32().ShouldBe(1);
        (await _host.GetJsonAsync<JsonElement>("/api/audit?action=device.reenroll")).GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Theory]
    [InlineData("lock", null, null, "locked")]
    [InlineData("unlock", null, null, "unlocked")]
    [InlineData("message", "text", "Please close your laptops", "shown")]
    [InlineData("openUrl", "url", "https://www.khanacademy.org/", "opened")]
    [InlineData("closeTab", "url", "https://poki.com/", "closed 1 tab")]
    [InlineData("ping", null, null, "pong")]
    [InlineData("locate", null, null, null)]
    [InlineData("restart", null, null, "restarting")]
    public async Task Command_EachKind_IsAnsweredWithItsResult(string kind, string? argument, string? value, string? expectedResult)
    {
        var token = await _host.CreateTokenAsync(maxUses: 1);
        await using var fleet = NewFleet(token, 1);
        fleet.Start();
        (await fleet.WaitForConnectedAsync(1, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        var device = fleet.Devices[0];
        var arguments = argument is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [argument] = value! };

        var command = await IssueAsync(new { kind, arguments, deviceIds = new[] { device.DeviceId } });
        var id = command.GetProperty("id").GetGuid();

        JsonElement delivery = default;
        await Poll.UntilAsync(async () =>
        {
            delivery = (await _host.GetJsonAsync<JsonElement>($"/api/commands/{id}/deliveries")).GetProperty("items")[0];
            return delivery.GetProperty("status").GetString() == "succeeded";
        });
        if (expectedResult is not null)
        {
            delivery.GetProperty("result").GetString().ShouldBe(expectedResult);
        }
        else
        {
            delivery.GetProperty("result").GetString()!.ShouldContain(",");
        }

        if (kind == "lock")
        {
            device.Locked.ShouldBeTrue();
        }

        if (kind == "message")
        {
            device.LastMessage.ShouldBe(value);
        }
    }

    [Fact]
    public async Task Diagnose_EveryDeviceSendsAValidReportForItsPlatform_BeforeSucceeding_WithARealServerTest()
    {
        var token = await _host.CreateTokenAsync(maxUses: 12);
        await using var fleet = NewFleet(token, 12);
        fleet.Start();
        (await fleet.WaitForConnectedAsync(12, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        fleet.Devices.Select(d => d.Spec.Platform).Distinct().Count().ShouldBeGreaterThan(1);

        var command = await IssueAsync(new { kind = "diagnose", arguments = new { urls = "https://learn.example.org/" }, deviceIds = fleet.Devices.Select(d => d.DeviceId) });
        var id = command.GetProperty("id").GetGuid();
        await Poll.UntilAsync(async () => (await _host.GetJsonAsync<JsonElement>($"/api/commands/{id}")).GetProperty("counts").GetProperty("succeeded").GetInt32() == 12);

        foreach (var device in fleet.Devices)
        {
            // The report was stored (so it passed the server's checks) by the time the command counted as succeeded.
            var state = await _host.GetJsonAsync<JsonElement>($"/api/devices/{device.DeviceId}/diagnostics");
            var latest = state.GetProperty("latest");
            latest.GetProperty("commandId").GetGuid().ShouldBe(id);
            var report = latest.GetProperty("report").Deserialize(Contracts.Agents.AgentJsonContext.Default.DiagnosticsReport)!;
            Contracts.Agents.DiagnosticsLimits.Validate(report).ShouldBeNull();
            var expectedOs = device.Spec.Platform switch
            {
                Contracts.Enrollment.DevicePlatform.ChromeOS => "ChromeOS",
                Contracts.Enrollment.DevicePlatform.IPadOS => "iPadOS",
                Contracts.Enrollment.DevicePlatform.Windows => "Windows",
                Contracts.Enrollment.DevicePlatform.MacOS => "macOS",
                Contracts.Enrollment.DevicePlatform.Android => "Android",
                _ => "Debian GNU/Linux",
            };
            report.OsName.ShouldBe(expectedOs);
            report.OsVersion.ShouldBe(device.OsVersion);
            report.Unavailable.ShouldNotBeNull().ShouldNotBeEmpty();
            if (device.Spec.Platform == Contracts.Enrollment.DevicePlatform.IPadOS)
            {
                report.Connectivity.ShouldBeNull();
                continue;
            }

            // The server test is a real HEAD to this server's /healthz; the district's site is simulated.
            var server = report.Connectivity.ShouldNotBeNull().Single(c => c.Target == "homeroom");
            server.Ok.ShouldBeTrue(server.Error);
            server.HttpStatus.ShouldBe(200);
            server.Url.ShouldBe(new Uri(_host.BaseAddress, "/healthz").ToString());
            report.Connectivity.Single(c => c.Target == "site").Url.ShouldBe("https://learn.example.org/");
            if (device.Spec.Platform != Contracts.Enrollment.DevicePlatform.ChromeOS)
            {
                report.LogLines.ShouldNotBeNull().Count.ShouldBe(SimulatedDiagnostics.LogLines);
                report.UptimeSeconds.ShouldNotBeNull().ShouldBeGreaterThan(0);
            }
        }
    }

    [Fact]
    public void Fit_AReportOverTheFrameLimit_DropsOldestLogLinesUntilItFits()
    {
        var lines = Enumerable.Range(0, 200).Select(i => $"{i:D3} " + new string('x', 490)).ToList();
        var frame = new Contracts.Agents.DiagnosticsFrame(Guid.NewGuid(), new Contracts.Agents.DiagnosticsReport(DateTimeOffset.UtcNow, LogLines: lines));
        Contracts.Agents.AgentFrameCodec.Serialize(frame).Length.ShouldBeGreaterThan(Contracts.Agents.ProtocolLimits.MaxTextFrameBytes);

        var fitted = SimulatedDiagnostics.Fit(frame, Contracts.Agents.ProtocolLimits.MaxTextFrameBytes);

        Contracts.Agents.AgentFrameCodec.Serialize(fitted).Length.ShouldBeLessThanOrEqualTo(Contracts.Agents.ProtocolLimits.MaxTextFrameBytes);
        fitted.Report.LogLines!.Count.ShouldBeGreaterThan(100);
        fitted.Report.LogLines[^1].ShouldStartWith("199 ");
    }

    [Fact]
    public async Task Command_DeliveredAgainAfterReconnect_IsCarriedOutOnce()
    {
        var token = await _host.CreateTokenAsync(maxUses: 1);
        await using var fleet = NewFleet(token, 1);
        fleet.Start();
        (await fleet.WaitForConnectedAsync(1, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        var device = fleet.Devices[0];

        var lockCommand = await IssueAsync(new { kind = "lock", deviceIds = new[] { device.DeviceId } });
        await Poll.UntilAsync(() => Task.FromResult(device.ExecutedCommands.Contains(lockCommand.GetProperty("id").GetGuid())));

        device.ExecutedCommands.Count(id => id == lockCommand.GetProperty("id").GetGuid()).ShouldBe(1);
        fleet.Metrics.CommandsReceived.ShouldBe(1);
    }

    [Fact]
    public async Task LinkCutAgainAndAgain_TheDeviceComesBackAfterTheFirstStepEachTime_AndCarriesOutACommandOnce()
    {
        await using var network = new TcpProxy(_host.BaseAddress);
        var token = await _host.CreateTokenAsync(maxUses: 1);
        await using var fleet = NewFleet(token, 1, server: network.Address);
        fleet.Start();
        (await fleet.WaitForConnectedAsync(1, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        var device = fleet.Devices[0];

        // Each session worked (the server welcomed it), so each cut is followed by the back-off's first step: 1 s plus
        // jitter below 1 s. Without the reset the fifth would wait 16 to 32 s.
        for (var cut = 1; cut <= 5; cut++)
        {
            var sessions = device.Sessions;
            network.CutAll();
            await Poll.UntilAsync(() => Task.FromResult(device.Sessions > sessions && device.Connected), TimeSpan.FromSeconds(20));
            device.ReconnectDelay.ShouldNotBeNull();
            device.ReconnectDelay.Value.ShouldBeLessThan(ReconnectBackoff.Initial * 2, $"cut {cut}");
        }

        var lockCommand = (await IssueAsync(new { kind = "lock", deviceIds = new[] { device.DeviceId } })).GetProperty("id").GetGuid();
        await Poll.UntilAsync(() => Task.FromResult(device.ExecutedCommands.Contains(lockCommand)));
        network.CutAll();
        await Poll.UntilAsync(() => Task.FromResult(device.Connected));
        await Task.Delay(500);
        device.ExecutedCommands.Count(id => id == lockCommand).ShouldBe(1);
    }

    [Fact]
    public async Task Activity_IsStoredAndAcknowledged()
    {
        var token = await _host.CreateTokenAsync(maxUses: 3);
        await using var fleet = NewFleet(token, 3);
        fleet.Start();
        (await fleet.WaitForConnectedAsync(3, TimeSpan.FromSeconds(30))).ShouldBeTrue();

        await Poll.UntilAsync(() => Task.FromResult(fleet.Metrics.EventsAcknowledged >= 30));

        // Read before counting: the fleet keeps sending, and every event acknowledged by now is stored.
        var acknowledged = fleet.Metrics.EventsAcknowledged;
        var stored = 0;
        foreach (var device in fleet.Devices)
        {
            stored += (await _host.GetJsonAsync<JsonElement>($"/api/activity?deviceId={device.DeviceId}")).GetProperty("total").GetInt32();
        }

        stored.ShouldBeGreaterThanOrEqualTo((int)acknowledged);
    }

    [Fact]
    public async Task Chromebooks_SendWebUsageOfOriginsAndAnAppInventorySnapshot_LikeTheExtension()
    {
        var token = await _host.CreateTokenAsync(maxUses: 8);
        await using var fleet = NewFleet(token, 8);
        fleet.Start();
        (await fleet.WaitForConnectedAsync(8, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        var chromebook = fleet.Devices.First(d => d.Spec.Platform == Homeroom.Contracts.Enrollment.DevicePlatform.ChromeOS);

        JsonElement[] usage = [];
        await Poll.UntilAsync(async () =>
        {
            usage = [.. (await _host.GetJsonAsync<JsonElement>($"/api/activity?deviceId={chromebook.DeviceId}&kind=web.usage&pageSize=500")).GetProperty("items").EnumerateArray()];
            return usage.Length >= 3;
        });
        usage.ShouldAllBe(e => e.GetProperty("durationSeconds").GetInt32() >= 1 && e.GetProperty("durationSeconds").GetInt32() <= 3600);
        usage.ShouldAllBe(e => new Uri(e.GetProperty("url").GetString()!).PathAndQuery == "/");

        await Poll.UntilAsync(async () => (await _host.GetJsonAsync<JsonElement>($"/api/devices/{chromebook.DeviceId}/apps?pageSize=500")).GetProperty("items").EnumerateArray()
            .Any(a => a.GetProperty("source").GetString() == "chrome" && a.GetProperty("appId").GetString() == "ghbmnnjooekpmoecnnnilnnbdlolhkhi"));
    }

    [Fact]
    public async Task Policies_AreEnforcedOnTheDevices_AndReportedApplied()
    {
        using var list = new ByteArrayContent("coolmathgames.com\npoki.com\nroblox.com\n"u8.ToArray());
        using var upload = await _host.Client.PostAsync("/api/filter-lists?name=games&format=plain&category=games", list);
        upload.EnsureSuccessStatusCode();
        var profile = await _host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "School filter", settings = new { webFilter = new { blockedCategories = new[] { "games" }, blockedSites = new[] { "tiktok.com" } } } });
        await _host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" });
        var token = await _host.CreateTokenAsync(maxUses: 4);
        await using var fleet = new Fleet.Fleet(new FleetOptions
        {
            Server = _host.BaseAddress, EnrollToken = token, Devices = 4, Seed = 11, AlwaysOnline = true, SlowAnswerChance = 0,
            ActivityInterval = TimeSpan.FromMilliseconds(200), FixedEventsPerSecond = 40, StartAt = new DateTimeOffset(2026, 11, 24, 16, 0, 0, TimeSpan.Zero),
        });
        fleet.Start();
        (await fleet.WaitForConnectedAsync(4, TimeSpan.FromSeconds(30))).ShouldBeTrue();

        await Poll.UntilAsync(() => Task.FromResult(fleet.Devices.All(d => d.PolicyVersion > 0)));
        await Poll.UntilAsync(async () => (await _host.GetJsonAsync<JsonElement>("/api/policies/compliance")).GetProperty("total").GetInt32() == 0);
        async Task<List<JsonElement>> EventsAsync(string kind)
        {
            var all = new List<JsonElement>();
            foreach (var device in fleet.Devices)
            {
                all.AddRange((await _host.GetJsonAsync<JsonElement>($"/api/activity?deviceId={device.DeviceId}&kind={kind}&pageSize=500")).GetProperty("items").EnumerateArray());
            }

            return all;
        }

        await Poll.UntilAsync(async () => (await EventsAsync("web.blocked")).Count >= 10);

        string[] blockedHosts = ["coolmathgames.com", "poki.com", "roblox.com", "tiktok.com"];
        var blocked = await EventsAsync("web.blocked");
        blocked.ShouldAllBe(e => blockedHosts.Any(h => new Uri(e.GetProperty("url").GetString()!).Host.EndsWith(h, StringComparison.Ordinal)));
        blocked.ShouldContain(e => e.GetProperty("detail").GetString() == "category:games");
        // Pages a device visited before its first policy arrived were not filtered yet.
        var filteredFrom = fleet.Devices.ToDictionary(d => d.DeviceId!.Value, d => d.FirstPolicyAt!.Value);
        // Visits are written in their own batches, so the first filtered ones may land after the blocked ones counted above.
        var visits = new List<JsonElement>();
        await Poll.UntilAsync(async () =>
        {
            visits = [.. (await EventsAsync("web.visit")).Where(e => e.GetProperty("occurredAt").GetDateTimeOffset() > filteredFrom[e.GetProperty("deviceId").GetGuid()])];
            return visits.Count > 0;
        });
        visits.ShouldAllBe(e => !blockedHosts.Any(h => new Uri(e.GetProperty("url").GetString()!).Host.EndsWith(h, StringComparison.Ordinal)));
    }
}
