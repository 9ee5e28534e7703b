using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

/// <summary>Why a push certificate step was refused (a 4xx, or 500 for a vendor certificate that cannot be used).</summary>
public sealed class PushCertificateException(string message, int statusCode) : DomainException(message)
{
    public override int StatusCode { get; } = statusCode;
    public override string Title => "Push certificate";
}

/// <summary>The certificate in use, as staff see it.</summary>
public sealed record PushCertificateInfo(string Topic, string Subject, DateTime NotBefore, DateTime NotAfter, string Thumbprint);

/// <summary>
/// The district's MDM push certificate and the private keys behind it. Apple's push service accepts
/// MDM wake-ups only over TLS with this certificate (token authentication does not work for MDM).
/// The flow: <see cref="CreateSigningRequest"/> makes a new RSA key kept here and a CSR for it; the
/// vendor signs the CSR; Apple's portal turns it into a certificate; <see cref="Import"/> takes that
/// certificate only if it is for the pending key and, on renewal, has the same topic, so enrolled
/// devices keep being reachable. Keys are stored encrypted with the data-protection keys in the
/// <see cref="SecretStore"/>: on SQLite in files only the server's user can read (data/apple, 0600); on PostgreSQL in
/// the database, where every node reads the waiting request there and, at most
/// <see cref="PushCertificateOptions.ClusterRefreshInterval"/> after another node imported a certificate, takes that
/// certificate too. <see cref="Changed"/> tells the APNs client.
/// </summary>
public sealed class PushCertificateStore
{
    /// <summary>The topic written into enrollment profiles while no push certificate is imported.</summary>
    public const string UnconfiguredTopic = "com.apple.mgmt.External.homeroom-unconfigured";

    private const string UserIdOid = "0.9.2342.19200300.100.1.1";
    private readonly SecretStore _secrets;
    private readonly IDataProtector _protector;
    private readonly TimeProvider _time;
    private readonly TimeSpan _refreshInterval;
    private readonly Lock _lock = new();
    private X509Certificate2? _current;
    private byte[]? _currentStored;
    private long _checkedAt;

    private sealed record PendingRequest(DateTime CreatedAt, byte[] Key, byte[] Csr);

    public PushCertificateStore(SecretStore secrets, IDataProtectionProvider protection, IOptions<PushCertificateOptions> options, TimeProvider time)
    {
        _secrets = secrets;
        _time = time;
        _refreshInterval = options.Value.ClusterRefreshInterval;
        _protector = protection.CreateProtector("Homeroom.Apple.PushCertificate");
        _checkedAt = time.GetTimestamp();
        if (secrets.Read(SecretNames.PushCertificate) is { } stored)
        {
            _current = Load(stored);
            _currentStored = stored;
        }

        secrets.Read(SecretNames.PushRequest); // a file left wider by an older version is narrowed now
    }

    /// <summary>Raised after a certificate is imported.</summary>
    public event Action? Changed;

    /// <summary>The certificate with its private key, or null before one is imported.</summary>
    public X509Certificate2? Certificate
    {
        get
        {
            Refresh();
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>
    /// On PostgreSQL, takes the certificate another node imported, when <see cref="PushCertificateOptions.ClusterRefreshInterval"/>
    /// has passed since this node last looked (and raises <see cref="Changed"/>); nothing on SQLite, where only this node imports.
    /// </summary>
    public void Refresh()
    {
        if (!_secrets.Shared)
        {
            return;
        }

        lock (_lock)
        {
            if (_time.GetElapsedTime(_checkedAt) < _refreshInterval)
            {
                return;
            }

            _checkedAt = _time.GetTimestamp();
            var stored = _secrets.Read(SecretNames.PushCertificate);
            if (stored is null || (_currentStored is not null && stored.AsSpan().SequenceEqual(_currentStored)))
            {
                return;
            }

            _current = Load(stored);
            _currentStored = stored;
        }

        Changed?.Invoke();
    }

    public PushCertificateInfo? Info => Certificate is { } certificate ? Describe(certificate) : null;

    /// <summary>The push topic devices are enrolled with: the certificate's, or a placeholder before one is imported.</summary>
    public string Topic => Certificate is { } certificate ? TopicOf(certificate) ?? UnconfiguredTopic : UnconfiguredTopic;

    /// <summary>When the waiting request was made, or null when none waits.</summary>
    public DateTime? PendingSince
    {
        get
        {
            lock (_lock)
            {
                return ReadPending()?.CreatedAt;
            }
        }
    }

    /// <summary>A new RSA 2048 key (kept here, replacing any earlier waiting one) and a CSR for it, DER.</summary>
    public byte[] CreateSigningRequest(string organization, DateTimeOffset now)
    {
        using var key = RSA.Create(2048);
        var name = new X500DistinguishedNameBuilder();
        name.AddCommonName("Homeroom MDM push");
        name.AddOrganizationName(organization.Length is > 0 and <= 64 ? organization : "School district");
        var csr = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequest();
        var pending = new PendingRequest(now.UtcDateTime, key.ExportPkcs8PrivateKey(), csr);
        lock (_lock)
        {
            _secrets.Write(SecretNames.PushRequest, _protector.Protect(JsonSerializer.SerializeToUtf8Bytes(pending)));
        }

        return csr;
    }

    /// <summary>The CSR still waiting for its certificate, DER, or null.</summary>
    public byte[]? PendingSigningRequest()
    {
        lock (_lock)
        {
            return ReadPending()?.Csr;
        }
    }

    /// <summary>
    /// Takes the certificate Apple issued for the waiting request. Refused when no request waits, when
    /// it is for another key, when it is not an MDM push certificate or has expired, and when a
    /// certificate is already in use with another topic (devices enrolled with that topic could no
    /// longer be woken).
    /// </summary>
    public PushCertificateInfo Import(X509Certificate2 certificate, DateTimeOffset now)
    {
        var topic = TopicOf(certificate);
        if (topic is null || !topic.StartsWith("com.apple.mgmt.", StringComparison.Ordinal))
        {
            throw new PushCertificateException("This is not an MDM push certificate: its subject has no UID beginning with com.apple.mgmt.", StatusCodes.Status400BadRequest);
        }

        if (now.UtcDateTime >= certificate.NotAfter.ToUniversalTime() || now.UtcDateTime < certificate.NotBefore.ToUniversalTime())
        {
            throw new PushCertificateException($"The certificate is not valid now (valid {certificate.NotBefore:u} to {certificate.NotAfter:u}).", StatusCodes.Status400BadRequest);
        }

        using var publicKey = certificate.GetRSAPublicKey()
            ?? throw new PushCertificateException("The certificate's key is not RSA; an MDM push certificate's is.", StatusCodes.Status400BadRequest);
        lock (_lock)
        {
            var pending = ReadPending()
                ?? throw new PushCertificateException("No push certificate request is waiting: create one (POST /api/apple/push-certificate/request), upload it to Apple, then import the certificate Apple returns.", StatusCodes.Status409Conflict);
            using var key = RSA.Create();
            key.ImportPkcs8PrivateKey(pending.Key, out _);
            if (!key.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(publicKey.ExportSubjectPublicKeyInfo()))
            {
                throw new PushCertificateException("The certificate is not for the key of the waiting request; upload the request Homeroom made last and import the certificate Apple issued for it.", StatusCodes.Status409Conflict);
            }

            if (_current is not null && TopicOf(_current) is { } currentTopic && currentTopic != topic)
            {
                throw new PushCertificateException(
                    $"The certificate's topic ({topic}) is not the topic in use ({currentTopic}): devices enrolled with it could no longer be woken. Renew the existing certificate in Apple's portal (Renew, with the same Apple ID) instead of creating a new one.",
                    StatusCodes.Status409Conflict);
            }

            using var withKey = certificate.CopyWithPrivateKey(key);
            var pkcs12 = withKey.Export(X509ContentType.Pkcs12);
            var stored = _protector.Protect(pkcs12);
            _secrets.Write(SecretNames.PushCertificate, stored);
            _secrets.Delete(SecretNames.PushRequest);
            _current = X509CertificateLoader.LoadPkcs12(pkcs12, null, X509KeyStorageFlags.Exportable);
            _currentStored = stored;
        }

        Changed?.Invoke();
        return Describe(certificate);
    }

    /// <summary>The push topic: the certificate subject's user id (UID).</summary>
    public static string? TopicOf(X509Certificate2 certificate)
    {
        foreach (var part in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (part.HasMultipleElements)
            {
                continue;
            }

            if (part.GetSingleElementType().Value == UserIdOid)
            {
                return part.GetSingleElementValue();
            }
        }

        return null;
    }

    private static PushCertificateInfo Describe(X509Certificate2 certificate) =>
        new(TopicOf(certificate) ?? "", certificate.Subject, certificate.NotBefore.ToUniversalTime(), certificate.NotAfter.ToUniversalTime(), certificate.GetCertHashString(HashAlgorithmName.SHA256));

    private X509Certificate2 Load(byte[] stored) => X509CertificateLoader.LoadPkcs12(_protector.Unprotect(stored), null, X509KeyStorageFlags.Exportable);

    private PendingRequest? ReadPending()
    {
        if (_secrets.Read(SecretNames.PushRequest) is not { } stored)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<PendingRequest>(_protector.Unprotect(stored));
        }
        catch (CryptographicException)
        {
            return null; // written with data-protection keys this server no longer has: as if none waited
        }
    }
}
