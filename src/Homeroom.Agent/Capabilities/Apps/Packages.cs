using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities.Apps;

/// <summary>The outcome of an install or removal: whether it holds now, and the platform's words either way.</summary>
public sealed record PackageOutcome(bool Ok, string Result);

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
}

/// <summary>Where a platform has no package tool this build drives: every request fails with the reason.</summary>
public sealed class UnavailablePackages(string reason) : IPackagesCapability
{
    public IEnumerable<AgentCapability> Describe() => [new(CapabilityNames.AppInstall, false, reason)];

    public Task<PackageOutcome> InstallAsync(string package, CancellationToken cancellationToken) => Task.FromResult(new PackageOutcome(false, reason));

    public Task<PackageOutcome> RemoveAsync(string package, CancellationToken cancellationToken) => Task.FromResult(new PackageOutcome(false, reason));

    public IReadOnlyCollection<string> Executables(string package) => [];
}
