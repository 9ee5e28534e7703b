using System.Text.Json.Serialization;

namespace Homeroom.Agent.State;

/// <summary>
/// What the agent keeps secret: where it enrolled, its device id and credential, and the enrollment
/// token (kept so that a credential the server stops accepting can be replaced by enrolling again).
/// </summary>
/// <param name="Server">The server's base address.</param>
/// <param name="DeviceId">The device's id, once enrolled.</param>
/// <param name="Credential">The device's credential, once enrolled.</param>
/// <param name="EnrollToken">The enrollment token, when one was given.</param>
/// <param name="Stale">The server refused the credential (4401): it is only presented once more, when enrolling again.</param>
public sealed record AgentSecrets(Uri Server, Guid? DeviceId, string? Credential, string? EnrollToken, bool Stale = false)
{
    /// <summary>Whether the agent has a credential the server may accept.</summary>
    [JsonIgnore]
    public bool CanConnect => DeviceId is not null && Credential is not null && !Stale;
}

/// <summary>Why the vault refused to open.</summary>
public sealed class CredentialVaultException(string message) : Exception(message);

/// <summary>
/// Keeps <see cref="AgentSecrets"/> readable only by the service: a 0600 file in a 0700 directory
/// owned by the service user on Linux and macOS (<see cref="UnixCredentialVault"/>), DPAPI's machine
/// scope on Windows (<see cref="DpapiCredentialVault"/>).
/// </summary>
public interface ICredentialVault
{
    /// <summary>The saved secrets, or null before the first enrollment. Throws <see cref="CredentialVaultException"/> when the protection is wrong.</summary>
    AgentSecrets? Load();

    /// <summary>Saves the secrets, replacing what was there, atomically.</summary>
    void Save(AgentSecrets secrets);
}
