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
/// checked but not spent until the device checks in.
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
        string? token, HttpContext context, HomeroomDbContext db, DeviceCertificateAuthority authority, IOptions<AppleOptions> options, TimeProvider time, CancellationToken cancellationToken)
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

        var baseUrl = options.Value.PublicUrl?.TrimEnd('/') ?? $"{context.Request.Scheme}://{context.Request.Host}";
        using var identity = authority.Issue("Homeroom device " + Guid.NewGuid().ToString("N")[..12], now);
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        var identityUuid = Guid.NewGuid().ToString().ToUpperInvariant();
        var profile = new Dictionary<string, object>
        {
            ["PayloadType"] = "Configuration",
            ["PayloadVersion"] = 1L,
            ["PayloadIdentifier"] = $"org.homeroom.enrollment.{record.Id}",
            ["PayloadUUID"] = Guid.NewGuid().ToString().ToUpperInvariant(),
            ["PayloadDisplayName"] = $"Homeroom: {record.Name}",
            ["PayloadDescription"] = "Enrolls this device in the school's Homeroom device management.",
            ["PayloadOrganization"] = options.Value.Organization,
            ["PayloadScope"] = "System",
            ["PayloadContent"] = new List<object>
            {
                new Dictionary<string, object>
                {
                    ["PayloadType"] = "com.apple.security.pkcs12",
                    ["PayloadVersion"] = 1L,
                    ["PayloadIdentifier"] = $"org.homeroom.enrollment.{record.Id}.identity",
                    ["PayloadUUID"] = identityUuid,
                    ["PayloadDisplayName"] = "Device identity",
                    ["PayloadContent"] = identity.Export(X509ContentType.Pkcs12, password),
                    ["Password"] = password,
                },
                new Dictionary<string, object>
                {
                    ["PayloadType"] = "com.apple.mdm",
                    ["PayloadVersion"] = 1L,
                    ["PayloadIdentifier"] = $"org.homeroom.enrollment.{record.Id}.mdm",
                    ["PayloadUUID"] = Guid.NewGuid().ToString().ToUpperInvariant(),
                    ["PayloadDisplayName"] = "Device management",
                    ["IdentityCertificateUUID"] = identityUuid,
                    ["Topic"] = options.Value.PushTopic,
                    ["ServerURL"] = baseUrl + MdmEndpoints.ConnectPath,
                    ["CheckInURL"] = $"{baseUrl}{MdmEndpoints.CheckInPath}?enroll={Uri.EscapeDataString(token)}",
                    ["SignMessage"] = true,
                    ["CheckOutWhenRemoved"] = true,
                    ["AccessRights"] = 8191L,
                    ["ServerCapabilities"] = new List<object> { "com.apple.mdm.per-user-connections" },
                },
            },
        };
        context.Response.Headers.ContentDisposition = "attachment; filename=\"homeroom-enroll.mobileconfig\"";
        return Results.Bytes(PropertyList.WriteXml(profile), ContentType);
    }
}
