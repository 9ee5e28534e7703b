using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Homeroom.Agent.Capabilities.Updates;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities.Linux;

/// <summary>
/// OS updates on Debian-family Linux through apt, as unattended-upgrades reads them: <c>apt-get update</c>
/// refreshes the package lists, <c>apt-get -s upgrade</c> (a simulation, nothing changes) lists what an upgrade
/// would install, and a package whose new version comes from a <c>-security</c> origin is a security update.
/// Install: <c>apt-get -y upgrade</c>, non-interactive, keeping locally changed configuration files, within
/// <see cref="InstallLimit"/>. A restart is due while <c>/var/run/reboot-required</c> exists. The OS version the
/// agent reports stays the distribution's (<c>/etc/os-release</c>), which packages upgrades do not change.
/// <see cref="AgentOptions.AptOptions"/> are passed to every apt-get run (the tests' own repository; the service has none).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class AptOsUpdates(AgentOptions options, IOsCommandRunner runner, TimeProvider time) : OsUpdatesBase(time)
{
    /// <summary>The longest <c>apt-get update</c> or simulation may run.</summary>
    public static readonly TimeSpan CheckLimit = TimeSpan.FromMinutes(10);

    /// <summary>The longest an install may run before it is stopped.</summary>
    public static readonly TimeSpan InstallLimit = TimeSpan.FromMinutes(60);

    private static readonly IReadOnlyDictionary<string, string> Quiet = new Dictionary<string, string>
    {
        ["DEBIAN_FRONTEND"] = "noninteractive",
        ["LC_ALL"] = "C",
        ["APT_LISTCHANGES_FRONTEND"] = "none",
    };

    private readonly string? _aptGet = ((string[])["/usr/bin/apt-get", "/bin/apt-get"]).FirstOrDefault(File.Exists);

    /// <summary>The file Debian and Ubuntu create when an installed update needs a restart.</summary>
    public string RebootRequiredFile { get; init; } = "/var/run/reboot-required";

    public override IEnumerable<AgentCapability> Describe() =>
        [Unavailable() is { } reason ? new(CapabilityNames.OsUpdates, false, reason) : new(CapabilityNames.OsUpdates, true)];

    protected override string? Unavailable() =>
        _aptGet is null ? "apt-get was not found: OS updates are supported on Debian-family distributions only"
        : !IsRoot() ? "the agent does not run as root, which apt-get needs"
        : null;

    protected override async Task<OsUpdateScan> ScanAsync(CancellationToken cancellationToken)
    {
        var reboot = File.Exists(RebootRequiredFile);
        var refresh = await runner.RunCapturedAsync(new(_aptGet!, [.. options.AptOptions, "-q", "update"], CheckLimit) { Environment = Quiet }, cancellationToken);
        if (refresh.ExitCode != 0)
        {
            return new OsUpdateScan(0, 0, reboot, $"apt-get update exited with {refresh.ExitCode}: {refresh.Tail(200)}");
        }

        var simulation = await runner.RunCapturedAsync(new(_aptGet!, [.. options.AptOptions, "-s", "-q", "upgrade"], CheckLimit) { Environment = Quiet }, cancellationToken);
        if (simulation.ExitCode != 0)
        {
            return new OsUpdateScan(0, 0, reboot, $"apt-get -s upgrade exited with {simulation.ExitCode}: {simulation.Tail(200)}");
        }

        var upgrades = AptSimulation.Parse(simulation.Output);
        return new OsUpdateScan(upgrades.Count, upgrades.Count(u => u.Security), reboot);
    }

    protected override async Task<OsUpdateInstall> InstallUpdatesAsync(CancellationToken cancellationToken)
    {
        var before = await ScanAsync(cancellationToken);
        if (before.Error is { } error)
        {
            return new(false, error);
        }

        if (before.Pending == 0)
        {
            return new(true, "no updates pending");
        }

        var run = await runner.RunCapturedAsync(new(_aptGet!, [.. options.AptOptions, "-y", "-q", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "upgrade"], InstallLimit) { Environment = Quiet }, cancellationToken);
        if (run.ExitCode != 0)
        {
            return new(false, $"apt-get upgrade exited with {run.ExitCode}: {run.Tail(200)}");
        }

        var reboot = File.Exists(RebootRequiredFile) ? "; a restart is required to finish" : "";
        return new(true, $"installed {before.Pending} {(before.Pending == 1 ? "update" : "updates")} with apt-get ({before.Security} for security){reboot}");
    }

    private static bool IsRoot() => Environment.UserName == "root" || State.UnixFileOwnership.EffectiveUserId == 0;
}

/// <summary>Reads <c>apt-get -s upgrade</c> (pure, so tested on any OS).</summary>
public static partial class AptSimulation
{
    /// <summary>One package an upgrade would install: its name, the versions, and whether its origin is a security archive.</summary>
    public sealed record AptUpgrade(string Package, string? From, string To, bool Security);

    /// <summary>
    /// The <c>Inst</c> lines of <c>apt-get -s upgrade</c>, for example
    /// <c>Inst libc6 [2.36-9+deb12u8] (2.36-9+deb12u9 Debian-Security:12/stable-security [amd64])</c>: the package,
    /// the installed version (absent for a new package), the new version and the archives offering it.
    /// </summary>
    public static IReadOnlyList<AptUpgrade> Parse(string output)
    {
        var upgrades = new List<AptUpgrade>();
        foreach (var line in output.Split('\n'))
        {
            var match = InstLine().Match(line.TrimEnd('\r'));
            if (!match.Success)
            {
                continue;
            }

            var origins = match.Groups["origins"].Value;
            var security = origins.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Any(o => o.Contains("-security", StringComparison.OrdinalIgnoreCase) || o.StartsWith("Debian-Security:", StringComparison.OrdinalIgnoreCase));
            upgrades.Add(new AptUpgrade(match.Groups["name"].Value, match.Groups["from"].Success ? match.Groups["from"].Value : null, match.Groups["to"].Value, security));
        }

        return upgrades;
    }

    [GeneratedRegex(@"^Inst (?<name>\S+)(?: \[(?<from>[^\]]*)\])? \((?<to>\S+)(?<origins>[^\[\)]*)(?:\[[^\]]*\])?\)")]
    private static partial Regex InstLine();
}
