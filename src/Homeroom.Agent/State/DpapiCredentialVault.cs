using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text.Json;

namespace Homeroom.Agent.State;

/// <summary>
/// The Windows vault: the secrets encrypted with DPAPI in the machine scope (only code running on this
/// machine can decrypt them) and an entropy of the agent's own, in <c>credential.bin</c> under the state
/// directory, whose ACL the installer limits to SYSTEM and Administrators. Compiled on every build,
/// run only on Windows; the tests here cannot exercise it.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed class DpapiCredentialVault(AgentPaths paths) : ICredentialVault
{
    private static readonly byte[] Entropy = "homeroom-agent credential v1"u8.ToArray();

    private string FilePath => Path.Combine(paths.StateDirectory, "credential.bin");

    public AgentSecrets? Load()
    {
        if (!File.Exists(FilePath))
        {
            return null;
        }

        try
        {
            var clear = ProtectedData.Unprotect(File.ReadAllBytes(FilePath), Entropy, DataProtectionScope.LocalMachine);
            return JsonSerializer.Deserialize(clear, AgentStateJsonContext.Default.AgentSecrets);
        }
        catch (Exception e) when (e is CryptographicException or JsonException)
        {
            File.Move(FilePath, FilePath + ".corrupt", overwrite: true);
            return null;
        }
    }

    public void Save(AgentSecrets secrets)
    {
        paths.EnsureStateDirectory();
        var clear = JsonSerializer.SerializeToUtf8Bytes(secrets, AgentStateJsonContext.Default.AgentSecrets);
        var temporary = FilePath + ".tmp";
        File.WriteAllBytes(temporary, ProtectedData.Protect(clear, Entropy, DataProtectionScope.LocalMachine));
        File.Move(temporary, FilePath, overwrite: true);
    }
}
