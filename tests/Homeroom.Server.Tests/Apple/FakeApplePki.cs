using System.Formats.Asn1;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Apple;

/// <summary>
/// The certificates of Apple's push-certificate flow, made for a test: a root and a "WWDR"
/// intermediate, an MDM vendor certificate under them (written as a .p12 with its chain in a PEM
/// file, as a district would configure them), and a push CA that plays Apple's portal, issuing
/// push certificates for CSRs with a UID topic.
/// </summary>
public sealed class FakeApplePki : IDisposable
{
    public const string VendorPassword = "vendor-secret";
    private readonly RSA _pushCaKey = RSA.Create(2048);
    private readonly X509Certificate2 _pushCa;

    public FakeApplePki()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("homeroom-apple-pki-").FullName;
        using var rootKey = RSA.Create(2048);
        using var root = Ca("CN=Fake Apple Root CA", rootKey, issuer: null);
        using var wwdrKey = RSA.Create(2048);
        using var wwdr = Ca("CN=Fake Apple WWDR CA", wwdrKey, root);
        using var vendorKey = RSA.Create(2048);
        var vendorRequest = new CertificateRequest("CN=MDM Vendor: Homeroom Test District, O=Test", vendorKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var vendorIssued = vendorRequest.Create(wwdr, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1), [7, 7, 7]);
        Vendor = vendorIssued.CopyWithPrivateKey(vendorKey);
        VendorPath = Path.Combine(Directory, "vendor.p12");
        File.WriteAllBytes(VendorPath, Vendor.Export(X509ContentType.Pkcs12, VendorPassword));
        ChainPath = Path.Combine(Directory, "chain.pem");
        File.WriteAllText(ChainPath, wwdr.ExportCertificatePem() + "\n" + root.ExportCertificatePem() + "\n");
        ChainThumbprints = [Vendor.Thumbprint, wwdr.Thumbprint, root.Thumbprint];
        _pushCa = Ca("CN=Fake Apple Application Integration CA", _pushCaKey, issuer: null);
    }

    public string Directory { get; }

    public X509Certificate2 Vendor { get; }

    public string VendorPath { get; }

    public string ChainPath { get; }

    /// <summary>Vendor, intermediate, root: the chain a signed request must carry, in order.</summary>
    public IReadOnlyList<string> ChainThumbprints { get; }

    /// <summary>Host settings that configure this vendor certificate.</summary>
    public string[] VendorSettings =>
    [
        $"Homeroom:Apple:PushCertificate:VendorCertificatePath={VendorPath}",
        $"Homeroom:Apple:PushCertificate:VendorCertificatePassword={VendorPassword}",
        $"Homeroom:Apple:PushCertificate:VendorChainPath={ChainPath}",
    ];

    /// <summary>What Apple's portal does with an uploaded request: a push certificate for the CSR's key, with the topic as the subject's UID.</summary>
    public X509Certificate2 Issue(byte[] csr, string topic, DateTimeOffset notAfter, DateTimeOffset? notBefore = null)
    {
        var request = CertificateRequest.LoadSigningRequest(csr, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default, RSASignaturePadding.Pkcs1);
        return IssueFor(request.PublicKey, topic, notAfter, notBefore);
    }

    public X509Certificate2 IssueFor(PublicKey key, string? topic, DateTimeOffset notAfter, DateTimeOffset? notBefore = null)
    {
        var name = new X500DistinguishedNameBuilder();
        if (topic is not null)
        {
            name.Add("0.9.2342.19200300.100.1.1", topic, UniversalTagNumber.UTF8String);
        }

        name.AddCommonName("APSP:" + Guid.NewGuid());
        name.AddCountryOrRegion("US");
        var request = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        return request.Create(_pushCa, notBefore ?? DateTimeOffset.UtcNow.AddDays(-1), notAfter, RandomNumberGenerator.GetBytes(8));
    }

    /// <summary>Runs the whole flow against a host: a request, "Apple" issues, the import. Returns the issued certificate.</summary>
    public async Task<X509Certificate2> ImportNewAsync(HomeroomHost host, string topic, TimeSpan lifetime)
    {
        var csr = await RequestAsync(host);
        var certificate = Issue(csr, topic, host.Clock.GetUtcNow() + lifetime);
        using var imported = await UploadAsync(host.Client, certificate);
        imported.StatusCode.ShouldBe(HttpStatusCode.OK, await imported.Content.ReadAsStringAsync());
        return certificate;
    }

    /// <summary>Asks the host for a new request; returns the CSR (DER).</summary>
    public static async Task<byte[]> RequestAsync(HomeroomHost host)
    {
        var created = await host.PostJsonAsync<JsonElement>("/api/apple/push-certificate/request", new { });
        var text = created.GetProperty("csr").GetString()!;
        return Convert.FromBase64String(text[PemEncoding.Find(text).Base64Data]);
    }

    public static async Task<HttpResponseMessage> UploadAsync(HttpClient client, X509Certificate2 certificate, bool pem = true)
    {
        var content = new ByteArrayContent(pem ? Encoding.ASCII.GetBytes(certificate.ExportCertificatePem()) : certificate.RawData);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(pem ? "application/x-pem-file" : "application/pkix-cert");
        return await client.PutAsync(new Uri("/api/apple/push-certificate", UriKind.Relative), content).WaitAsync(HomeroomHost.Timeout);
    }

    public static async Task<JsonElement> StatusAsync(HomeroomHost host) => await host.Client.GetFromJsonAsync<JsonElement>("/api/apple/push-certificate");

    private static X509Certificate2 Ca(string subject, RSA key, X509Certificate2? issuer)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        if (issuer is null)
        {
            return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-90), DateTimeOffset.UtcNow.AddYears(5));
        }

        using var issued = request.Create(issuer, DateTimeOffset.UtcNow.AddDays(-89), DateTimeOffset.UtcNow.AddYears(4), RandomNumberGenerator.GetBytes(8));
        return issued.CopyWithPrivateKey(key);
    }

    public void Dispose()
    {
        Vendor.Dispose();
        _pushCa.Dispose();
        _pushCaKey.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
