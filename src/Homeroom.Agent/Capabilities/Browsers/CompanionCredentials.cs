using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Agent.State;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities.Browsers;

/// <summary>The companion credential the agent last obtained, kept in the state directory (readable by the service only).</summary>
/// <param name="DeviceId">The device it was issued for (another device's, after a re-enrollment as another device, is not used).</param>
/// <param name="Credential">The secret written into the extension's managed configuration.</param>
/// <param name="IssuedAt">When the agent obtained it.</param>
/// <param name="ExpiresAt">When the server stops enrolling extensions with it.</param>
public sealed record CompanionCredential(Guid DeviceId, string Credential, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);

/// <summary>
/// The device's companion credential (docs/agent-protocol.md, "Companion credential"): obtained from the server with the
/// device's own credential (<c>POST /agent/v1/companion</c>) while the policy gives the browsers the Homeroom extension,
/// renewed once half its life has passed, and given back (<c>DELETE</c>, which revokes the extensions enrolled with it)
/// once the policy no longer does. It is what the agent writes into the extension's managed configuration in place of a
/// district enrollment token (<see cref="BrowserPolicyContent.WithCompanion"/>).
/// </summary>
public sealed class CompanionCredentials(AgentPaths paths, HttpClient http, TimeProvider time)
{
    /// <summary>The longest credential taken from the server; a longer answer is refused as garbage.</summary>
    public const int MaxCredentialLength = 256;

    private readonly SemaphoreSlim _gate = new(1, 1);

    private string File => Path.Combine(paths.StateDirectory, "companion.json");

    /// <summary>The kept credential for <paramref name="deviceId"/> while it has not expired (without asking the server), else null.</summary>
    public CompanionCredential? Cached(Guid? deviceId)
    {
        var kept = Load();
        return kept is not null && kept.DeviceId == deviceId && kept.ExpiresAt > time.GetUtcNow() ? kept : null;
    }

    /// <summary>
    /// The credential to write: the kept one while less than half its life has passed, else a new one from the server.
    /// Throws <see cref="HttpRequestException"/> (or <see cref="TaskCanceledException"/>) when the server cannot give one.
    /// </summary>
    public async Task<CompanionCredential> EnsureAsync(AgentSecrets secrets, CancellationToken cancellationToken)
    {
        // One at a time: two requests racing would leave the file holding the credential the server replaced.
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await ObtainAsync(secrets, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Whether <see cref="EnsureAsync"/> would ask the server (none kept for this device, or half its life gone).</summary>
    public bool Due(Guid? deviceId) =>
        Cached(deviceId) is not { } kept || time.GetUtcNow() >= kept.IssuedAt + ((kept.ExpiresAt - kept.IssuedAt) / 2);

    private async Task<CompanionCredential> ObtainAsync(AgentSecrets secrets, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (!Due(secrets.DeviceId) && Cached(secrets.DeviceId) is { } kept)
        {
            return kept;
        }

        using var request = AgentProtocol.CompanionRequest(secrets.Server, HttpMethod.Post, secrets.DeviceId!.Value, secrets.Credential!);
        using var response = await http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        var answer = await response.Content.ReadFromJsonAsync(AgentJsonContext.Default.CompanionCredentialResponse, cancellationToken);
        if (answer is not { Credential: { Length: > 0 and <= MaxCredentialLength } credential }
            || !credential.StartsWith(AgentProtocol.CompanionCredentialPrefix, StringComparison.Ordinal)
            || credential.Any(c => c is '"' or '\\' || char.IsControl(c) || char.IsWhiteSpace(c))
            || answer.ExpiresAt <= now)
        {
            throw new HttpRequestException("the server answered no usable companion credential");
        }

        var fresh = new CompanionCredential(secrets.DeviceId.Value, credential, now, answer.ExpiresAt);
        AgentPaths.WriteAtomically(File, JsonSerializer.SerializeToUtf8Bytes(fresh, CompanionJsonContext.Default.CompanionCredential));
        return fresh;
    }

    /// <summary>
    /// Gives the credential back when one is kept: the server revokes it and the extensions enrolled with it. The kept
    /// file is removed once the server said so (or the device is not enrolled any more); true when nothing is left to do.
    /// </summary>
    public async Task<bool> ReleaseAsync(AgentSecrets? secrets, CancellationToken cancellationToken)
    {
        if (!System.IO.File.Exists(File))
        {
            return true;
        }

        if (secrets is { DeviceId: { } id, Credential: { } credential } && Load()?.DeviceId == id)
        {
            using var request = AgentProtocol.CompanionRequest(secrets.Server, HttpMethod.Delete, id, credential);
            using var response = await http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode && response.StatusCode != System.Net.HttpStatusCode.Unauthorized)
            {
                return false; // asked again at the next policy or start
            }
        }

        System.IO.File.Delete(File);
        return true;
    }

    private CompanionCredential? Load()
    {
        try
        {
            return System.IO.File.Exists(File) ? JsonSerializer.Deserialize(System.IO.File.ReadAllBytes(File), CompanionJsonContext.Default.CompanionCredential) : null;
        }
        catch (JsonException)
        {
            return null; // a new one is asked for
        }
    }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(CompanionCredential))]
internal sealed partial class CompanionJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
