using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities.Apps;

/// <summary>The outcome of an install or removal: whether it holds now, and the platform's words either way.</summary>
public sealed record PackageOutcome(bool Ok, string Result);

/// <summary>
/// What the server says about a package beyond its identity, where the platform has no repository that knows it by name:
/// a Mac package's download URL and SHA-256 (installs), and the app bundle it installs with that bundle's id (both).
/// Empty for Linux and Windows, whose package tools find packages by name.
/// </summary>
public sealed record PackageSource(Uri? Url = null, string? Sha256 = null, string? AppPath = null, string? BundleId = null)
{
    public static PackageSource None { get; } = new();
}

/// <summary>
/// Installs and removes packages with the platform's own package tool (<c>installPackage</c>,
/// <c>removePackage</c>), and says which executables a package puts on the machine, for blocking.
/// </summary>
public interface IPackagesCapability : ICapability
{
    /// <summary>Installs the package unless it is installed already.</summary>
    Task<PackageOutcome> InstallAsync(string package, CancellationToken cancellationToken);

    /// <summary>Removes the package unless it is not installed.</summary>
    Task<PackageOutcome> RemoveAsync(string package, CancellationToken cancellationToken);

    /// <summary>The executable names (without directory, and without <c>.exe</c>) a blocked package is known by on this machine.</summary>
    IReadOnlyCollection<string> Executables(string package);

    /// <summary>Installs the package from where <paramref name="source"/> says (a platform whose tool finds packages by name ignores it).</summary>
    Task<PackageOutcome> InstallAsync(string package, PackageSource source, CancellationToken cancellationToken) => InstallAsync(package, cancellationToken);

    /// <summary>Removes the package, with what <paramref name="source"/> says it installed (ignored where the tool knows).</summary>
    Task<PackageOutcome> RemoveAsync(string package, PackageSource source, CancellationToken cancellationToken) => RemoveAsync(package, cancellationToken);

    /// <summary>Notes the app bundle the catalog names for a package (macOS), so its programs are known for blocking; ignored elsewhere.</summary>
    void Locate(string package, string appPath)
    {
    }
}

/// <summary>Where a platform has no package tool this build drives: every request fails with the reason.</summary>
public sealed class UnavailablePackages(string reason) : IPackagesCapability
{
    public IEnumerable<AgentCapability> Describe() => [new(CapabilityNames.AppInstall, false, reason)];

    public Task<PackageOutcome> InstallAsync(string package, CancellationToken cancellationToken) => Task.FromResult(new PackageOutcome(false, reason));

    public Task<PackageOutcome> RemoveAsync(string package, CancellationToken cancellationToken) => Task.FromResult(new PackageOutcome(false, reason));

    public IReadOnlyCollection<string> Executables(string package) => [];
}
