using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

/// <summary>
/// Finds which identity certificate signed an MDM request: the <c>Mdm-Signature</c> header (a
/// detached CMS signature of the body, base64) verified against the body, or a certificate passed
/// by a trusted TLS-terminating proxy. The answer is the certificate's SHA-256 thumbprint, which the
/// device's record is bound to at enrollment, so one device cannot speak for another.
/// </summary>
public sealed class MdmIdentity(IOptions<AppleOptions> options, DeviceCertificateAuthority authority, TimeProvider time)
{
    public const string SignatureHeader = "Mdm-Signature";

    /// <summary>The signer's thumbprint, or null with a reason.</summary>
    public string? Identify(HttpRequest request, byte[] body, out string? error)
    {
        error = null;
        if (options.Value.ClientCertificateHeader is { Length: > 0 } header)
        {
            var passed = request.Headers[header].ToString();
            try
            {
                using var certificate = passed.Contains("BEGIN CERTIFICATE", StringComparison.Ordinal)
                    ? X509Certificate2.CreateFromPem(Uri.UnescapeDataString(passed))
                    : X509CertificateLoader.LoadCertificate(Convert.FromBase64String(passed));
                return Accept(certificate, out error);
            }
            catch (Exception e) when (e is CryptographicException or FormatException or ArgumentException)
            {
                error = "The client certificate from the proxy could not be read.";
                return null;
            }
        }

        var signature = request.Headers[SignatureHeader].ToString();
        if (signature.Length == 0)
        {
            error = "The request is not signed (Mdm-Signature).";
            return null;
        }

        if (signature.Length > options.Value.MaxSignatureBytes)
        {
            error = $"The Mdm-Signature is longer than {options.Value.MaxSignatureBytes} characters.";
            return null;
        }

        try
        {
            var cms = new SignedCms(new ContentInfo(body), detached: true);
            cms.Decode(Convert.FromBase64String(signature));
            if (cms.SignerInfos.Count != 1 || cms.SignerInfos[0].Certificate is not { } signer)
            {
                error = "The signature must have exactly one signer with its certificate.";
                return null;
            }

            cms.CheckSignature(verifySignatureOnly: true);
            return Accept(signer, out error);
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            error = "The Mdm-Signature does not verify against the request body.";
            return null;
        }
    }

    public static string Thumbprint(X509Certificate2 certificate) => certificate.GetCertHashString(HashAlgorithmName.SHA256);

    // Only identities Homeroom issued (in an enrollment profile) are accepted.
    private string? Accept(X509Certificate2 certificate, out string? error)
    {
        if (!authority.Issued(certificate, time.GetUtcNow()))
        {
            error = "The identity certificate was not issued by this server or has expired.";
            return null;
        }

        error = null;
        return Thumbprint(certificate);
    }
}
