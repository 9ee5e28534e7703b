using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Agent.Capabilities;
using Homeroom.Agent.Capabilities.Apps;
using Homeroom.Agent.Capabilities.Linux;
using Homeroom.Agent.Tests.Support;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Apps;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Agent.Tests;

/// <summary>
/// Packages and blocked applications on this Linux machine, for real: a package built here with dpkg-deb is
/// installed and removed with dpkg (the tests run as root, as the service does), and a blocked program that
/// starts is ended. The catalog, the reconciler and the policy come from a real server over loopback.
/// </summary>
[Collection(PackageDatabaseCollection.Name)]
public sealed class AgentAppsTests : AgentServerTest
{
    private string _packages = null!;

    public override async Task InitializeAsync()
    {
        Environment.UserName.ShouldBe("root", "these tests install packages with dpkg, as the agent's service does as root");
        await base.InitializeAsync();
        _packages = Path.Combine(Host.Database.DataDirectory, "packages");
    }

    [Fact]
    public async Task LinuxPackages_InstallFromThePackageDirectoryThenRemove_DpkgAgrees()
    {
        await using var package = await TestPackage.BuildAsync(_packages);
        var packages = new LinuxPackages(new AgentOptions { PackageDirectory = _packages }, new ProcessRunner());
        packages.Describe().Single().Available.ShouldBeTrue();

        var installed = await packages.InstallAsync(package.Name, CancellationToken.None);

        installed.ShouldBe(new PackageOutcome(true, $"installed from {Path.GetFileName(package.Deb)}"));
        (await package.IsInstalledAsync()).ShouldBeTrue();
        File.Exists($"/usr/bin/{package.Program}").ShouldBeTrue();
        packages.Executables(package.Name).ShouldBe([package.Name, package.Program], ignoreOrder: true);
        (await packages.InstallAsync(package.Name, CancellationToken.None)).ShouldBe(new PackageOutcome(true, "already installed"));

        (await packages.RemoveAsync(package.Name, CancellationToken.None)).ShouldBe(new PackageOutcome(true, "removed"));
        (await package.IsInstalledAsync()).ShouldBeFalse();
        File.Exists($"/usr/bin/{package.Program}").ShouldBeFalse();
        (await packages.RemoveAsync(package.Name, CancellationToken.None)).ShouldBe(new PackageOutcome(true, "not installed"));
    }

    [Fact]
    public async Task LinuxPackages_PackageNoSourceHas_FailsWithAptsReason()
    {
        var packages = new LinuxPackages(new AgentOptions { PackageDirectory = _packages }, new ProcessRunner());

        var outcome = await packages.InstallAsync("homeroom-test-nowhere-" + Guid.NewGuid().ToString("N")[..6], CancellationToken.None);

        outcome.Ok.ShouldBeFalse();
        outcome.Result.ShouldStartWith("apt-get install exited with 100");
        outcome.Result.ShouldContain("Unable to locate package");
        (await packages.InstallAsync("--force-all", CancellationToken.None)).Result.ShouldContain("is not a Debian package name");
    }

    [Fact]
    public async Task RequiredThenBlocked_InstalledByTheAgent_ThenRemovedAndEndedWhenItStarts()
    {
        await using var package = await TestPackage.BuildAsync(_packages);
        var deviceId = await EnrollAsync();
        await using var agent = await AgentUnderTest.StartAsync(StateDirectory, configure: o =>
        {
            o.PackageDirectory = _packages;
            o.BlockScanInterval = TimeSpan.FromMilliseconds(200);
        });
        await agent.WaitConnectedAsync();
        var live = Host.GetService<DeviceLiveState>();
        await Poll.UntilAsync(() => Task.FromResult(live.Capabilities(deviceId) is not null), HomeroomHost.Timeout);
        live.Capabilities(deviceId)!.ShouldContain(c => c.Name == CapabilityNames.AppInstall && c.Available);
        live.Capabilities(deviceId)!.ShouldContain(c => c.Name == CapabilityNames.AppBlock && c.Available);

        var app = (await Host.PostJsonAsync<JsonElement>("/api/apps", new { name = "Test tool", category = "utilities", linuxPackage = package.Name })).GetProperty("id").GetGuid();
        var assignment = (await Host.PostJsonAsync<JsonElement>($"/api/apps/{app}/assignments", new { intent = "required", level = "district" })).GetProperty("id").GetGuid();

        // Required: the server sends installPackage, the agent installs the .deb with dpkg and reports its inventory.
        var status = await WaitForStateAsync(deviceId, "installed");
        status.GetProperty("reason").ValueKind.ShouldBe(JsonValueKind.Null);
        (await package.IsInstalledAsync()).ShouldBeTrue();
        await Poll.UntilAsync(async () =>
        {
            await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
            return await db.DeviceApps.AnyAsync(a => a.DeviceId == deviceId && a.Source == DeviceAppSources.Device && a.AppId == package.Name);
        }, HomeroomHost.Timeout);
        (await Host.GetJsonAsync<JsonElement>($"/api/apps/{app}")).GetProperty("status").GetProperty("installed").GetInt32().ShouldBe(1);

        // Blocked: removed with dpkg, and its program is in the agent's block list (from the policy's catalog.blockedPackages).
        using (var changed = await Host.Client.PutAsJsonAsync(new Uri($"/api/app-assignments/{assignment}", UriKind.Relative), new { intent = "blocked", level = "district" }))
        {
            changed.IsSuccessStatusCode.ShouldBeTrue(await changed.Content.ReadAsStringAsync());
        }

        await WaitForStateAsync(deviceId, "removed");
        (await package.IsInstalledAsync()).ShouldBeFalse();
        var blocker = agent.Services.GetRequiredService<ApplicationBlocker>();
        await Poll.UntilAsync(() => Task.FromResult(blocker.Blocked.ContainsKey(package.Program)), HomeroomHost.Timeout);

        // A copy of the program started from elsewhere is ended within a bounded time and reported to the server.
        var copy = Path.Combine(Host.Database.DataDirectory, package.Program);
        File.Copy("/bin/sleep", copy);
        File.SetUnixFileMode(copy, (UnixFileMode)Convert.ToInt32("755", 8));
        using var started = Process.Start(copy, "120");
        var watch = Stopwatch.StartNew();
        await started.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        started.ExitCode.ShouldBe(137); // SIGKILL

        JsonElement blocked = default;
        await Poll.UntilAsync(async () =>
        {
            var page = await Host.GetJsonAsync<JsonElement>($"/api/activity?deviceId={deviceId}&pageSize=50");
            blocked = page.GetProperty("items").EnumerateArray().FirstOrDefault(e => e.GetProperty("kind").GetString() == ActivityKinds.AppBlocked);
            return blocked.ValueKind == JsonValueKind.Object;
        }, HomeroomHost.Timeout);
        blocked.GetProperty("appId").GetString().ShouldBe(package.Name);
        blocked.GetProperty("title").GetString().ShouldBe(package.Program);
    }

    [Fact]
    public async Task Required_PackageNoSourceHas_FailedWithAptsReasonAndRetriedLater()
    {
        var deviceId = await EnrollAsync();
        await using var agent = await AgentUnderTest.StartAsync(StateDirectory, configure: o => o.PackageDirectory = _packages);
        await agent.WaitConnectedAsync();
        var missing = "homeroom-test-nowhere-" + Guid.NewGuid().ToString("N")[..6];
        var app = (await Host.PostJsonAsync<JsonElement>("/api/apps", new { name = "Nowhere", category = "utilities", linuxPackage = missing })).GetProperty("id").GetGuid();
        await Host.PostJsonAsync<JsonElement>($"/api/apps/{app}/assignments", new { intent = "required", level = "district" });

        var status = await WaitForStateAsync(deviceId, "failed");

        status.GetProperty("reason").GetString()!.ShouldContain($"The agent could not carry out the install of {missing}: apt-get install exited with 100");
        status.GetProperty("reason").GetString()!.ShouldContain("Unable to locate package");
        status.GetProperty("attempts").GetInt32().ShouldBe(1);
        status.GetProperty("nextAttemptAt").GetDateTime().ShouldBeGreaterThan(Host.Clock.GetUtcNow().UtcDateTime);
    }

    [Fact]
    public void FitFrame_InventoryOverTheFrameLimit_KeepsTheFirstAppsThatFit()
    {
        var apps = Enumerable.Range(0, 2_000).Select(i => new InstalledApp($"package-{i:D4}", $"package-{i:D4}", "1:2.3.4-5ubuntu6.7")).ToList();
        var frame = new InventoryFrame("Ubuntu", "24.04", null, null, 1, 1, apps, [new AgentCapability(CapabilityNames.AppInstall, true)]);

        var fitted = Connection.AgentWorker.FitFrame(frame, 64 * 1024);

        AgentFrameCodec.Serialize(fitted).Length.ShouldBeLessThanOrEqualTo(64 * 1024);
        fitted.Apps!.Count.ShouldBeGreaterThan(500);
        fitted.Apps.ShouldBe(apps.Take(fitted.Apps.Count));
        fitted.Capabilities.ShouldBe(frame.Capabilities);
        Connection.AgentWorker.FitFrame(frame, 1024 * 1024).ShouldBeSameAs(frame);
    }

    // Passes run when the reconciler is nudged and when asked; ask until the device's status reaches the state.
    private async Task<JsonElement> WaitForStateAsync(Guid deviceId, string state)
    {
        var reconciler = Host.GetService<AppInstallReconciler>();
        JsonElement status = default;
        await Poll.UntilAsync(async () =>
        {
            await reconciler.ReconcileAllAsync();
            status = (await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/apps/status")).EnumerateArray().Single();
            return status.GetProperty("state").GetString() == state;
        }, TimeSpan.FromSeconds(60));
        return status;
    }
}
