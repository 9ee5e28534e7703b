using System.Diagnostics;
using Homeroom.Agent.Connection;
using Homeroom.Contracts.Agents;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Homeroom.Agent.Capabilities.Apps;

/// <summary>A running process: its id and the file name of its executable (lower case, without <c>.exe</c>).</summary>
public sealed record RunningProcess(int Id, string Executable);

/// <summary>Lists the running processes by executable, one implementation per OS.</summary>
public interface IProcessList
{
    /// <summary>Whether this platform's list names executables reliably enough to block by them, and why not.</summary>
    AgentCapability Describe();

    IEnumerable<RunningProcess> List();
}

/// <summary>
/// Linux: <c>/proc/&lt;pid&gt;/exe</c>, the file the process runs (not its own, changeable <c>comm</c>), so a
/// renamed process is still known by what it executes. Reading another user's link needs root, which the
/// service has; a process whose link cannot be read falls back to <c>comm</c>.
/// </summary>
public sealed class ProcFsProcessList : IProcessList
{
    public AgentCapability Describe() => Directory.Exists("/proc/self")
        ? new(CapabilityNames.AppBlock, true)
        : new(CapabilityNames.AppBlock, false, "/proc is not mounted");

    public IEnumerable<RunningProcess> List()
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            string? name = null;
            try
            {
                name = new FileInfo(Path.Combine(directory, "exe")).LinkTarget is { } target ? Path.GetFileName(target.Replace(" (deleted)", "", StringComparison.Ordinal)) : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }

            if (name is null)
            {
                try
                {
                    name = File.ReadAllText(Path.Combine(directory, "comm")).TrimEnd('\n');
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue; // it ended meanwhile
                }
            }

            yield return new RunningProcess(pid, name);
        }
    }
}

/// <summary>
/// Windows: .NET's process list (the process name, from the executable's name), where the catalog names the programs to
/// stop (<c>catalog.blockedExecutables</c>). Elsewhere (not Linux or macOS, which have lists of their own) the capability is
/// reported unavailable with <paramref name="unavailable"/> as the reason.
/// </summary>
public sealed class PortableProcessList(string? unavailable = null) : IProcessList
{
    public AgentCapability Describe() => new(CapabilityNames.AppBlock, unavailable is null, unavailable);

    public IEnumerable<RunningProcess> List()
    {
        foreach (var process in Process.GetProcesses())
        {
            using (process)
            {
                yield return new RunningProcess(process.Id, process.ProcessName);
            }
        }
    }
}

/// <summary>
/// Ends blocked applications when they start: the policy's <c>catalog.blockedPackages</c> become executable
/// names (<see cref="IPackagesCapability.Executables"/>, learned while the package is still installed and
/// remembered after it is removed, and those the policy names for a package in <c>catalog.blockedExecutables</c>; on
/// macOS the programs of the app bundle <c>catalog.blockedAppBundles</c> names), the process list is scanned every <see cref="AgentOptions.BlockScanInterval"/>,
/// and each matching process is killed and reported as an <c>app.blocked</c> activity event.
/// </summary>
public sealed class ApplicationBlocker(IProcessList processes, IPackagesCapability packages, ActivitySink activity, AgentOptions options, TimeProvider time,
    ILogger<ApplicationBlocker> logger) : BackgroundService, ICapability
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, HashSet<string>> _known = new(StringComparer.Ordinal);
    private Dictionary<string, string> _blocked = new(StringComparer.OrdinalIgnoreCase);

    public IEnumerable<AgentCapability> Describe() => [processes.Describe()];

    /// <summary>The executable names blocked now, each with the package it belongs to.</summary>
    public IReadOnlyDictionary<string, string> Blocked
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<string, string>(_blocked, _blocked.Comparer);
            }
        }
    }

    /// <summary>Remembers a package's executables while it is still installed (before a removal), for when it is blocked.</summary>
    public void Learn(string package)
    {
        var executables = packages.Executables(package);
        lock (_gate)
        {
            if (!_known.TryGetValue(package, out var known))
            {
                _known[package] = known = [];
            }

            known.UnionWith(executables);
            if (_blocked.ContainsValue(package))
            {
                foreach (var name in known)
                {
                    _blocked.TryAdd(Normalize(name), package);
                }
            }
        }
    }

    /// <summary>Replaces the blocked packages (from a policy version), with the executables the policy names for some of them.</summary>
    public void SetBlockedPackages(IReadOnlyCollection<string> blockedPackages, IReadOnlyDictionary<string, IReadOnlyList<string>>? named = null)
    {
        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        lock (_gate)
        {
            foreach (var package in blockedPackages)
            {
                if (!_known.TryGetValue(package, out var executables))
                {
                    _known[package] = executables = [];
                }

                executables.UnionWith(packages.Executables(package));
                if (named?.TryGetValue(package, out var listed) == true)
                {
                    executables.UnionWith(listed);
                }

                foreach (var name in executables)
                {
                    names.TryAdd(Normalize(name), package);
                }
            }

            _blocked = names;
        }
    }

    /// <summary>One scan: ends every running blocked executable; returns how many were ended.</summary>
    public int Scan()
    {
        var blocked = Blocked;
        if (blocked.Count == 0 || !processes.Describe().Available)
        {
            return 0;
        }

        var ended = 0;
        foreach (var running in processes.List())
        {
            if (running.Id == Environment.ProcessId || running.Id <= 1 || !blocked.TryGetValue(Normalize(running.Executable), out var package))
            {
                continue;
            }

            try
            {
                using var process = Process.GetProcessById(running.Id);
                process.Kill(entireProcessTree: false);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                continue; // it ended by itself meanwhile, or cannot be ended
            }

            ended++;
            AgentLog.ApplicationBlocked(logger, running.Executable, running.Id, package);
            activity.Record(new Contracts.Agents.ActivityEvent(0, time.GetUtcNow(), ActivityKinds.AppBlocked, Title: running.Executable, AppId: package,
                Detail: "ended: blocked by policy"));
        }

        return ended;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.BlockScanInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    Scan();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    AgentLog.BlockScanFailed(logger, e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static string Normalize(string executable) =>
        executable.EndsWith(".exe", StringComparison.OrdinalIgnoreCase) ? executable[..^4] : executable;
}
