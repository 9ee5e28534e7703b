using System.Text.Json;
using Homeroom.Agent.Capabilities.Linux;
using Homeroom.Agent.State;
using Homeroom.Agent.Tests.Support;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Agents;
using Homeroom.Server.Devices;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Agent.Tests;

/// <summary>
/// The real agent against the real server over loopback WebSockets (through a relay that stands for the network).
/// The server gives an agent stopped on a running computer a short grace; the tests run the watch's passes themselves.
/// </summary>
public sealed class AgentTests() : AgentServerTest("Homeroom:Agents:StoppedAlertGraceSeconds=1", "Homeroom:Agents:WatchIntervalSeconds=300")
{
    [Fact]
    public async Task Enroll_WithToken_StoresTheCredentialReadableOnlyByTheService()
    {
        var deviceId = await EnrollAsync();

        var paths = new AgentPaths(StateDirectory);
        File.GetUnixFileMode(paths.StateDirectory).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.GetUnixFileMode(paths.CredentialFile).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var device = await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}");
        device.GetProperty("platform").GetString().ShouldBe("linux");
        device.GetProperty("name").GetString().ShouldBe(Environment.MachineName);
        (await File.ReadAllTextAsync(paths.CredentialFile)).ShouldContain("hrd_");
    }

    [Fact]
    public async Task Run_ConnectsAndReportsThisMachinesInventoryAndCapabilities()
    {
        var deviceId = await EnrollAsync();
        await using var agent = await AgentUnderTest.StartAsync(StateDirectory);
        await agent.WaitConnectedAsync();

        JsonElement device = default;
        await Poll.UntilAsync(async () =>
        {
            device = await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}");
            return device.GetProperty("online").GetBoolean() && device.GetProperty("inventoryAt").ValueKind != JsonValueKind.Null;
        }, HomeroomHost.Timeout);

        // The server keeps what the agent said it can do, for the console to grey out the rest with the reason.
        var live = Host.GetService<DeviceLiveState>();
        await Poll.UntilAsync(() => Task.FromResult(live.Capabilities(deviceId) is not null), HomeroomHost.Timeout);
        live.Capabilities(deviceId)!.ShouldContain(c => c.Name == CapabilityNames.Lock && !c.Available && c.Reason!.Contains("user-session helper"));
        live.Capabilities(deviceId)!.ShouldContain(c => c.Name == CapabilityNames.Restart && c.Available);
        live.Capabilities(deviceId)!.ShouldContain(c => c.Name == CapabilityNames.Inventory && c.Available);

        var release = LinuxInventory.ReadKeyValues("/etc/os-release");
        device.GetProperty("osName").GetString().ShouldBe(release.GetValueOrDefault("NAME") ?? "Linux");
        device.GetProperty("osVersion").GetString().ShouldBe(release.GetValueOrDefault("VERSION_ID") ?? release.GetValueOrDefault("VERSION"));
        device.GetProperty("agentVersion").GetString()!.ShouldStartWith("homeroom-agent/");
        var total = device.GetProperty("storageTotalBytes").GetInt64();
        total.ShouldBe(new DriveInfo("/").TotalSize);
        device.GetProperty("storageFreeBytes").GetInt64().ShouldBeInRange(0, total);
        var installed = File.Exists("/var/lib/dpkg/status") ? File.ReadLines("/var/lib/dpkg/status").Count(l => l == "Status: install ok installed") : 0;
        // Up to 2,000, and fewer when their names and versions would not fit in one 64 KB frame (about 70 bytes each on Debian).
        device.GetProperty("appCount").GetInt32().ShouldBeInRange(Math.Min(installed, 800), Math.Min(installed, ProtocolLimits.MaxInventoryApps));
        if (installed > 0)
        {
            var apps = await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/apps");
            apps.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("appId").GetString()).ShouldContain("bash"); // Essential on Debian, so installed everywhere dpkg is
        }
    }

    [Fact]
    public async Task Diagnose_ReportsThisMachine_TestsTheServerAndAClosedPort_AndRedactsItsLog()
    {
        var deviceId = await EnrollAsync();
        await using var agent = await AgentUnderTest.StartAsync(StateDirectory);
        await agent.WaitConnectedAsync();
        // The report names the applied policy: wait for the first, or it may arrive between the report and the check below.
        await Poll.UntilAsync(() => Task.FromResult(agent.Status.PolicyVersion > 0), HomeroomHost.Timeout);
        // A secret reaching the agent's log (as a careless line might write it) must not leave the device.
        var credential = new UnixCredentialVault(new AgentPaths(StateDirectory)).Load()!.Credential!;
        var logger = agent.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>().CreateLogger("Homeroom.Agent.Tests");
        Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(logger, "Retrying with Authorization: Device {Id}:{Credential} and token={Token}", deviceId, credential, "s3cr3t-value");

        // Port 1 on loopback: nothing listens there.
        var closed = "https://127.0.0.1:1/";
        var command = await Host.PostJsonAsync<JsonElement>("/api/commands", new { kind = CommandKinds.Diagnose, arguments = new Dictionary<string, string> { ["urls"] = closed }, deviceIds = new[] { deviceId } });
        (await WaitForDeliveryAsync(command.GetProperty("id").GetGuid(), "succeeded")).GetProperty("result").GetString()!.ShouldContain("1 connection test(s) failed");

        var latest = (await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/diagnostics")).GetProperty("latest");
        latest.ValueKind.ShouldBe(JsonValueKind.Object);
        var report = latest.GetProperty("report");
        var release = LinuxInventory.ReadKeyValues("/etc/os-release");
        report.GetProperty("osName").GetString().ShouldBe(release.GetValueOrDefault("NAME") ?? "Linux");
        report.GetProperty("kernel").GetString().ShouldBe("Linux " + File.ReadAllText("/proc/sys/kernel/osrelease").Trim());
        report.GetProperty("agentVersion").GetString()!.ShouldStartWith("homeroom-agent/");
        var uptime = double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        report.GetProperty("uptimeSeconds").GetInt64().ShouldBeInRange((long)uptime - 120, (long)uptime + 1);
        var root = report.GetProperty("disks").EnumerateArray().Single(d => d.GetProperty("mount").GetString() == "/");
        root.GetProperty("totalBytes").GetInt64().ShouldBe(new DriveInfo("/").TotalSize);
        var memTotal = long.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        report.GetProperty("memory").GetProperty("totalBytes").GetInt64().ShouldBe(memTotal);
        report.GetProperty("interfaces").EnumerateArray().ShouldContain(i => i.GetProperty("name").GetString() == "lo"
            && i.GetProperty("addresses").EnumerateArray().Any(a => a.GetString() == "127.0.0.1"));
        report.GetProperty("policy").GetProperty("version").GetInt64().ShouldBe(agent.Status.PolicyVersion);

        var checks = report.GetProperty("connectivity").EnumerateArray().ToList();
        checks.Count.ShouldBe(2);
        var home = checks.Single(c => c.GetProperty("target").GetString() == "homeroom");
        home.GetProperty("ok").GetBoolean().ShouldBeTrue(home.ToString());
        home.GetProperty("url").GetString().ShouldBe(new Uri(Network.Address, "healthz").ToString());
        home.GetProperty("httpStatus").GetInt32().ShouldBe(200);
        var site = checks.Single(c => c.GetProperty("target").GetString() == "site");
        site.GetProperty("ok").GetBoolean().ShouldBeFalse();
        site.GetProperty("url").GetString().ShouldBe(closed);
        site.GetProperty("error").GetString()!.ShouldBe("tcp: connection refused (nothing listens on that port)");
        latest.GetProperty("checks").EnumerateArray().ShouldContain(c => !c.GetProperty("ok").GetBoolean() && c.GetProperty("text").GetString()!.Contains("connection refused"));

        var log = report.GetProperty("logLines").EnumerateArray().Select(l => l.GetString()!).ToList();
        log.ShouldContain(l => l.Contains("Connected to", StringComparison.Ordinal));
        var retry = log.Single(l => l.Contains("Retrying with", StringComparison.Ordinal));
        retry.ShouldNotContain(credential);
        retry.ShouldNotContain("s3cr3t-value");
        retry.ShouldContain("Authorization: Device [redacted]");
        retry.ShouldContain("token=[redacted]");
        log.ShouldAllBe(l => !l.Contains(credential));
    }

    [Fact]
    public async Task Command_DeliveredAgainAfterTheLinkBroke_IsCarriedOutOnce()
    {
        var deviceId = await EnrollAsync();
        await using var agent = await AgentUnderTest.StartAsync(StateDirectory);
        await agent.WaitConnectedAsync();

        // The link stops delivering what the agent sends: the server never hears the command was received.
        Network.HoldUpstream = true;
        var restart = await IssueAsync(deviceId, CommandKinds.Restart);
        await Poll.UntilAsync(() => Task.FromResult(agent.Runner.Calls.Count == 1), HomeroomHost.Timeout);
        Network.CutAll();
        Network.HoldUpstream = false;

        // On the next connection the server sends the command again; the agent answers it from its journal.
        var delivery = await WaitForDeliveryAsync(restart, "succeeded");
        delivery.GetProperty("result").GetString().ShouldBe("restarting");
        agent.Status.Connections.ShouldBeGreaterThanOrEqualTo(2);
        agent.Runner.Calls.ShouldBe(["/usr/bin/systemctl reboot"]);
    }

    [Fact]
    public async Task SessionsThatWorked_EndingAgainAndAgain_AreFollowedByTheFirstStepOfTheBackOffEachTime()
    {
        var deviceId = await EnrollAsync();
        await using var agent = await AgentUnderTest.StartAsync(StateDirectory);
        await agent.WaitConnectedAsync();

        // A server that restarts closes its agents with 1001 (going away). Each of these sessions worked, so the back-off
        // starts again from its first step: before, it went on growing from one restart to the next (2 to 4 s, then 4 to 8 s).
        var sessions = 1;
        for (var close = 1; close <= 3; close++)
        {
            Host.GetService<ConnectionRegistry>().Get(deviceId)!.RequestClose((int)System.Net.WebSockets.WebSocketCloseStatus.EndpointUnavailable, "server restarting");
            await agent.WaitConnectedAsync(connections: ++sessions);
            agent.Status.LastCloseCode.ShouldBe(1001);
            agent.Status.ReconnectDelay!.Value.ShouldBeLessThan(ReconnectBackoff.Initial * 2, $"close {close}");
        }

        // A link that drops while frames go out (the first ones after the welcome): the agent always comes back. A send
        // under a socket the read loop had aborted once threw instead of answering false, and ended the agent for good.
        for (var drop = 1; drop <= 5; drop++)
        {
            Network.CutAll();
            await agent.WaitConnectedAsync(connections: ++sessions);
            agent.Status.ReconnectDelay!.Value.ShouldBeLessThan(ReconnectBackoff.Initial * 2, $"drop {drop}");
        }
    }

    [Fact]
    public async Task AgentRestart_KeepsItsCredentialAndItsMemoryOfCommands()
    {
        var deviceId = await EnrollAsync();
        Guid restart;
        await using (var first = await AgentUnderTest.StartAsync(StateDirectory))
        {
            await first.WaitConnectedAsync();
            Network.HoldUpstream = true;
            restart = await IssueAsync(deviceId, CommandKinds.Restart);
            await Poll.UntilAsync(() => Task.FromResult(first.Runner.Calls.Count == 1), HomeroomHost.Timeout);
            Network.CutAll();
            Network.HoldUpstream = false;
        }

        // A new agent process on the same state: it resumes with its credential (the token allowed one enrollment only)
        // and answers the re-delivered command from the journal on disk, without restarting the machine again.
        await using var second = await AgentUnderTest.StartAsync(StateDirectory);
        await second.WaitConnectedAsync();
        var delivery = await WaitForDeliveryAsync(restart, "succeeded");
        delivery.GetProperty("result").GetString().ShouldBe("restarting");
        second.Runner.Calls.ShouldBeEmpty();
        second.Status.DeviceId.ShouldBe(deviceId);
        (await Host.GetJsonAsync<JsonElement>("/api/devices")).GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task Ping_IsAnsweredAndAnUnsupportedCommandFailsWithItsReason()
    {
        var deviceId = await EnrollAsync();
        await using var agent = await AgentUnderTest.StartAsync(StateDirectory);
        await agent.WaitConnectedAsync();

        var ping = await IssueAsync(deviceId, CommandKinds.Ping);
        (await WaitForDeliveryAsync(ping, "succeeded")).GetProperty("result").GetString().ShouldBe("pong");
        var lockCommand = await IssueAsync(deviceId, CommandKinds.Lock);
        (await WaitForDeliveryAsync(lockCommand, "failed")).GetProperty("error").GetString()!.ShouldContain("user-session helper");
    }

    [Fact]
    public async Task ActivityWhileOffline_IsBoundedKeptAcrossARestartAndFlushedOnReconnect()
    {
        var deviceId = await EnrollAsync();
        Network.Down = true;
        var at = DateTimeOffset.UtcNow.AddMinutes(-5);
        await using (var offline = await AgentUnderTest.StartAsync(StateDirectory, queueCapacity: 10))
        {
            for (var i = 0; i < 15; i++)
            {
                offline.Activity.Record(new ActivityEvent(0, at.AddSeconds(i), ActivityKinds.AppUsage, AppId: $"org.example.app{i}", Title: "Editor", DurationSeconds: 30));
            }

            offline.Queue.Count.ShouldBe(10);
            offline.Queue.Dropped.ShouldBe(5);
            offline.Status.Connections.ShouldBe(0);
        }

        await using var online = await AgentUnderTest.StartAsync(StateDirectory, queueCapacity: 10);
        online.Queue.Count.ShouldBe(10);
        Network.Down = false;
        await online.WaitConnectedAsync();

        JsonElement page = default;
        await Poll.UntilAsync(async () =>
        {
            page = await Host.GetJsonAsync<JsonElement>($"/api/activity?deviceId={deviceId}&pageSize=50");
            return page.GetProperty("total").GetInt32() == 10;
        }, HomeroomHost.Timeout);
        page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("appId").GetString()).Order()
            .ShouldBe(Enumerable.Range(5, 10).Select(i => $"org.example.app{i}").Order());
        await Poll.UntilAsync(() => Task.FromResult(online.Queue.Count == 0), HomeroomHost.Timeout);
        (await CliAsync("status")).Output.ShouldContain("Activity queued: 0, dropped because the queue was full: 5");
    }

    [Theory]
    [InlineData("file", "0640")]
    [InlineData("file", "0604")]
    [InlineData("directory", "0750")]
    [InlineData("owner", "0600")]
    public async Task Run_WithACredentialOthersCouldRead_RefusesToStart(string what, string mode)
    {
        await EnrollAsync();
        var paths = new AgentPaths(StateDirectory);
        var target = what == "directory" ? paths.StateDirectory : paths.CredentialFile;
        File.SetUnixFileMode(target, (UnixFileMode)Convert.ToInt32(mode, 8));
        if (what == "owner")
        {
            // The tests run as root (as the service does), which may give a file to another user.
            using var chown = System.Diagnostics.Process.Start("chown", ["65534", paths.CredentialFile]);
            await chown.WaitForExitAsync().WaitAsync(HomeroomHost.Timeout);
            chown.ExitCode.ShouldBe(0);
        }

        var (code, _, error) = await CliAsync("run");

        code.ShouldBe(AgentCli.CredentialRefused);
        error.ShouldContain("refusing to use it");
        (await Host.GetJsonAsync<JsonElement>("/api/devices?online=true")).GetProperty("total").GetInt32().ShouldBe(0);
    }

    [Fact]
    public async Task Install_WritesASystemdUnitThatRunsTheAgentOnItsState()
    {
        var units = Path.Combine(Host.Database.DataDirectory, "units");
        var (code, output, _) = await CliAsync("install", "--unit-dir", units, "--executable", "/usr/bin/homeroom-agent");

        code.ShouldBe(AgentCli.Ok);
        output.ShouldContain("systemctl enable --now homeroom-agent.service");
        var unit = await File.ReadAllTextAsync(Path.Combine(units, "homeroom-agent.service"));
        unit.ShouldContain($"ExecStart=/usr/bin/homeroom-agent run --state {Path.GetFullPath(StateDirectory)}");
        unit.ShouldContain("Type=notify");
        unit.ShouldContain("StateDirectoryMode=0700");
        unit.ShouldContain("WantedBy=multi-user.target");
        // The browsers' policy directories stay writable under ProtectSystem=full (each optional: "-").
        unit.ShouldContain("ReadWritePaths=-/etc/opt/chrome/policies -/etc/chromium/policies -/etc/opt/edge/policies -/etc/firefox/policies\n");
    }

    [Theory]
    [InlineData("running", "agentStopped")]
    [InlineData("degraded", "agentStopped")]
    [InlineData("stopping", null)]
    public async Task Stopping_TellsTheServerWhetherTheComputerShutsDown_AndAStoppedAgentOnARunningOneRaisesAnAlertUntilItReturns(string systemdState, string? alert)
    {
        var deviceId = await EnrollAsync();
        // A systemctl that answers as systemd would in that state (this container runs no systemd); the agent really runs it.
        var systemctl = Path.Combine(Host.Database.DataDirectory, "systemctl");
        await File.WriteAllTextAsync(systemctl, $"#!/bin/sh\n[ \"$1\" = is-system-running ] || exit 2\necho {systemdState}\n[ {systemdState} = running ]\n");
        File.SetUnixFileMode(systemctl, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var watch = Host.GetService<Homeroom.Server.Agents.AgentWatch>();
        await using (var agent = await AgentUnderTest.StartAsync(StateDirectory, configure: o => o.SystemctlPath = systemctl))
        {
            await agent.WaitConnectedAsync();
        }

        await Poll.UntilAsync(async () => !(await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}")).GetProperty("online").GetBoolean(), HomeroomHost.Timeout);
        watch.IsWaitingFor(deviceId).ShouldBe(alert is not null);
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        await watch.CheckAsync(CancellationToken.None);
        var open = (await Host.GetJsonAsync<JsonElement>($"/api/alerts?state=open&deviceId={deviceId}")).GetProperty("items");
        if (alert is null)
        {
            open.GetArrayLength().ShouldBe(0);
            return;
        }

        open.GetArrayLength().ShouldBe(1);
        open[0].GetProperty("kind").GetString().ShouldBe(alert);
        await using (var again = await AgentUnderTest.StartAsync(StateDirectory))
        {
            await again.WaitConnectedAsync();
            await watch.CheckAsync(CancellationToken.None);
            (await Host.GetJsonAsync<JsonElement>($"/api/alerts?state=open&deviceId={deviceId}")).GetProperty("items").GetArrayLength().ShouldBe(0);
        }
    }
}
