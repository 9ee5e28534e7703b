using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.AppleSchoolManager;

/// <summary>A device as Apple's device assignment service describes it.</summary>
public sealed record AppleDepDevice(
    [property: JsonPropertyName("serial_number")] string? SerialNumber,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("description")] string? Description,
    [property: JsonPropertyName("color")] string? Color,
    [property: JsonPropertyName("device_family")] string? DeviceFamily,
    [property: JsonPropertyName("os")] string? Os,
    [property: JsonPropertyName("profile_status")] string? ProfileStatus,
    [property: JsonPropertyName("profile_uuid")] string? ProfileUuid,
    [property: JsonPropertyName("profile_assign_time")] DateTime? ProfileAssignTime,
    [property: JsonPropertyName("device_assigned_date")] DateTime? DeviceAssignedDate,
    [property: JsonPropertyName("op_type")] string? OpType,
    [property: JsonPropertyName("op_date")] DateTime? OpDate);

/// <summary>One page of a fetch or a sync.</summary>
public sealed record AppleDevicePage(
    [property: JsonPropertyName("devices")] List<AppleDepDevice>? Devices,
    [property: JsonPropertyName("cursor")] string? Cursor,
    [property: JsonPropertyName("more_to_follow")] bool MoreToFollow,
    [property: JsonPropertyName("fetched_until")] DateTime? FetchedUntil);

/// <summary>The enrollment profile as Apple takes it (<c>POST /profile</c>).</summary>
public sealed record AppleDepProfile(
    [property: JsonPropertyName("profile_name")] string ProfileName,
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("is_supervised")] bool IsSupervised,
    [property: JsonPropertyName("is_mandatory")] bool IsMandatory,
    [property: JsonPropertyName("is_mdm_removable")] bool IsMdmRemovable,
    [property: JsonPropertyName("await_device_configured")] bool AwaitDeviceConfigured,
    [property: JsonPropertyName("department")] string? Department,
    [property: JsonPropertyName("support_phone_number")] string? SupportPhoneNumber,
    [property: JsonPropertyName("skip_setup_items")] IReadOnlyList<string> SkipSetupItems);

/// <summary>
/// Apple's device assignment service (automated device enrollment) with a server token: an OAuth
/// 1.0a-signed <c>GET /session</c> gives the <c>X-ADM-Auth-Session</c> token every other call carries
/// (a new one on 401, and Apple's replacement taken from each answer); devices are fetched and synced
/// page by page with Apple's cursor; the enrollment profile is defined and assigned to serial numbers.
/// </summary>
public sealed class DeviceAssignmentClient(AppleHttp http, IOptions<AppleSchoolManagerOptions> options, TimeProvider time, ILogger<DeviceAssignmentClient> logger)
{
    private readonly SemaphoreSlim _sessionLock = new(1, 1);
    private string? _session;
    private string? _sessionFor;

    private Uri Url(string path) => new(options.Value.DeviceServiceUrl.TrimEnd('/') + path);

    /// <summary>A full fetch page (<c>POST /server/devices</c>); start with no cursor.</summary>
    public Task<AppleDevicePage> FetchAsync(ServerToken token, string? cursor, CancellationToken cancellationToken) =>
        CallAsync<AppleDevicePage>(token, HttpMethod.Post, "/server/devices", new { limit = options.Value.PageSize, cursor }, cancellationToken);

    /// <summary>A sync page (<c>POST /devices/sync</c>): what changed since the cursor.</summary>
    public Task<AppleDevicePage> SyncAsync(ServerToken token, string cursor, CancellationToken cancellationToken) =>
        CallAsync<AppleDevicePage>(token, HttpMethod.Post, "/devices/sync", new { limit = options.Value.PageSize, cursor }, cancellationToken);

    /// <summary>Defines an enrollment profile (<c>POST /profile</c>) and returns its uuid.</summary>
    public async Task<string> DefineProfileAsync(ServerToken token, AppleDepProfile profile, CancellationToken cancellationToken)
    {
        var answer = await CallAsync<ProfileAnswer>(token, HttpMethod.Post, "/profile", profile, cancellationToken);
        return answer.ProfileUuid is { Length: > 0 and <= 200 } uuid ? uuid : throw new AppleServiceException(AppleFailure.Malformed, "Apple's answer to the profile has no profile_uuid.");
    }

    /// <summary>Assigns a profile to serial numbers (<c>PUT /profile/devices</c>); Apple's result per serial (SUCCESS, NOT_ACCESSIBLE, FAILED).</summary>
    public async Task<IReadOnlyDictionary<string, string>> AssignProfileAsync(ServerToken token, string profileUuid, IReadOnlyList<string> serials, CancellationToken cancellationToken)
    {
        var answer = await CallAsync<AssignAnswer>(token, HttpMethod.Put, "/profile/devices", new { profile_uuid = profileUuid, devices = serials }, cancellationToken);
        return answer.Devices ?? throw new AppleServiceException(AppleFailure.Malformed, "Apple's answer to the profile assignment has no devices.");
    }

    private async Task<T> CallAsync<T>(ServerToken token, HttpMethod method, string path, object body, CancellationToken cancellationToken)
    {
        for (var fresh = 0; ; fresh++)
        {
            var session = await SessionAsync(token, renew: fresh > 0, cancellationToken);
            var answer = await http.SendAsync(() =>
            {
                var request = new HttpRequestMessage(method, Url(path)) { Content = JsonContent.Create(body, options: AppleJson.Options) };
                request.Headers.Add("X-Server-Protocol-Version", "3");
                request.Headers.Add("X-ADM-Auth-Session", session);
                return request;
            }, cancellationToken);
            if (answer.Status == HttpStatusCode.Unauthorized)
            {
                if (fresh == 0)
                {
                    AppleSchoolManagerLog.SessionRenewed(logger, path);
                    continue;
                }

                throw new AppleServiceException(AppleFailure.Unauthorized, "Apple refused a new session's token: check the server token.");
            }

            if (answer.Headers.TryGetValues("X-ADM-Auth-Session", out var replaced) && replaced.FirstOrDefault() is { Length: > 0 and <= 4096 } next)
            {
                _session = next;
            }

            if (!answer.Ok)
            {
                var text = answer.Text.Trim();
                var code = text.Length <= 100 ? text.Trim('"') : text[..100];
                if (code.Contains("EXPIRED_CURSOR", StringComparison.Ordinal) || code.Contains("INVALID_CURSOR", StringComparison.Ordinal))
                {
                    throw new AppleServiceException(AppleFailure.ExpiredCursor, $"Apple no longer knows the sync cursor ({code}).", code);
                }

                throw new AppleServiceException(AppleFailure.Refused, $"Apple refused {method} {path} ({(int)answer.Status} {code}).", code);
            }

            return answer.Json<T>($"{method} {path}");
        }
    }

    private async Task<string> SessionAsync(ServerToken token, bool renew, CancellationToken cancellationToken)
    {
        await _sessionLock.WaitAsync(cancellationToken);
        try
        {
            if (!renew && _session is not null && _sessionFor == token.AccessToken)
            {
                return _session;
            }

            var url = Url("/session");
            var answer = await http.SendAsync(() =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.TryAddWithoutValidation("Authorization", OAuth1.Header("GET", url, token, time.GetUtcNow(), Convert.ToHexString(RandomNumberGenerator.GetBytes(16))));
                return request;
            }, cancellationToken);
            if (answer.Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                throw new AppleServiceException(AppleFailure.Unauthorized,
                    $"Apple refused the server token ({(int)answer.Status} {Clip(answer.Text)}): it may have expired, been revoked or replaced; upload a new one.");
            }

            if (!answer.Ok)
            {
                throw new AppleServiceException(AppleFailure.Refused, $"Apple refused the session ({(int)answer.Status} {Clip(answer.Text)}).");
            }

            var session = answer.Json<SessionAnswer>("GET /session").AuthSessionToken;
            if (session is not { Length: > 0 and <= 4096 })
            {
                throw new AppleServiceException(AppleFailure.Malformed, "Apple's session answer has no auth_session_token.");
            }

            (_session, _sessionFor) = (session, token.AccessToken);
            return session;
        }
        finally
        {
            _sessionLock.Release();
        }
    }

    private static string Clip(string text) => text.Length <= 100 ? text : text[..100];

    private sealed record SessionAnswer([property: JsonPropertyName("auth_session_token")] string? AuthSessionToken);

    private sealed record ProfileAnswer([property: JsonPropertyName("profile_uuid")] string? ProfileUuid);

    private sealed record AssignAnswer(
        [property: JsonPropertyName("profile_uuid")] string? ProfileUuid,
        [property: JsonPropertyName("devices")] Dictionary<string, string>? Devices);
}

/// <summary>
/// OAuth 1.0a (RFC 5849) request signing with HMAC-SHA1, as Apple's <c>GET /session</c> requires: the
/// consumer key and access token of the server token, signed with its consumer and access secrets.
/// </summary>
public static class OAuth1
{
    public static string Header(string method, Uri url, ServerToken token, DateTimeOffset now, string nonce)
    {
        var parameters = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["oauth_consumer_key"] = token.ConsumerKey,
            ["oauth_nonce"] = nonce,
            ["oauth_signature_method"] = "HMAC-SHA1",
            ["oauth_timestamp"] = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            ["oauth_token"] = token.AccessToken,
            ["oauth_version"] = "1.0",
        };
        parameters["oauth_signature"] = Signature(method, url, parameters, token.ConsumerSecret, token.AccessSecret);
        return "OAuth realm=\"ADM\", " + string.Join(", ", parameters.Select(p => $"{p.Key}=\"{Encode(p.Value)}\""));
    }

    /// <summary>The signature of a request: HMAC-SHA1 of its base string with the two secrets as key.</summary>
    public static string Signature(string method, Uri url, IEnumerable<KeyValuePair<string, string>> parameters, string consumerSecret, string tokenSecret)
    {
        var normalized = string.Join("&", parameters
            .Where(p => p.Key != "oauth_signature")
            .Select(p => (Key: Encode(p.Key), Value: Encode(p.Value)))
            .OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => p.Key + "=" + p.Value));
        var baseUrl = url.GetLeftPart(UriPartial.Path);
        var baseString = $"{method.ToUpperInvariant()}&{Encode(baseUrl)}&{Encode(normalized)}";
        var key = Encoding.ASCII.GetBytes(Encode(consumerSecret) + "&" + Encode(tokenSecret));
#pragma warning disable CA5350 // OAuth 1.0a as Apple's device assignment service speaks it is HMAC-SHA1; not our choice
        return Convert.ToBase64String(HMACSHA1.HashData(key, Encoding.ASCII.GetBytes(baseString)));
#pragma warning restore CA5350
    }

    /// <summary>RFC 3986 percent-encoding (unreserved characters kept), as OAuth 1.0a requires.</summary>
    public static string Encode(string value) => Uri.EscapeDataString(value);
}
