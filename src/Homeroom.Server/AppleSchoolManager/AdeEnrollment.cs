using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using Homeroom.Contracts.Apple;
using Homeroom.Rules.Enrollment;
using Homeroom.Server.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.AppleSchoolManager;

/// <summary>
/// <c>POST /mdm/ade/enroll</c>: where an iPad or Mac in Setup Assistant asks for its enrollment profile
/// (the URL of the profile defined at Apple). The device sends a CMS-signed property list (SERIAL, UDID,
/// PRODUCT, VERSION). What is checked here: the CMS signature is valid for the certificate inside it
/// (that certificate's chain to Apple's device CA cannot be checked without Apple's root, so it is not
/// trusted for anything else), and the serial number is one Apple School Manager assigned to this
/// server and has not deleted. The answer is the same profile a manual enrollment downloads
/// (<see cref="EnrollmentProfile.Build"/>), with the district's ADE enrollment token; a device that
/// enrolls with that token is marked supervised (<see cref="IsAutomatedEnrollmentTokenAsync"/>).
/// </summary>
public static class AdeEnrollment
{
    public static IEndpointRouteBuilder MapAdeEnrollment(this IEndpointRouteBuilder app)
    {
        app.MapPost(AdeSync.EnrollPath, EnrollAsync).AllowAnonymous().RequireRateLimiting(Agents.AgentEndpoints.EnrollRateLimit).WithTags("Apple")
            .Accepts<Stream>("application/pkcs7-signature", "application/octet-stream")
            .Produces(StatusCodes.Status200OK, contentType: EnrollmentProfile.ContentType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            // A body of another type matches no endpoint, and the server's fallback answers that 401.
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests).ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithDescription("Automated device enrollment: a device in Setup Assistant posts its CMS-signed device information and gets its enrollment profile.");
        return app;
    }

    /// <summary>Whether an enrollment token is the district's automated-enrollment one (devices enrolling with it are supervised).</summary>
    public static Task<bool> IsAutomatedEnrollmentTokenAsync(HomeroomDbContext db, Guid tokenId, CancellationToken cancellationToken) =>
        db.Set<AsmSettings>().AnyAsync(s => s.EnrollmentTokenId == tokenId, cancellationToken);

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> EnrollAsync(
        HttpContext context, IDbContextFactory<HomeroomDbContext> dbFactory, AsmTokenVault vault, DeviceCertificateAuthority authority, PushCertificateStore push,
        IOptions<AppleOptions> apple, IOptions<AppleSchoolManagerOptions> options, TimeProvider time, ILogger<AdeSync> logger, CancellationToken cancellationToken)
    {
        var limit = options.Value.MaxDeviceRequestBytes;

        var body = await RequestBody.ReadLimitedAsync(context.Request, limit, cancellationToken);
        if (body is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Too large", detail: $"The device information is at most {limit / 1024} KB.");
        }

        Dictionary<string, object> info;
        try
        {
            var signed = new SignedCms();
            signed.Decode(body);
            signed.CheckSignature(verifySignatureOnly: true);
            info = PropertyList.ReadDictionary(signed.ContentInfo.Content, PropertyListLimits.ForDocument(limit));
        }
        catch (Exception e) when (e is CryptographicException or PropertyListException)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad request", detail: "The body must be the device's CMS-signed device information (a property list).");
        }

        if (info.GetValueOrDefault("SERIAL") is not string { Length: > 0 and <= 64 } serial)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad request", detail: "The device information has no SERIAL.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var settings = await db.Set<AsmSettings>().Where(s => s.Id == AsmSettings.SingletonId).AsNoTracking().FirstOrDefaultAsync(cancellationToken);
        var token = settings?.EnrollmentTokenId is { } tokenId ? await db.EnrollmentTokens.AsNoTracking().FirstOrDefaultAsync(t => t.Id == tokenId, cancellationToken) : null;
        if (settings?.EnrollmentSecret is null || token is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not set up", detail: "Automated device enrollment is not set up on this server.");
        }

        var now = time.GetUtcNow();
        if (!await db.Set<AdeDevice>().AnyAsync(d => d.Serial == serial && d.OpType != "deleted", cancellationToken))
        {
            AppleSchoolManagerLog.EnrollRefused(logger, serial, "not assigned to this server");
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not assigned",
                detail: "This device is not assigned to this server in Apple School Manager (or the assignment has not been synced yet).");
        }

        if (EnrollmentTokenRules.Check(new TokenState(token.ExpiresAt, token.MaxUses, token.UseCount, token.RevokedAt), now.UtcDateTime) != TokenVerdict.Usable)
        {
            AppleSchoolManagerLog.EnrollRefused(logger, serial, "the automated enrollment token is not usable");
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not usable", detail: "The automated enrollment token is expired or revoked; upload a new server token.");
        }

        var baseUrl = apple.Value.PublicUrl?.TrimEnd('/') ?? $"{context.Request.Scheme}://{context.Request.Host}";
        var profile = EnrollmentProfile.Build(token.Id, token.Name, vault.Unprotect<string>(settings.EnrollmentSecret), baseUrl, authority, push.Topic, apple.Value.Organization, now);
        return TypedResults.File(profile, EnrollmentProfile.ContentType);
    }
}
