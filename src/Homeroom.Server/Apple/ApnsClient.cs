using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

public sealed class ApnsOptions
{
    public const string Section = "Homeroom:Apple:Apns";

    /// <summary>APNs address; Apple's production service by default.</summary>
    public Uri Url { get; set; } = new("https://api.push.apple.com");

    /// <summary>Token-based authentication: the .p8 key file from Apple, its key id and the team id.</summary>
    public string? KeyPath { get; set; }
    public string? KeyId { get; set; }
    public string? TeamId { get; set; }

    /// <summary>Certificate-based authentication: the MDM push certificate as a .p12/.pfx file and its password.</summary>
    public string? CertificatePath { get; set; }
    public string? CertificatePassword { get; set; }

    /// <summary>For testing or a private relay: a PEM file with the only root the APNs server certificate may chain to.</summary>
    public string? TrustedRootPath { get; set; }

    public bool Configured => (KeyPath is not null && KeyId is not null && TeamId is not null) || CertificatePath is not null;
}

/// <summary>The outcome of one push.</summary>
public enum PushOutcome
{
    Sent,
    NotConfigured,
    /// <summary>APNs says the token is no longer valid (410): the device left or was erased.</summary>
    Unregistered,
    Failed,
}

/// <summary>
/// An APNs client over HTTP/2 for MDM wake-ups: <c>POST /3/device/&lt;token&gt;</c> with the device's
/// PushMagic, authenticated with a token (ES256 JWT from a .p8 key, renewed every 50 minutes) or the
/// MDM push certificate. One multiplexed connection carries all pushes.
/// </summary>
public sealed class ApnsClient : IDisposable
{
    private static readonly TimeSpan JwtLifetime = TimeSpan.FromMinutes(50);
    private readonly ApnsOptions _options;
    private readonly HttpClient? _http;
    private readonly ECDsa? _key;
    private readonly TimeProvider _time;
    private readonly Lock _jwtLock = new();
    private (string Token, DateTimeOffset At)? _jwt;

    public ApnsClient(IOptions<ApnsOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        if (!_options.Configured)
        {
            return;
        }

        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(30),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        if (_options.CertificatePath is { } certificatePath)
        {
            handler.SslOptions.ClientCertificates = [X509CertificateLoader.LoadPkcs12FromFile(certificatePath, _options.CertificatePassword)];
        }
        else
        {
            _key = ECDsa.Create();
            _key.ImportFromPem(File.ReadAllText(_options.KeyPath!));
        }

        if (_options.TrustedRootPath is { } rootPath)
        {
            var root = X509Certificate2.CreateFromPem(File.ReadAllText(rootPath));
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(root);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
        }

        _http = new HttpClient(handler) { BaseAddress = _options.Url, Timeout = TimeSpan.FromSeconds(15) };
    }

    public bool Configured => _http is not null;

    /// <summary>Wakes one device.</summary>
    public async Task<PushOutcome> PushAsync(string deviceTokenHex, string topic, string pushMagic, CancellationToken cancellationToken)
    {
        if (_http is null)
        {
            return PushOutcome.NotConfigured;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/3/device/{deviceTokenHex}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new StringContent(JsonSerializer.Serialize(new Dictionary<string, string> { ["mdm"] = pushMagic }), Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("apns-topic", topic);
        request.Headers.TryAddWithoutValidation("apns-push-type", "mdm");
        request.Headers.TryAddWithoutValidation("apns-priority", "10");
        request.Headers.TryAddWithoutValidation("apns-expiration", _time.GetUtcNow().AddDays(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (_key is not null)
        {
            request.Headers.TryAddWithoutValidation("authorization", "bearer " + Jwt());
        }

        try
        {
            using var response = await _http.SendAsync(request, cancellationToken);
            return response.StatusCode switch
            {
                HttpStatusCode.OK => PushOutcome.Sent,
                HttpStatusCode.Gone => PushOutcome.Unregistered,
                _ => PushOutcome.Failed,
            };
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return PushOutcome.Failed;
        }
    }

    // ES256 JSON Web Token: {"alg":"ES256","kid":KeyId} . {"iss":TeamId,"iat":now}, reused for 50 minutes (APNs refuses older than an hour).
    private string Jwt()
    {
        lock (_jwtLock)
        {
            var now = _time.GetUtcNow();
            if (_jwt is { } cached && now - cached.At < JwtLifetime)
            {
                return cached.Token;
            }

            var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["alg"] = "ES256", ["kid"] = _options.KeyId! }));
            var claims = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["iss"] = _options.TeamId!, ["iat"] = now.ToUnixTimeSeconds() }));
            var signature = _key!.SignData(Encoding.ASCII.GetBytes($"{header}.{claims}"), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            var token = $"{header}.{claims}.{Base64Url(signature)}";
            _jwt = (token, now);
            return token;
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public void Dispose()
    {
        _http?.Dispose();
        _key?.Dispose();
    }
}
