using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Homeroom.Server.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

/// <summary>
/// Homeroom's own certificate authority for Apple device identities. Each enrollment profile carries
/// a fresh identity it issued; devices sign every MDM message with it, and only identities it issued
/// are accepted. The CA key is encrypted with the server's data-protection keys and kept in the
/// <see cref="SecretStore"/>: on SQLite in <c>data/apple/device-ca.bin</c>, only the server's user can read it (back
/// up <c>data/keys</c> with <c>data/apple</c>); on PostgreSQL in the database, one CA for every node.
/// Identities are ECDSA P-256 by default (<see cref="AppleOptions.IdentityKey"/>): generating one
/// costs a fraction of a millisecond, where RSA 2048 costs 100 to 200 ms of CPU per download.
/// </summary>
public sealed class DeviceCertificateAuthority
{
    private readonly X509Certificate2 _certificate;
    private readonly AppleIdentityKey _identityKey;

    public DeviceCertificateAuthority(SecretStore secrets, IDataProtectionProvider protection, IOptions<AppleOptions> options, TimeProvider time)
    {
        _identityKey = options.Value.IdentityKey;
        var protector = protection.CreateProtector("Homeroom.Apple.DeviceCA");
        // Made once: on PostgreSQL two nodes making it at the same time both end with the one stored first.
        var stored = secrets.GetOrAdd(SecretNames.DeviceCa, () =>
        {
            using var key = RSA.Create(3072);
            var request = new CertificateRequest("CN=Homeroom device identity CA, O=Homeroom", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            var now = time.GetUtcNow();
            using var made = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(20));
            return protector.Protect(made.Export(X509ContentType.Pkcs12));
        });
        _certificate = X509CertificateLoader.LoadPkcs12(protector.Unprotect(stored), null, X509KeyStorageFlags.Exportable);
    }

    /// <summary>The CA certificate (public).</summary>
    public X509Certificate2 Certificate => _certificate;

    /// <summary>Issues a device identity (ECDSA P-256 or RSA 2048, client authentication, two years) with its private key.</summary>
    public X509Certificate2 Issue(string subject, DateTimeOffset now)
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        var name = $"CN={subject}, O=Homeroom";
        if (_identityKey == AppleIdentityKey.Rsa2048)
        {
            using var rsa = RSA.Create(2048);
            var rsaRequest = Identity(new CertificateRequest(name, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1), X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment);
            using var rsaIssued = rsaRequest.Create(_certificate, now.AddMinutes(-5), now.AddYears(2), serial);
            return rsaIssued.CopyWithPrivateKey(rsa);
        }

        // The subject key is EC and the CA's is RSA: sign with an explicit RSA generator.
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = Identity(new CertificateRequest(name, ec, HashAlgorithmName.SHA256), X509KeyUsageFlags.DigitalSignature);
        using var caKey = _certificate.GetRSAPrivateKey()!;
        using var issued = request.Create(_certificate.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1), now.AddMinutes(-5), now.AddYears(2), serial);
        return issued.CopyWithPrivateKey(ec);
    }

    private static CertificateRequest Identity(CertificateRequest request, X509KeyUsageFlags usage)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        return request;
    }

    /// <summary>Whether a certificate was issued by this CA and is within its validity.</summary>
    public bool Issued(X509Certificate2 certificate, DateTimeOffset now)
    {
        if (now < certificate.NotBefore || now > certificate.NotAfter)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        return chain.Build(certificate) && chain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(_certificate.RawDataMemory.Span);
    }
}
