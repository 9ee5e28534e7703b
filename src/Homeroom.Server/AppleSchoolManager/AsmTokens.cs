using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.DataProtection;

namespace Homeroom.Server.AppleSchoolManager;

/// <summary>Why an Apple School Manager step was refused (a 4xx ProblemDetails).</summary>
public sealed class AppleSchoolManagerException(string message, int statusCode = StatusCodes.Status400BadRequest) : DomainException(message)
{
    public override int StatusCode { get; } = statusCode;
    public override string Title => "Apple School Manager";
}

/// <summary>The OAuth 1.0a credentials of a server token (automated device enrollment), and when they expire.</summary>
public sealed record ServerToken(string ConsumerKey, string ConsumerSecret, string AccessToken, string AccessSecret, DateTime ExpiresAt)
{
    private const int MaxField = 512;

    /// <summary>
    /// Reads a server token as Apple School Manager gives it: the S/MIME file (<c>.p7m</c>) encrypted to this
    /// server's public key (<see cref="AsmKeyStore"/>), or what that decrypts to (the JSON between
    /// <c>-----BEGIN MESSAGE-----</c> and <c>-----END MESSAGE-----</c>), or the bare JSON.
    /// </summary>
    public static ServerToken Parse(byte[] upload, X509Certificate2? decryptionCertificate, DateTime now)
    {
        var json = Unwrap(upload, decryptionCertificate, depth: 0);
        ServerTokenJson? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<ServerTokenJson>(json);
        }
        catch (JsonException)
        {
            throw new AppleSchoolManagerException("The server token's content is not the JSON Apple School Manager issues.");
        }

        if (parsed is null || Bad(parsed.consumer_key) || Bad(parsed.consumer_secret) || Bad(parsed.access_token) || Bad(parsed.access_secret))
        {
            throw new AppleSchoolManagerException("The server token lacks consumer_key, consumer_secret, access_token or access_secret (each at most 512 characters).");
        }

        if (!DateTime.TryParse(parsed.access_token_expiry, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var expiry))
        {
            throw new AppleSchoolManagerException("The server token has no readable access_token_expiry.");
        }

        if (expiry <= now)
        {
            throw new AppleSchoolManagerException($"The server token expired on {expiry:yyyy-MM-dd}. Download a new one from Apple School Manager (Preferences, your MDM server, Download Token).");
        }

        return new ServerToken(parsed.consumer_key!, parsed.consumer_secret!, parsed.access_token!, parsed.access_secret!, expiry);
    }

    private static bool Bad(string? value) => string.IsNullOrWhiteSpace(value) || value.Length > MaxField;

    private static string Unwrap(byte[] upload, X509Certificate2? certificate, int depth)
    {
        var text = Encoding.UTF8.GetString(upload);
        const string Begin = "-----BEGIN MESSAGE-----", End = "-----END MESSAGE-----";
        var begin = text.IndexOf(Begin, StringComparison.Ordinal);
        if (begin >= 0)
        {
            var end = text.IndexOf(End, begin, StringComparison.Ordinal);
            if (end < 0)
            {
                throw new AppleSchoolManagerException("The server token's message has no end marker.");
            }

            return text[(begin + Begin.Length)..end].Trim();
        }

        if (text.TrimStart().StartsWith('{'))
        {
            return text.Trim();
        }

        if (depth > 0)
        {
            throw new AppleSchoolManagerException("The decrypted server token holds no message.");
        }

        // S/MIME: MIME headers, a blank line, then the base64 of a CMS EnvelopedData.
        var separator = text.IndexOf("\r\n\r\n", StringComparison.Ordinal) is >= 0 and var crlf ? crlf + 4
            : text.IndexOf("\n\n", StringComparison.Ordinal) is >= 0 and var lf ? lf + 2 : -1;
        if (separator < 0 || !text.Contains("pkcs7-mime", StringComparison.OrdinalIgnoreCase))
        {
            throw new AppleSchoolManagerException("This is not a server token: upload the .p7m file Apple School Manager gave for this MDM server.");
        }

        if (certificate is null)
        {
            throw new AppleSchoolManagerException("No key to decrypt the server token: download this server's public key (GET /api/apple/school-manager/public-key), upload it to the MDM server in Apple School Manager, then download the token again.", StatusCodes.Status409Conflict);
        }

        try
        {
            var envelope = new EnvelopedCms();
            envelope.Decode(Convert.FromBase64String(text[separator..].Trim()));
            envelope.Decrypt([certificate]);
            return Unwrap(envelope.ContentInfo.Content, certificate, depth + 1);
        }
        catch (FormatException)
        {
            throw new AppleSchoolManagerException("The server token's body is not base64.");
        }
        catch (CryptographicException)
        {
            throw new AppleSchoolManagerException("The server token cannot be decrypted with this server's key: it was made for another public key. Upload this server's public key to Apple School Manager and download the token again.");
        }
    }

#pragma warning disable IDE1006, SA1300 // Apple's field names
    private sealed record ServerTokenJson(string? consumer_key, string? consumer_secret, string? access_token, string? access_secret, string? access_token_expiry);
#pragma warning restore IDE1006, SA1300
}

/// <summary>An Apps and Books content token (sToken, the <c>.vpptoken</c> file): the bearer value itself, its expiry and organization.</summary>
public sealed record ContentToken(string Value, DateTime ExpiresAt, string OrgName)
{
    /// <summary>The file is base64 of a JSON object with token, expDate and orgName; the whole base64 is the bearer token.</summary>
    public static ContentToken Parse(byte[] upload, DateTime now)
    {
        var value = Encoding.ASCII.GetString(upload).Trim();
        if (value.Length is 0 or > 16 * 1024)
        {
            throw new AppleSchoolManagerException("Upload the content token file (.vpptoken) as the body.");
        }

        ContentTokenJson? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<ContentTokenJson>(Convert.FromBase64String(value));
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw new AppleSchoolManagerException("This is not a content token: the .vpptoken file is base64 of Apple's JSON.");
        }

        if (parsed is null || string.IsNullOrWhiteSpace(parsed.token) || string.IsNullOrWhiteSpace(parsed.orgName) || parsed.orgName.Length > 200)
        {
            throw new AppleSchoolManagerException("The content token lacks token or orgName.");
        }

        if (!DateTime.TryParse(parsed.expDate, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var expiry))
        {
            throw new AppleSchoolManagerException("The content token has no readable expDate.");
        }

        if (expiry <= now)
        {
            throw new AppleSchoolManagerException($"The content token expired on {expiry:yyyy-MM-dd}. Download a new one from Apple School Manager (Preferences, Payments and Billing).");
        }

        return new ContentToken(value, expiry, parsed.orgName);
    }

#pragma warning disable IDE1006, SA1300 // Apple's field names
    private sealed record ContentTokenJson(string? token, string? expDate, string? orgName);
#pragma warning restore IDE1006, SA1300
}

/// <summary>Encrypts the tokens and the ADE enrollment secret with the server's data-protection keys before they are stored.</summary>
public sealed class AsmTokenVault(IDataProtectionProvider protection)
{
    private readonly IDataProtector _protector = protection.CreateProtector("Homeroom.AppleSchoolManager.Secrets");

    public string Protect<T>(T value) => _protector.Protect(JsonSerializer.Serialize(value));

    public T Unprotect<T>(string stored) =>
        JsonSerializer.Deserialize<T>(_protector.Unprotect(stored)) ?? throw new InvalidOperationException("A stored Apple School Manager secret is empty.");
}

/// <summary>
/// This server's key for Apple School Manager: Apple encrypts the server token to the public key an
/// administrator uploads when adding the MDM server. An RSA 2048 key and a self-signed certificate
/// made on first use, stored encrypted like the push certificate's keys (<see cref="SecretStore"/>: data/apple, 0600,
/// on SQLite; the database on PostgreSQL, made once for every node).
/// </summary>
public sealed class AsmKeyStore
{
    private readonly SecretStore _secrets;
    private readonly IDataProtector _protector;
    private readonly Lock _lock = new();
    private X509Certificate2? _certificate;

    public AsmKeyStore(SecretStore secrets, IDataProtectionProvider protection)
    {
        _secrets = secrets;
        _protector = protection.CreateProtector("Homeroom.AppleSchoolManager.Key");
    }

    /// <summary>The certificate with its private key, made on first use.</summary>
    public X509Certificate2 Certificate(DateTimeOffset now)
    {
        lock (_lock)
        {
            if (_certificate is not null)
            {
                return _certificate;
            }

            var stored = _secrets.GetOrAdd(SecretNames.AsmKey, () =>
            {
                using var key = RSA.Create(2048);
                var request = new CertificateRequest("CN=Homeroom Apple School Manager", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                using var made = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
                return _protector.Protect(made.Export(X509ContentType.Pkcs12));
            });
            _certificate = X509CertificateLoader.LoadPkcs12(_protector.Unprotect(stored), null, X509KeyStorageFlags.Exportable);
            return _certificate;
        }
    }

    /// <summary>The certificate when one was made, without making one.</summary>
    public X509Certificate2? Existing(DateTimeOffset now) => _certificate is not null || _secrets.Read(SecretNames.AsmKey) is not null ? Certificate(now) : null;

    /// <summary>The public certificate, PEM, to upload to Apple School Manager.</summary>
    public string PublicPem(DateTimeOffset now) => Certificate(now).ExportCertificatePem();
}
