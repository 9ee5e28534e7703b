using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Homeroom.Server.Data;
using Microsoft.AspNetCore.DataProtection;

namespace Homeroom.Server.Apple;

/// <summary>
/// Homeroom's own certificate authority for Apple device identities. Each enrollment profile carries
/// a fresh identity it issued; devices sign every MDM message with it, and only identities it issued
/// are accepted. The CA key lives in the data directory, encrypted with the server's data-protection
/// keys (back up <c>data/keys</c> with <c>data/apple</c>).
/// </summary>
public sealed class DeviceCertificateAuthority
{
    private readonly X509Certificate2 _certificate;

    public DeviceCertificateAuthority(DatabaseOptions database, IDataProtectionProvider protection, TimeProvider time)
    {
        var directory = Path.Combine(database.DataDirectory, "apple");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, "device-ca.bin");
        var protector = protection.CreateProtector("Homeroom.Apple.DeviceCA");
        if (File.Exists(file))
        {
            _certificate = X509CertificateLoader.LoadPkcs12(protector.Unprotect(File.ReadAllBytes(file)), null, X509KeyStorageFlags.Exportable);
        }
        else
        {
            using var key = RSA.Create(3072);
            var request = new CertificateRequest("CN=Homeroom device identity CA, O=Homeroom", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            var now = time.GetUtcNow();
            _certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(20));
            File.WriteAllBytes(file, protector.Protect(_certificate.Export(X509ContentType.Pkcs12)));
        }
    }

    /// <summary>The CA certificate (public).</summary>
    public X509Certificate2 Certificate => _certificate;

    /// <summary>Issues a device identity (RSA 2048, client authentication, two years) with its private key.</summary>
    public X509Certificate2 Issue(string subject, DateTimeOffset now)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={subject}, O=Homeroom", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var issued = request.Create(_certificate, now.AddMinutes(-5), now.AddYears(2), serial);
        return issued.CopyWithPrivateKey(key);
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
