using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

/// <summary>The push certificate's state: none yet, in use, or expired; with the warning staff must act on.</summary>
public sealed record PushCertificateStatusDto(
    string State,
    string? Topic,
    string? Subject,
    DateTime? NotBefore,
    DateTime? ExpiresAt,
    int? DaysLeft,
    string? Warning,
    DateTime? RequestWaitingSince,
    bool VendorConfigured);

/// <summary>A new request: the CSR, and when the vendor certificate is configured, the signed file for Apple's portal.</summary>
public sealed record PushCertificateRequestDto(
    string Csr,
    string? PortalRequest,
    string PortalRequestFileName,
    string PortalUrl,
    bool Renewal,
    IReadOnlyList<string> Steps);

/// <summary>
/// The MDM push certificate, step by step: request (new key and CSR, signed with the vendor
/// certificate), Apple's portal, import (checked against the key and, on renewal, the topic), and its
/// status with a warning from <see cref="PushCertificateOptions.ExpiryWarning"/> before expiry. Only
/// district administrators manage it: it is the district's one identity towards Apple.
/// </summary>
public sealed class ApplePushCertificate(
    PushCertificateStore store,
    MdmVendorSigner vendor,
    IDbContextFactory<HomeroomDbContext> dbFactory,
    AuditTrail audit,
    IOptions<PushCertificateOptions> options,
    IOptions<AppleOptions> apple,
    TimeProvider time)
{
    public const string PortalUrl = "https://identity.apple.com";

    public PushCertificateStatusDto Status(StaffScope scope)
    {
        scope.EnsureCan(Permission.ManageApple);
        var now = time.GetUtcNow().UtcDateTime;
        var info = store.Info;
        if (info is null)
        {
            return new PushCertificateStatusDto("none", null, null, null, null, null,
                "No MDM push certificate is imported: Apple devices get their commands only when they check in by themselves.", store.PendingSince, vendor.Configured);
        }

        var daysLeft = (int)Math.Floor((info.NotAfter - now).TotalDays);
        var warning = Warning(info, now, options.Value.ExpiryWarning);
        return new PushCertificateStatusDto(now >= info.NotAfter ? "expired" : "active", info.Topic, info.Subject, info.NotBefore, info.NotAfter, daysLeft, warning, store.PendingSince, vendor.Configured);
    }

    /// <summary>The warning for a certificate at <paramref name="now"/>, or null when it has longer than <paramref name="window"/> to run.</summary>
    public static string? Warning(PushCertificateInfo info, DateTime now, TimeSpan window)
    {
        if (now >= info.NotAfter)
        {
            return $"The MDM push certificate expired on {info.NotAfter:yyyy-MM-dd}: Apple devices cannot be woken. Renew it in Apple's portal with the same Apple ID (Renew, not Create) and import it.";
        }

        return now >= info.NotAfter - window
            ? $"The MDM push certificate expires on {info.NotAfter:yyyy-MM-dd} ({(int)Math.Floor((info.NotAfter - now).TotalDays)} days). Renew it in Apple's portal with the same Apple ID (Renew, not Create) so its topic stays {info.Topic}."
            : null;
    }

    public async Task<PushCertificateRequestDto> CreateRequestAsync(StaffScope scope, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageApple);
        var renewal = store.Info is not null;
        var csr = store.CreateSigningRequest(apple.Value.Organization, time.GetUtcNow());
        var signed = vendor.Configured ? vendor.Sign(csr) : null;
        await AuditAsync("apple.push-certificate.request", renewal ? $"renewal of {store.Info!.Topic}" : "first certificate", cancellationToken);
        var csrPem = PemEncoding.WriteString("CERTIFICATE REQUEST", csr);
        List<string> steps =
        [
            signed is null
                ? "Send the CSR to your MDM vendor to be signed; they return a request file (.b64 or .plist)."
                : "Save portalRequest as a file (for example homeroom-push-request.b64).",
            $"Sign in to {PortalUrl} (Apple Push Certificates Portal) with the district's Apple ID.",
            renewal
                ? $"Find the certificate with topic {store.Info!.Topic}, choose Renew and upload the file. Do not create a new certificate: its topic would differ and Homeroom refuses it."
                : "Choose Create a Certificate, accept the terms and upload the file.",
            "Download the certificate Apple returns (.pem) and import it: PUT /api/apple/push-certificate with the file as the body.",
        ];
        return new PushCertificateRequestDto(csrPem, signed, "homeroom-push-request.b64", PortalUrl, renewal, steps);
    }

    public async Task<PushCertificateStatusDto> ImportAsync(StaffScope scope, byte[] upload, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageApple);
        using var certificate = Parse(upload);
        var info = store.Import(certificate, time.GetUtcNow());
        await AuditAsync("apple.push-certificate.import", $"topic {info.Topic}, expires {info.NotAfter:yyyy-MM-dd}", cancellationToken);
        return Status(scope);
    }

    private static X509Certificate2 Parse(byte[] upload)
    {
        try
        {
            var text = Encoding.ASCII.GetString(upload);
            return text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)
                ? X509Certificate2.CreateFromPem(text)
                : X509CertificateLoader.LoadCertificate(upload);
        }
        catch (CryptographicException)
        {
            throw new PushCertificateException("The body is not a certificate (PEM or DER, as Apple's portal gives it).", StatusCodes.Status400BadRequest);
        }
    }

    private async Task AuditAsync(string action, string details, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        audit.Record(db, action, "apple-push-certificate", null, details);
        await db.SaveChangesAsync(cancellationToken);
    }
}

/// <summary><c>/api/apple/push-certificate</c>: status, a new request, and importing what Apple issued. District administrators only.</summary>
public static class PushCertificateEndpoints
{
    public static IEndpointRouteBuilder MapPushCertificateEndpoints(this IEndpointRouteBuilder app)
    {
        // The district's one identity towards Apple: district administrators only.
        var group = app.MapGroup("/api/apple/push-certificate").WithTags("Apple");
        group.MapGet("/", Status).RequireStaff(Permission.ManageApple)
            .WithDescription("The MDM push certificate: topic, expiry, and a warning from 30 days before it expires.");
        group.MapPost("/request", CreateRequestAsync).RequireStaff(Permission.ManageApple)
            .WithDescription("Makes a new key (kept on the server) and CSR and signs it with the configured MDM vendor certificate into the file Apple's Push Certificates Portal takes.");
        group.MapPut("/", ImportAsync).RequireStaff(Permission.ManageApple)
            .Accepts<Stream>("application/x-pem-file", "application/pkix-cert", "application/x-x509-ca-cert", "application/octet-stream", "text/plain")
            .WithDescription("Imports the certificate Apple issued (.pem or .cer, as the raw body) for the last request; on renewal its topic must be the one in use.");
        return app;
    }

    private static Ok<PushCertificateStatusDto> Status(StaffScope scope, ApplePushCertificate certificates) => TypedResults.Ok(certificates.Status(scope));

    private static async Task<Ok<PushCertificateRequestDto>> CreateRequestAsync(StaffScope scope, ApplePushCertificate certificates, CancellationToken cancellationToken) =>
        TypedResults.Ok(await certificates.CreateRequestAsync(scope, cancellationToken));

    private static async Task<Results<Ok<PushCertificateStatusDto>, ProblemHttpResult>> ImportAsync(
        StaffScope scope, HttpContext context, ApplePushCertificate certificates, IOptions<PushCertificateOptions> options, CancellationToken cancellationToken)
    {
        var limit = options.Value.MaxUploadBytes;

        var upload = await RequestBody.ReadLimitedAsync(context.Request, limit, cancellationToken);
        if (upload is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Too large", detail: $"A certificate is at most {limit / 1024} KB.");
        }

        if (upload.Length == 0)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad request", detail: "Upload the certificate Apple issued (.pem or .cer) as the body.");
        }

        return TypedResults.Ok(await certificates.ImportAsync(scope, upload, cancellationToken));
    }
}
