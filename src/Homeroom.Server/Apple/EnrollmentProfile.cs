using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Homeroom.Contracts.Apple;
using Homeroom.Rules.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

/// <summary>
/// The enrollment profile (<c>.mobileconfig</c>) an iPad or Mac installs to enroll: an MDM payload
/// pointing at this server (its check-in URL carries the enrollment token) and a device identity
/// issued for this download, in a PKCS#12 payload. <c>GET /mdm/enroll?token=...</c>; the token is
/// checked but not spent until the device checks in. Each token may download
/// <see cref="AppleOptions.EnrollmentProfilesPerTokenPerMinute"/> profiles a minute (429 above), on top
/// of the per-address enrollment limit, so one token holder cannot keep the server minting identities.
/// </summary>
public static class EnrollmentProfile
{
    public const string Path = "/mdm/enroll";
    public const string ContentType = "application/x-apple-aspen-config";

    public static IEndpointRouteBuilder MapEnrollmentProfile(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, DownloadAsync).AllowAnonymous().RequireRateLimiting(Agents.AgentEndpoints.EnrollRateLimit).WithTags("Apple")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-apple-aspen-config")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithDescription("The enrollment profile (.mobileconfig) for an enrollment token; open it on the iPad or Mac to enroll.");
        return app;
    }

    private static async Task<IResult> DownloadAsync(
        string? token, HttpContext context, HomeroomDbContext db, DeviceCertificateAuthority authority, EnrollmentProfileLimiter limiter, PushCertificateStore push,
        IOptions<AppleOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 200)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "An enrollment token is required.");
        }

        var hash = Secrets.Hash(token);
        var record = await db.EnrollmentTokens.AsNoTracking().FirstOrDefaultAsync(t => t.SecretHash == hash, cancellationToken);
        var now = time.GetUtcNow();
        if (record is null || EnrollmentTokenRules.Check(new TokenState(record.ExpiresAt, record.MaxUses, record.UseCount, record.RevokedAt), now.UtcDateTime) != TokenVerdict.Usable)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "The enrollment token is not usable.");
        }

        if (limiter.TryAcquire(record.Id) is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many enrollment profiles",
                detail: $"This enrollment token may download {options.Value.EnrollmentProfilesPerTokenPerMinute} enrollment profiles a minute; try again in {Math.Ceiling(retryAfter.TotalSeconds)} seconds.");
        }

        var baseUrl = options.Value.PublicUrl?.TrimEnd('/') ?? $"{context.Request.Scheme}://{context.Request.Host}";
        var profile = Build(record.Id, record.Name, token, baseUrl, authority, push.Topic, options.Value.Organization, now);
        context.Response.Headers.ContentDisposition = "attachment; filename=\"homeroom-enroll.mobileconfig\"";
        return Results.Bytes(profile, ContentType);
    }

    /// <summary>
    /// The profile for an enrollment token: a newly issued device identity and the MDM payload whose
    /// check-in URL carries the token. Also what automated device enrollment hands an ADE device.
    /// </summary>
    public static byte[] Build(Guid tokenId, string tokenName, string token, string baseUrl, DeviceCertificateAuthority authority, string topic, string organization, DateTimeOffset now)
    {
        using var identity = authority.Issue("Homeroom device " + Guid.NewGuid().ToString("N")[..12], now);
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        var identityUuid = Guid.NewGuid().ToString().ToUpperInvariant();
        var profile = new Dictionary<string, object>
        {
            ["PayloadType"] = "Configuration",
            ["PayloadVersion"] = 1L,
            ["PayloadIdentifier"] = $"org.homeroom.enrollment.{tokenId}",
            ["PayloadUUID"] = Guid.NewGuid().ToString().ToUpperInvariant(),
            ["PayloadDisplayName"] = $"Homeroom: {tokenName}",
            ["PayloadDescription"] = "Enrolls this device in the school's Homeroom device management.",
            ["PayloadOrganization"] = organization,
            ["PayloadScope"] = "System",
            ["PayloadContent"] = new List<object>
            {
                new Dictionary<string, object>
                {
                    ["PayloadType"] = "com.apple.security.pkcs12",
                    ["PayloadVersion"] = 1L,
                    ["PayloadIdentifier"] = $"org.homeroom.enrollment.{tokenId}.identity",
                    ["PayloadUUID"] = identityUuid,
                    ["PayloadDisplayName"] = "Device identity",
                    ["PayloadContent"] = identity.Export(X509ContentType.Pkcs12, password),
                    ["Password"] = password,
                },
                new Dictionary<string, object>
                {
                    ["PayloadType"] = "com.apple.mdm",
                    ["PayloadVersion"] = 1L,
                    ["PayloadIdentifier"] = $"org.homeroom.enrollment.{tokenId}.mdm",
                    ["PayloadUUID"] = Guid.NewGuid().ToString().ToUpperInvariant(),
                    ["PayloadDisplayName"] = "Device management",
                    ["IdentityCertificateUUID"] = identityUuid,
                    ["Topic"] = topic,
                    ["ServerURL"] = baseUrl + MdmEndpoints.ConnectPath,
                    ["CheckInURL"] = $"{baseUrl}{MdmEndpoints.CheckInPath}?enroll={Uri.EscapeDataString(token)}",
                    ["SignMessage"] = true,
                    ["CheckOutWhenRemoved"] = true,
                    ["AccessRights"] = 8191L,
                    ["ServerCapabilities"] = new List<object> { "com.apple.mdm.per-user-connections" },
                },
            },
        };
        return PropertyList.WriteXml(profile);
    }
}

/// <summary>
/// Counts enrollment-profile downloads per enrollment token in one-minute windows (only tokens that
/// exist and are usable are counted, so the table holds at most one entry per real token).
/// </summary>
public sealed class EnrollmentProfileLimiter(IOptions<AppleOptions> options, TimeProvider time, ILogger<EnrollmentProfileLimiter> logger)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly Dictionary<Guid, (DateTime Start, int Count)> _windows = [];
    private readonly Lock _lock = new();

    /// <summary>Null when the download may go ahead (and is counted); otherwise how long until the token's window ends.</summary>
    public TimeSpan? TryAcquire(Guid tokenId)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var limit = options.Value.EnrollmentProfilesPerTokenPerMinute;
        lock (_lock)
        {
            if (_windows.Count > 10_000)
            {
                foreach (var stale in _windows.Where(w => now - w.Value.Start >= Window).Select(w => w.Key).ToList())
                {
                    _windows.Remove(stale);
                }
            }

            var window = _windows.TryGetValue(tokenId, out var current) && now - current.Start < Window ? current : (Start: now, Count: 0);
            if (window.Count >= limit)
            {
                if (window.Count == limit)
                {
                    AppleLog.ProfileDownloadsLimited(logger, tokenId, limit); // once a window, not per refused request
                    _windows[tokenId] = (window.Start, limit + 1);
                }

                return window.Start + Window - now;
            }

            _windows[tokenId] = (window.Start, window.Count + 1);
            return null;
        }
    }
}
