using System.Net;
using System.Net.Http.Json;
using Homeroom.Agent.Capabilities;
using Homeroom.Agent.State;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;

namespace Homeroom.Agent.Connection;

/// <summary>How an enrollment ended.</summary>
public enum EnrollOutcome
{
    Enrolled,
    /// <summary>401 or 403: the token is unknown, revoked, expired or used up, or of another school. Nothing helps until the configuration changes.</summary>
    Refused,
    /// <summary>409: already enrolled without proof, or revoked; only an administrator's approval helps.</summary>
    AwaitingApproval,
    /// <summary>The server could not be reached or failed; try again later.</summary>
    Unreachable,
}

/// <summary>Enrolls this device (<c>POST /agent/v1/enroll</c>) and saves the credential in the vault.</summary>
public sealed class AgentEnrollment(HttpClient http, ICredentialVault vault, IInventoryCapability inventory, AgentOptions options)
{
    /// <summary>The largest answer read from the enrollment endpoint.</summary>
    private const int MaxAnswerBytes = 64 * 1024;

    public async Task<(EnrollOutcome Outcome, AgentSecrets Secrets, string? Detail)> EnrollAsync(AgentSecrets secrets, CancellationToken cancellationToken)
    {
        if (secrets.EnrollToken is null)
        {
            return (EnrollOutcome.Refused, secrets, "no enrollment token is configured");
        }

        var facts = inventory.Read();
        var request = new EnrollRequest(
            secrets.EnrollToken, AgentOptions.Platform, facts.Serial, facts.Model, facts.Manufacturer, facts.OsVersion,
            Truncate(options.DeviceName ?? Environment.MachineName, 200), AgentOptions.Version, secrets.Credential);
        try
        {
            using var response = await http.PostAsJsonAsync(new Uri(secrets.Server, AgentProtocol.EnrollPath), request, AgentJsonContext.Default.EnrollRequest, cancellationToken);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.BadRequest)
            {
                return (EnrollOutcome.Refused, secrets, $"{(int)response.StatusCode} {await ReadDetailAsync(response, cancellationToken)}");
            }

            if (response.StatusCode == HttpStatusCode.Conflict)
            {
                return (EnrollOutcome.AwaitingApproval, secrets, await ReadDetailAsync(response, cancellationToken));
            }

            if (!response.IsSuccessStatusCode || response.Content.Headers.ContentLength > MaxAnswerBytes)
            {
                return (EnrollOutcome.Unreachable, secrets, $"the server answered {(int)response.StatusCode}");
            }

            var enrolled = await response.Content.ReadFromJsonAsync(AgentJsonContext.Default.EnrollResponse, cancellationToken);
            if (enrolled is null || enrolled.DeviceId == Guid.Empty || string.IsNullOrEmpty(enrolled.Credential) || enrolled.Credential.Length > 256)
            {
                return (EnrollOutcome.Unreachable, secrets, "the server's answer was not an enrollment");
            }

            var saved = secrets with { DeviceId = enrolled.DeviceId, Credential = enrolled.Credential, Stale = false };
            vault.Save(saved);
            return (EnrollOutcome.Enrolled, saved, null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or System.Text.Json.JsonException or NotSupportedException)
        {
            return (EnrollOutcome.Unreachable, secrets, e.Message);
        }
    }

    private static async Task<string> ReadDetailAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return Truncate(text, 500);
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];
}
