using Homeroom.Agent.Capabilities.Apps;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities.MacOS;

/// <summary>
/// macOS's process list for blocking: <c>ps -axo pid=,comm=</c>, where <c>comm</c> is the path of the program the process
/// runs (<c>/Applications/Foo.app/Contents/MacOS/Foo</c>), so a process is known by its program's file name, as a bundle's
/// <c>Contents/MacOS/</c> names it. NEVER RUN ON macOS: only <see cref="Parse"/> is tested, with output written as ps prints it.
/// </summary>
public sealed class MacProcessList(IOsCommandRunner runner, string ps = "/bin/ps") : IProcessList
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    public AgentCapability Describe() => File.Exists(ps)
        ? new(CapabilityNames.AppBlock, true)
        : new(CapabilityNames.AppBlock, false, "ps was not found");

    /// <summary>One run of ps (the blocker scans from its own timer thread, so waiting here holds nothing else up).</summary>
    public IEnumerable<RunningProcess> List()
    {
        var run = runner.RunCapturedAsync(new(ps, ["-axo", "pid=,comm="], Limit) { CaptureStandardError = false }, CancellationToken.None).GetAwaiter().GetResult();
        return run.ExitCode == 0 ? Parse(run.Output) : [];
    }

    /// <summary>
    /// The processes of <c>ps -axo pid=,comm=</c>: a process id, spaces, then the program's path (which may hold spaces:
    /// <c>/Applications/Google Chrome.app/Contents/MacOS/Google Chrome</c>); each known by the path's last part. Lines
    /// without a positive process id or a program (a header, a blank line, a cut-off line) are skipped.
    /// </summary>
    public static IReadOnlyList<RunningProcess> Parse(string output)
    {
        var processes = new List<RunningProcess>();
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.Trim();
            var space = line.IndexOfAny([' ', '\t']);
            if (space <= 0 || !int.TryParse(line.AsSpan(0, space), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid) || pid <= 0)
            {
                continue;
            }

            var command = line[space..].Trim();
            var name = command[(command.LastIndexOf('/') + 1)..];
            if (name.Length > 0)
            {
                processes.Add(new RunningProcess(pid, name));
            }
        }

        return processes;
    }
}

/// <summary>
/// The Mac packages installed, from the receipts <c>pkgutil</c> keeps: <c>pkgutil --pkgs</c>, then <c>--pkg-info</c> for the
/// version of each that is not part of macOS (<c>com.apple.pkg.*</c>, listed without a version), at most
/// <see cref="MaxVersions"/>. The catalog's Mac package ids are matched against these ids. NEVER RUN ON macOS.
/// </summary>
public sealed class MacReceipts(IOsCommandRunner runner, string pkgutil = "/usr/sbin/pkgutil") : IApplicationsCapability
{
    /// <summary>The most receipts whose version is asked for in one inventory.</summary>
    public const int MaxVersions = 300;

    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);

    public IEnumerable<AgentCapability> Describe() =>
        [File.Exists(pkgutil) ? new(CapabilityNames.Applications, true) : new(CapabilityNames.Applications, false, "pkgutil was not found")];

    public IReadOnlyList<InstalledApp> ListInstalled()
    {
        var run = runner.RunCapturedAsync(new(pkgutil, ["--pkgs"], Limit) { CaptureStandardError = false }, CancellationToken.None).GetAwaiter().GetResult();
        if (run.ExitCode != 0)
        {
            return [];
        }

        var ids = MacPackageTool.ParsePackageIds(run.Output);
        var versions = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var id in ids.Where(i => !i.StartsWith("com.apple.", StringComparison.Ordinal)).Take(MaxVersions))
        {
            var info = runner.RunCapturedAsync(new(pkgutil, ["--pkg-info", id], Limit) { CaptureStandardError = false }, CancellationToken.None).GetAwaiter().GetResult();
            versions[id] = info.ExitCode == 0 ? MacPackageTool.ParseInfo(info.Output)?.Version : null;
        }

        return [.. ids.Order(StringComparer.Ordinal).Select(id => new InstalledApp(id, id, versions.GetValueOrDefault(id)))];
    }
}
