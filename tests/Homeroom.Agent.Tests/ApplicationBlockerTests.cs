using System.Diagnostics;
using Homeroom.Agent.Capabilities.Apps;
using Homeroom.Agent.Connection;
using Homeroom.Agent.State;
using Homeroom.Contracts.Agents;
using Microsoft.Extensions.Logging.Abstractions;

namespace Homeroom.Agent.Tests;

/// <summary>
/// The programs a policy names for a blocked package (<c>catalog.blockedExecutables</c>, which the server sends Windows
/// desktops): ended when they run, by their file name without <c>.exe</c>, here with Linux's process list and a real
/// process (a copy of <c>sleep</c> under a name of its own, so no other test's process is touched).
/// </summary>
public sealed class ApplicationBlockerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("homeroom-blocker-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task NamedProgramOfABlockedPackage_IsEndedWhenItRuns_AndReportedForThePackage()
    {
        using var queue = new ActivityQueue(new AgentPaths(Path.Combine(_directory, "state")), capacity: 100);
        var blocker = NewBlocker(queue);
        var program = $"hr-block-{Guid.NewGuid():N}"[..17];

        blocker.SetBlockedPackages(["Valve.Steam", "Other.Package"], new Dictionary<string, IReadOnlyList<string>>
        {
            ["Valve.Steam"] = [program + ".exe"],
            ["Not.Blocked"] = ["notblocked.exe"],
        });

        blocker.Blocked.ShouldBe(new Dictionary<string, string> { [program] = "Valve.Steam" });
        var copy = Path.Combine(_directory, program);
        File.Copy("/bin/sleep", copy);
        File.SetUnixFileMode(copy, (UnixFileMode)Convert.ToInt32("755", 8));
        using var started = Process.Start(copy, "120");

        blocker.Scan().ShouldBe(1);

        await started.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        started.ExitCode.ShouldBe(137); // SIGKILL
        var reported = queue.Batches().SelectMany(b => b).ShouldHaveSingleItem();
        reported.Kind.ShouldBe(ActivityKinds.AppBlocked);
        reported.AppId.ShouldBe("Valve.Steam");
        reported.Title.ShouldBe(program);
    }

    [Fact]
    public void PolicyThatNoLongerBlocksThePackage_LeavesItsProgramsAlone()
    {
        using var queue = new ActivityQueue(new AgentPaths(Path.Combine(_directory, "state")), capacity: 100);
        var blocker = NewBlocker(queue);
        blocker.SetBlockedPackages(["Valve.Steam"], new Dictionary<string, IReadOnlyList<string>> { ["Valve.Steam"] = ["steam.exe"] });
        blocker.Blocked.Keys.ShouldBe(["steam"]);

        blocker.SetBlockedPackages([]);

        blocker.Blocked.ShouldBeEmpty();
        blocker.Scan().ShouldBe(0);
    }

    private static ApplicationBlocker NewBlocker(ActivityQueue queue) => new(
        new ProcFsProcessList(), new UnavailablePackages("no packages in this test"), new ActivitySink(queue, NullLogger<ActivitySink>.Instance),
        new AgentOptions(), TimeProvider.System, NullLogger<ApplicationBlocker>.Instance);
}
