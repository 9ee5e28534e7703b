using System.Runtime.Versioning;

namespace Homeroom.Agent.Capabilities.Users;

/// <summary>
/// macOS: the owner of <c>/dev/console</c>, which the system gives to the user of the graphical session in front
/// (root while the login window shows). Written and compiled here, never run on macOS.
/// </summary>
[SupportedOSPlatform("macos")]
public sealed class MacConsoleUser : ISignedInUserCapability
{
    public Task<string?> CurrentAccountAsync(CancellationToken cancellationToken) =>
        Task.FromResult(State.UnixFileOwnership.OwnerOf("/dev/console") is { } uid and not 0 ? UnixAccounts.NameOf(uid) : null);
}
