using System.Runtime.Versioning;
using Homeroom.Agent.Capabilities.Apps;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Apps;

namespace Homeroom.Agent.Capabilities.Linux;

/// <summary>
/// Packages on Debian-family Linux. A catalog entry's Linux identity is a Debian package name. Install:
/// a <c>.deb</c> of that package in the agent's package directory (<see cref="AgentOptions.PackageDirectory"/>,
/// for packages a school distributes itself) is installed with <c>dpkg -i</c>; otherwise the package comes
/// from the machine's configured apt repositories (<c>apt-get install -y --no-install-recommends</c>).
/// Removal: <c>dpkg -r</c>, which refuses (and says so) when other installed packages depend on it, rather
/// than taking them with it. Whether a package is installed is dpkg's own answer (<c>dpkg-query</c>).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class LinuxPackages(AgentOptions options, IOsCommandRunner runner) : IPackagesCapability
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(20);
    private static readonly IReadOnlyDictionary<string, string> Quiet = new Dictionary<string, string>
    {
        ["DEBIAN_FRONTEND"] = "noninteractive",
        ["LC_ALL"] = "C",
    };

    private static readonly string[] BinaryDirectories = ["/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/games/", "/usr/local/bin/"];

    private readonly string? _dpkg = Find("dpkg");
    private readonly string? _dpkgQuery = Find("dpkg-query");
    private readonly string? _aptGet = Find("apt-get");

    private static string? Find(string tool) => ((string[])[$"/usr/bin/{tool}", $"/bin/{tool}"]).FirstOrDefault(File.Exists);

    public IEnumerable<AgentCapability> Describe()
    {
        if (_dpkg is null || _dpkgQuery is null)
        {
            yield return new(CapabilityNames.AppInstall, false, "dpkg was not found: only Debian-family distributions are supported");
        }
        else if (!IsRoot())
        {
            yield return new(CapabilityNames.AppInstall, false, "the agent does not run as root, which dpkg needs");
        }
        else
        {
            yield return new(CapabilityNames.AppInstall, true);
        }
    }

    public async Task<PackageOutcome> InstallAsync(string package, CancellationToken cancellationToken)
    {
        if (Refuse(package) is { } refusal)
        {
            return refusal;
        }

        if (await IsInstalledAsync(package, cancellationToken))
        {
            return new(true, "already installed");
        }

        var local = LocalPackage(package);
        ToolRun run;
        if (local is not null)
        {
            run = await runner.RunCapturedAsync(new(_dpkg!, ["-i", local], Limit) { Environment = Quiet }, cancellationToken);
        }
        else if (_aptGet is null)
        {
            return new(false, $"{package}: not in the agent's package directory ({options.PackageDirectory}) and apt-get was not found");
        }
        else
        {
            run = await runner.RunCapturedAsync(new(_aptGet, ["install", "-y", "-q", "--no-install-recommends", "--", package], Limit) { Environment = Quiet }, cancellationToken);
        }

        if (await IsInstalledAsync(package, cancellationToken))
        {
            return new(true, local is null ? "installed with apt-get" : $"installed from {Path.GetFileName(local)}");
        }

        return new(false, $"{(local is null ? "apt-get install" : "dpkg -i")} exited with {run.ExitCode}: {run.Tail()}");
    }

    public async Task<PackageOutcome> RemoveAsync(string package, CancellationToken cancellationToken)
    {
        if (Refuse(package) is { } refusal)
        {
            return refusal;
        }

        if (!await IsInstalledAsync(package, cancellationToken))
        {
            return new(true, "not installed");
        }

        var run = await runner.RunCapturedAsync(new(_dpkg!, ["-r", "--", package], Limit) { Environment = Quiet }, cancellationToken);
        return await IsInstalledAsync(package, cancellationToken)
            ? new(false, $"dpkg -r exited with {run.ExitCode}: {run.Tail()}")
            : new(true, "removed");
    }

    /// <summary>The package's name and the programs it installed in the usual binary directories (from dpkg's file list).</summary>
    public IReadOnlyCollection<string> Executables(string package)
    {
        var names = new HashSet<string>(StringComparer.Ordinal) { package };
        foreach (var list in (string[])[$"/var/lib/dpkg/info/{package}.list", .. SafeGlob("/var/lib/dpkg/info", $"{package}:*.list")])
        {
            if (!AppIdentity.IsLinuxPackage(package) || !File.Exists(list))
            {
                continue;
            }

            foreach (var path in File.ReadLines(list))
            {
                if (BinaryDirectories.Any(d => path.StartsWith(d, StringComparison.Ordinal) && path.IndexOf('/', d.Length) < 0)
                    && Path.GetFileName(path) is { Length: > 0 } name && File.Exists(path))
                {
                    names.Add(name);
                }
            }
        }

        return names;
    }

    private static string[] SafeGlob(string directory, string pattern)
    {
        try
        {
            return Directory.Exists(directory) ? Directory.GetFiles(directory, pattern) : [];
        }
        catch (IOException)
        {
            return [];
        }
    }

    private PackageOutcome? Refuse(string package)
    {
        if (!AppIdentity.IsLinuxPackage(package))
        {
            return new(false, $"'{package}' is not a Debian package name");
        }

        return Describe().First() is { Available: false } unavailable ? new(false, unavailable.Reason ?? "not available") : null;
    }

    /// <summary>dpkg's answer: the package's status is <c>install ok installed</c>.</summary>
    internal async Task<bool> IsInstalledAsync(string package, CancellationToken cancellationToken)
    {
        var run = await runner.RunCapturedAsync(new(_dpkgQuery!, ["-W", "-f=${db:Status-Abbrev}", "--", package], TimeSpan.FromMinutes(1)) { Environment = Quiet }, cancellationToken);
        return run.ExitCode == 0 && run.Output.StartsWith("ii", StringComparison.Ordinal);
    }

    /// <summary>A <c>&lt;package&gt;_&lt;version&gt;_&lt;arch&gt;.deb</c> in the package directory (the last by name when there are several).</summary>
    private string? LocalPackage(string package)
    {
        var directory = options.PackageDirectory;
        return Directory.Exists(directory)
            ? Directory.GetFiles(directory, $"{package}_*.deb").Where(f => Path.GetFileName(f).Split('_')[0] == package).Order(StringComparer.Ordinal).LastOrDefault()
            : null;
    }

    private static bool IsRoot() => Environment.UserName == "root" || State.UnixFileOwnership.EffectiveUserId == 0;
}
