using Homeroom.Agent.Capabilities.Apps;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Apps;

namespace Homeroom.Agent.Capabilities.Windows;

/// <summary>
/// Packages on Windows through winget (the Windows Package Manager): a catalog entry's Windows package id is
/// a winget id (or a Store product id), installed machine-wide and silently with every agreement accepted,
/// removed the same way. winget's exit codes are mapped to words (<see cref="WingetResults"/>). Compiled
/// here and unit-tested for its arguments and its codes; it has not run on Windows.
/// </summary>
public sealed class WingetPackages(IOsCommandRunner runner, string? winget) : IPackagesCapability
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(30);

    /// <summary>winget.exe as the Windows service account finds it: App Installer's alias under Program Files\WindowsApps is not on a service's PATH.</summary>
    public static string? FindWinget()
    {
        var local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        var alias = Path.Combine(local, "Microsoft", "WindowsApps", "winget.exe");
        if (File.Exists(alias))
        {
            return alias;
        }

        var apps = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ProgramFiles), "WindowsApps");
        try
        {
            return Directory.Exists(apps)
                ? Directory.GetDirectories(apps, "Microsoft.DesktopAppInstaller_*_x64__8wekyb3d8bbwe").Order(StringComparer.Ordinal)
                    .Select(d => Path.Combine(d, "winget.exe")).LastOrDefault(File.Exists)
                : null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public IEnumerable<AgentCapability> Describe() =>
        [winget is null ? new(CapabilityNames.AppInstall, false, "winget (App Installer) was not found on this PC") : new(CapabilityNames.AppInstall, true)];

    public Task<PackageOutcome> InstallAsync(string package, CancellationToken cancellationToken) =>
        RunAsync(package, WingetArguments.Install(package), install: true, cancellationToken);

    public Task<PackageOutcome> RemoveAsync(string package, CancellationToken cancellationToken) =>
        RunAsync(package, WingetArguments.Uninstall(package), install: false, cancellationToken);

    /// <summary>The catalog has no executable names for Windows packages: nothing is blocked by name.</summary>
    public IReadOnlyCollection<string> Executables(string package) => [];

    private async Task<PackageOutcome> RunAsync(string package, IReadOnlyList<string> arguments, bool install, CancellationToken cancellationToken)
    {
        if (!AppIdentity.IsWindowsPackageId(package))
        {
            return new(false, $"'{package}' is not a Windows package id");
        }

        if (winget is null)
        {
            return new(false, "winget (App Installer) was not found on this PC");
        }

        var run = await runner.RunCapturedAsync(new(winget, arguments, Limit), cancellationToken);
        return WingetResults.Outcome(run.ExitCode, install, run.Tail());
    }
}

/// <summary>The winget command lines the agent runs: exact id, machine scope, silent, no prompts.</summary>
public static class WingetArguments
{
    public static IReadOnlyList<string> Install(string id) =>
        ["install", "--id", id, "--exact", "--scope", "machine", "--silent", "--accept-package-agreements", "--accept-source-agreements", "--disable-interactivity"];

    public static IReadOnlyList<string> Uninstall(string id) =>
        ["uninstall", "--id", id, "--exact", "--silent", "--accept-source-agreements", "--disable-interactivity"];
}

/// <summary>
/// What winget's exit codes mean (winget-cli's doc/windows/package-manager/winget/returnCodes.md), as the
/// reason an administrator reads on the device's app status. Codes that mean the wanted state holds (already
/// installed, nothing to remove, done but a restart finishes it) are successes.
/// </summary>
public static class WingetResults
{
    public const uint NoApplicationsFound = 0x8A150014;
    public const uint UpdateNotApplicable = 0x8A15002B;
    public const uint PackageAlreadyInstalled = 0x8A150061;
    public const uint RebootRequiredToFinish = 0x8A150109;
    public const uint InstallAlreadyInstalled = 0x8A15010D;

    public static PackageOutcome Outcome(int exitCode, bool install, string output)
    {
        var code = unchecked((uint)exitCode);
        return code switch
        {
            0 => new(true, install ? "installed with winget" : "removed with winget"),
            RebootRequiredToFinish => new(true, (install ? "installed" : "removed") + "; a restart finishes it"),
            PackageAlreadyInstalled or InstallAlreadyInstalled or UpdateNotApplicable when install => new(true, "already installed"),
            NoApplicationsFound when !install => new(true, "not installed"),
            _ => new(false, $"winget {(install ? "install" : "uninstall")} failed (0x{code:X8}: {Meaning(code)}){(output.Length > 0 ? ": " + output : "")}"),
        };
    }

    /// <summary>winget's description of a code, or "unknown code".</summary>
    public static string Meaning(uint code) => code switch
    {
        0x8A150001 => "internal error",
        0x8A150002 => "invalid command line arguments",
        0x8A150003 => "executing command failed",
        0x8A150006 => "the installer failed",
        0x8A150008 => "downloading the installer failed",
        0x8A150011 => "the installer's hash does not match the manifest",
        NoApplicationsFound => "no package found with this id",
        UpdateNotApplicable => "no applicable update found",
        0x8A150056 => "the package's agreements were not accepted",
        PackageAlreadyInstalled => "the package is already installed",
        0x8A150101 => "the application is in use",
        0x8A150102 => "another installation is in progress",
        0x8A150103 => "a file is in use",
        0x8A150104 => "a dependency is missing",
        0x8A150105 => "the disk is full",
        0x8A150106 => "not enough memory",
        0x8A150107 => "no network connection",
        0x8A150108 => "the installer failed; contact the publisher's support",
        RebootRequiredToFinish => "a restart finishes the installation",
        0x8A15010A => "a restart is required before installing",
        0x8A15010B => "the installer restarted the PC",
        0x8A15010C => "cancelled by the user",
        InstallAlreadyInstalled => "another version is already installed",
        0x8A15010E => "a newer version is already installed",
        0x8A15010F => "blocked by policy",
        _ => "unknown code",
    };
}
