using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

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
/// PushMagic, over TLS with the district's MDM push certificate (<see cref="PushCertificateStore"/>;
/// Apple's token authentication does not work for MDM). One multiplexed connection carries all
/// pushes; importing a renewed certificate switches to a new connection with it.
/// </summary>
public sealed class ApnsClient : IDisposable
{
    private readonly ApnsOptions _options;
    private readonly PushCertificateStore _certificates;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private HttpClient? _http;
    private HttpClient? _retired;

    public ApnsClient(IOptions<ApnsOptions> options, PushCertificateStore certificates, TimeProvider time)
    {
        _options = options.Value;
        _certificates = certificates;
        _time = time;
        certificates.Changed += Connect;
        Connect();
    }

    public bool Configured => _http is not null;

    // A client presenting the current certificate. The previous client is kept until the next switch so pushes in flight finish.
    private void Connect()
    {
        if (_certificates.Certificate is not { } certificate)
        {
            return;
        }

        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(30),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        handler.SslOptions.ClientCertificates = [certificate];
        if (_options.TrustedRootPath is { } rootPath)
        {
            var root = X509Certificate2.CreateFromPem(File.ReadAllText(rootPath));
            handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, errors) =>
            {
                if (presented is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(root);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(presented));
            };
        }

        var http = new HttpClient(handler) { BaseAddress = _options.Url, Timeout = TimeSpan.FromSeconds(15) };
        lock (_lock)
        {
            _retired?.Dispose();
            _retired = _http;
            _http = http;
        }
    }

    /// <summary>Wakes one device.</summary>
    public async Task<PushOutcome> PushAsync(string deviceTokenHex, string topic, string pushMagic, CancellationToken cancellationToken)
    {
        _certificates.Refresh(); // a certificate another node imported (PostgreSQL) reconnects through Changed
        var http = _http;
        if (http is null)
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
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            return response.StatusCode switch
            {
                HttpStatusCode.OK => PushOutcome.Sent,
                HttpStatusCode.Gone => PushOutcome.Unregistered,
                _ => PushOutcome.Failed,
            };
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ObjectDisposedException)
        {
            return PushOutcome.Failed;
        }
    }

    public void Dispose()
    {
        _certificates.Changed -= Connect;
        lock (_lock)
        {
            _http?.Dispose();
            _retired?.Dispose();
        }
    }
}

/// <summary>Logs a warning twice a day while the push certificate is within its renewal window or expired.</summary>
public sealed class PushCertificateMonitor(PushCertificateStore store, IOptions<PushCertificateOptions> options, JobLeases leases, TimeProvider time, ILogger<PushCertificateMonitor> logger)
    : PeriodicTask(TimeSpan.FromHours(12), leases, time, logger)
{
    /// <summary>Each node warns in its own log about the certificate it loaded.</summary>
    public override bool RunsOnEveryNode => true;

    protected override Task RunOnceAsync(CancellationToken cancellationToken)
    {
        if (store.Info is { } info && ApplePushCertificate.Warning(info, Time.GetUtcNow().UtcDateTime, options.Value.ExpiryWarning) is { } warning)
        {
            AppleLog.PushCertificateExpiring(Logger, warning);
        }

        return Task.CompletedTask;
    }
}
