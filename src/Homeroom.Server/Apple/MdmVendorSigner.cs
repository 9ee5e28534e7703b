using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Homeroom.Contracts.Apple;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

/// <summary>
/// Signs a district's push certificate CSR with the MDM vendor certificate, into the request Apple's
/// Push Certificates Portal takes: a property list with the CSR (<c>PushCertRequestCSR</c>, base64
/// DER), the vendor's chain up to Apple's root (<c>PushCertCertificateChain</c>, PEM) and the vendor's
/// SHA-256 RSA signature of the CSR (<c>PushCertSignature</c>, base64), the whole list base64-encoded.
/// </summary>
public sealed class MdmVendorSigner(IOptions<PushCertificateOptions> options)
{
    public bool Configured => !string.IsNullOrEmpty(options.Value.VendorCertificatePath);

    /// <summary>The request file's text (base64 of the property list).</summary>
    public string Sign(byte[] csr)
    {
        var (vendor, chain) = Load();
        using (vendor)
        {
            using var key = vendor.GetRSAPrivateKey()
                ?? throw new PushCertificateException("The MDM vendor certificate has no RSA private key.", StatusCodes.Status500InternalServerError);
            var signature = key.SignData(csr, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var pem = new StringBuilder(vendor.ExportCertificatePem()).Append('\n');
            foreach (var certificate in chain)
            {
                pem.Append(certificate.ExportCertificatePem()).Append('\n');
                certificate.Dispose();
            }

            var request = new Dictionary<string, object>
            {
                ["PushCertRequestCSR"] = Convert.ToBase64String(csr),
                ["PushCertCertificateChain"] = pem.ToString(),
                ["PushCertSignature"] = Convert.ToBase64String(signature),
            };
            return Convert.ToBase64String(PropertyList.WriteXml(request));
        }
    }

    // The vendor certificate with its key, and the other certificates of its chain (from its own file and the chain file), vendor first.
    private (X509Certificate2 Vendor, List<X509Certificate2> Chain) Load()
    {
        var path = options.Value.VendorCertificatePath!;
        try
        {
            X509Certificate2 vendor;
            var others = new X509Certificate2Collection();
            if (path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase))
            {
                var all = X509CertificateLoader.LoadPkcs12CollectionFromFile(path, options.Value.VendorCertificatePassword, X509KeyStorageFlags.EphemeralKeySet);
                vendor = all.FirstOrDefault(c => c.HasPrivateKey) ?? throw new PushCertificateException("The MDM vendor .p12 holds no certificate with its private key.", StatusCodes.Status500InternalServerError);
                others.AddRange(all.Where(c => !ReferenceEquals(c, vendor)).ToArray());
            }
            else
            {
                vendor = X509Certificate2.CreateFromPemFile(path);
                others.ImportFromPemFile(path);
            }

            if (options.Value.VendorChainPath is { Length: > 0 } chainPath)
            {
                others.ImportFromPemFile(chainPath);
            }

            var seen = new HashSet<string>(StringComparer.Ordinal) { vendor.Thumbprint };
            var chain = others.Where(c => seen.Add(c.Thumbprint)).ToList();
            return (vendor, chain);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new PushCertificateException($"The MDM vendor certificate ({PushCertificateOptions.Section}:VendorCertificatePath) could not be read: {e.GetType().Name}.", StatusCodes.Status500InternalServerError);
        }
    }
}
