using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Agent.Capabilities;
using Homeroom.Agent.Capabilities.Linux;
using Homeroom.Agent.Tests.Support;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Commands;
using Homeroom.Rules.Updates;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Server.Updates;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Agent.Tests;

/// <summary>
/// OS updates on this Debian machine, for real and harmless: version 1.0 of a package built here is installed
/// with dpkg, version 2.0 is served from a file:// apt repository of the test's own (a Packages file made by
/// dpkg-scanpackages), and apt is pointed at it alone, with lists and cache of its own
/// (<see cref="AgentOptions.AptOptions"/>). The real agent reports 1 update pending to a real server over
/// loopback; the server's Linux rollout sends installOsUpdates; apt-get installs 2.0; the agent reports 0
/// pending and the install's success, and the rollout counts the device on the target. The package is purged after.
/// </summary>
[Collection(PackageDatabaseCollection.Name)]
public sealed class AgentOsUpdatesTests() : AgentServerTest("Homeroom:Updates:EvaluationInterval=01:00:00")
{
    private string _work = null!;

    public override async Task InitializeAsync()
    {
        Environment.UserName.ShouldBe("root", "these tests install packages with apt-get, as the agent's service does as root");
        await base.InitializeAsync();
        _work = Path.Combine(Host.Database.DataDirectory, "os-updates");
    }

    /// <summary>Version 1.0 installed, 2.0 in a repository apt is pointed at; the options that point it there.</summary>
    private async Task<(TestPackage Package, IReadOnlyList<string> AptOptions)> PendingUpgradeAsync()
    {
        var built = Path.Combine(_work, "built");
        var repository = Path.Combine(_work, "repository");
        Directory.CreateDirectory(repository);
        var package = await TestPackage.BuildAsync(built, "1.0");
        (await TestPackage.RunAsync("dpkg", "-i", package.Deb)).ShouldBe(0);
        (await package.InstalledVersionAsync()).ShouldBe("1.0");
        var v2 = await TestPackage.BuildAsync(repository, "2.0", package.Name);
        var packages = await Output("dpkg-scanpackages", repository, "--multiversion", ".", "/dev/null");
        await File.WriteAllTextAsync(Path.Combine(repository, "Packages"), packages);
        v2.Deb.ShouldStartWith(repository);
        var sources = Path.Combine(_work, "sources.list");
        await File.WriteAllTextAsync(sources, $"deb [trusted=yes] file:{repository} ./\n");
        return (package, LocalApt.Options(Path.Combine(_work, "apt"), sources));
    }

    [Fact]
    public async Task AptOsUpdates_OneUpgradeInTheRepository_ReportsItPending_InstallsIt_ThenNonePending()
    {
        var (package, aptOptions) = await PendingUpgradeAsync();
        await using var _ = package;
        var updates = new AptOsUpdates(new AgentOptions { AptOptions = aptOptions }, new ProcessRunner(), TimeProvider.System) { RebootRequiredFile = Path.Combine(_work, "reboot-required") };
        updates.Describe().Single().ShouldBe(new AgentCapability(CapabilityNames.OsUpdates, true));

        var before = await updates.CheckAsync(CancellationToken.None);
        before.Pending.ShouldBe(1);
        before.Security.ShouldBe(0);
        before.RebootRequired.ShouldBeFalse();
        before.Error.ShouldBeNull();
        before.CheckedAt.ShouldNotBeNull();

        await File.WriteAllTextAsync(Path.Combine(_work, "reboot-required"), "*** System restart required ***\n");
        var installed = await updates.InstallAsync(CancellationToken.None);

        installed.Ok.ShouldBeTrue(installed.Result);
        installed.Result.ShouldBe("installed 1 update with apt-get (0 for security); a restart is required to finish");
        (await package.InstalledVersionAsync()).ShouldBe("2.0");
        updates.Last.ShouldNotBeNull();
        updates.Last.Pending.ShouldBe(0);
        updates.Last.RebootRequired.ShouldBeTrue();
        updates.Last.LastInstallOk.ShouldBe(true);
        updates.Last.LastInstallResult.ShouldBe(installed.Result);
        (await updates.InstallAsync(CancellationToken.None)).ShouldBe(new Capabilities.Updates.OsUpdateInstall(true, "no updates pending"));
    }

    [Fact]
    public async Task AptOsUpdates_CheckInterruptedByTheConnectionEnding_RecordsNothing()
    {
        // The connection that asked for the check ended while apt-get ran: the check is given up, not reported on the
        // next connection as "did not finish within 10 minutes" (which it never took).
        var sources = Path.Combine(_work, "broken.list");
        Directory.CreateDirectory(_work);
        await File.WriteAllTextAsync(sources, $"deb [trusted=yes] file:{Path.Combine(_work, "missing")} ./\n");
        using var connectionEnded = new CancellationTokenSource();
        var runner = new EndingWhileItRuns(new ProcessRunner(), connectionEnded);
        var updates = new AptOsUpdates(new AgentOptions { AptOptions = LocalApt.Options(Path.Combine(_work, "apt-broken"), sources) }, runner, TimeProvider.System);

        await Should.ThrowAsync<OperationCanceledException>(() => updates.CheckAsync(connectionEnded.Token));

        runner.Started.ShouldBe(1, "apt-get update was started before the connection ended");
        updates.Last.ShouldBeNull();
    }

    /// <summary>Ends the caller's connection (cancels its token) as soon as a program starts, then runs the program for real.</summary>
    private sealed class EndingWhileItRuns(ProcessRunner inner, CancellationTokenSource connection) : IOsCommandRunner
    {
        public int Started { get; private set; }

        public Task<int> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
            inner.RunAsync(fileName, arguments, cancellationToken);

        public async Task<ToolRun> RunCapturedAsync(OsCommand command, CancellationToken cancellationToken)
        {
            Started++;
            await connection.CancelAsync();
            return await inner.RunCapturedAsync(command, cancellationToken);
        }
    }

    [Fact]
    public async Task AptOsUpdates_RepositoryUnreachable_ReportsTheErrorAndInstallFails()
    {
        var sources = Path.Combine(_work, "broken.list");
        Directory.CreateDirectory(_work);
        await File.WriteAllTextAsync(sources, $"deb [trusted=yes] file:{Path.Combine(_work, "missing")} ./\n");
        var updates = new AptOsUpdates(new AgentOptions { AptOptions = LocalApt.Options(Path.Combine(_work, "apt-broken"), sources) }, new ProcessRunner(), TimeProvider.System);

        var status = await updates.CheckAsync(CancellationToken.None);
        var install = await updates.InstallAsync(CancellationToken.None);

        status.Error.ShouldNotBeNull().ShouldStartWith("apt-get update exited with 100");
        status.CheckedAt.ShouldBeNull();
        install.Ok.ShouldBeFalse();
        install.Result.ShouldStartWith("apt-get update exited with 100");
        updates.Last!.LastInstallOk.ShouldBe(false);
    }

    [Fact]
    public async Task LinuxRollout_AgentWithAnUpdatePending_InstallsOnCommand_ReportsNonePending_AndTheRingCountsIt()
    {
        var (package, aptOptions) = await PendingUpgradeAsync();
        await using var _ = package;
        var school = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "North", timeZone = "UTC" })).GetProperty("id").GetGuid();
        var group = (await Host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Pilot laptops", kind = "custom", schoolId = school })).GetProperty("id").GetGuid();
        var deviceId = await EnrollAsync(await Host.CreateTokenAsync(maxUses: 1, groupId: group));
        await using var agent = await AgentUnderTest.StartAsync(StateDirectory, configure: o => o.AptOptions = aptOptions);
        await agent.WaitConnectedAsync();

        // At connection the agent asks apt and reports 1 pending.
        var reported = await WaitForStatusAsync(deviceId, s => s.Pending == 1);
        reported.Security.ShouldBe(0);
        reported.CheckedAt.ShouldNotBeNull();
        reported.LastInstallOk.ShouldBeNull();

        // A diagnostics report carries the same status (from the last check, without asking apt again) as a passed check.
        var diagnose = await Host.PostJsonAsync<JsonElement>("/api/commands", new { kind = CommandKinds.Diagnose, deviceIds = new[] { deviceId } });
        await WaitForDeliveryAsync(diagnose.GetProperty("id").GetGuid(), "succeeded");
        var latest = (await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/diagnostics")).GetProperty("latest");
        var inReport = latest.GetProperty("report").GetProperty("osUpdates");
        inReport.GetProperty("pending").GetInt32().ShouldBe(1);
        inReport.GetProperty("checkedAt").GetDateTimeOffset().ShouldBe(reported.CheckedAt!.Value);
        var updatesCheck = latest.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("section").GetString() == "updates");
        updatesCheck.GetProperty("ok").GetBoolean().ShouldBeTrue(updatesCheck.ToString());
        updatesCheck.GetProperty("text").GetString()!.ShouldStartWith("1 update(s) pending, 0 for security");
        string version;
        await using (var db = await Db())
        {
            version = (await db.Devices.Where(d => d.Id == deviceId).Select(d => d.OsVersion).SingleAsync()).ShouldNotBeNull();
        }

        version.ShouldBe(File.ReadLines("/etc/os-release").Single(l => l.StartsWith("VERSION_ID=", StringComparison.Ordinal))["VERSION_ID=".Length..].Trim('"'));

        // The rollout's ring starts: the device runs the distribution's version but has an update pending, so it is sent the install.
        using var created = await Host.PostJsonAsync("/api/updates/rollouts", new
        {
            name = "Debian point release", platform = "linux", targetVersion = version,
            rings = new[] { new { groupId = group, requiredPercent = 100, soakHours = 0 } },
        });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var rollout = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var evaluator = Host.GetService<RolloutEvaluator>();
        var first = (await evaluator.EvaluateOnceAsync(rollout)).ShouldNotBeNull();
        first.UpdateCommandsSent.ShouldBe(1, $"{first.Decision.Outcome}: {first.Decision.Reason} ({first.Decision.Progress})");
        first.Decision.Progress.AtTarget.ShouldBe(0);

        // apt-get installs 2.0; the agent reports none pending and the install's success, and the command succeeded.
        await Poll.UntilAsync(async () =>
        {
            await using var db = await Db();
            return await db.CommandDeliveries.AnyAsync(cd => cd.DeviceId == deviceId && cd.Status == DeliveryStatus.Succeeded
                && db.Commands.Any(c => c.Id == cd.CommandId && c.Kind == CommandKinds.InstallOsUpdates));
        }, TimeSpan.FromMinutes(2));
        (await package.InstalledVersionAsync()).ShouldBe("2.0");
        var after = await WaitForStatusAsync(deviceId, s => s.Pending == 0 && s.LastInstallOk == true);
        after.LastInstallResult.ShouldNotBeNull().ShouldStartWith("installed 1 update with apt-get");

        // The ring counts it on the target and healthy: the one-ring rollout is done.
        await using (var db = await Db())
        {
            var now = Host.Clock.GetUtcNow().UtcDateTime;
            await db.Devices.Where(d => d.Id == deviceId).ExecuteUpdateAsync(d => d.SetProperty(x => x.LastSeenAt, now));
        }

        var second = (await evaluator.EvaluateOnceAsync(rollout)).ShouldNotBeNull();
        second.Decision.Progress.AtTarget.ShouldBe(1);
        second.Decision.Progress.HealthyAtTarget.ShouldBe(1);
        second.Decision.Outcome.ShouldBe(GateOutcome.Pass);
        second.UpdateCommandsSent.ShouldBe(0);
        (await Host.GetJsonAsync<JsonElement>($"/api/updates/rollouts/{rollout}")).GetProperty("state").GetString().ShouldBe("done");
    }

    private Task<HomeroomDbContext> Db() => Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();

    private async Task<DeviceOsUpdate> WaitForStatusAsync(Guid deviceId, Func<DeviceOsUpdate, bool> condition)
    {
        DeviceOsUpdate? status = null;
        await Poll.UntilAsync(async () =>
        {
            await using var db = await Db();
            status = await db.DeviceOsUpdates.AsNoTracking().FirstOrDefaultAsync(u => u.DeviceId == deviceId);
            return status is not null && condition(status);
        }, TimeSpan.FromMinutes(2));
        return status!;
    }

    private static async Task<string> Output(string file, string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        process.ExitCode.ShouldBe(0, await error);
        return await output;
    }
}
