using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Homeroom.Server.Tests.Infrastructure;

/// <summary>
/// A stand-in for Apple's push service on loopback: HTTP/2 over TLS with a certificate from a root
/// made for the test, recording every push. Tokens in <see cref="Gone"/> answer 410 as APNs does for
/// a device that left.
/// </summary>
public sealed class FakeApns : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _directory;

    public sealed record Push(string Token, string? Topic, string? PushType, string? Authorization, string Body, string? ClientCertificateThumbprint);

    private FakeApns(WebApplication app, string directory, string rootPath)
    {
        _app = app;
        _directory = directory;
        RootPath = rootPath;
    }

    public ConcurrentQueue<Push> Pushes { get; } = new();

    public ConcurrentDictionary<string, bool> Gone { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>PEM file of the root the fake's certificate chains to.</summary>
    public string RootPath { get; }

    public Uri Url { get; private set; } = null!;

    public static async Task<FakeApns> StartAsync(bool requireClientCertificate = false)
    {
        var directory = Directory.CreateTempSubdirectory("homeroom-apns-").FullName;
        using var rootKey = RSA.Create(2048);
        var rootRequest = new CertificateRequest("CN=Fake APNs test root", rootKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var root = rootRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        var rootPath = Path.Combine(directory, "root.pem");
        await File.WriteAllTextAsync(rootPath, root.ExportCertificatePem());

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var issued = serverRequest.Create(root, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(6), [1, 2, 3, 4]);
        var serverCertificate = X509CertificateLoader.LoadPkcs12(issued.CopyWithPrivateKey(serverKey).Export(X509ContentType.Pkcs12), null);

        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = serverCertificate,
                ClientCertificateMode = requireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate,
                ClientCertificateValidation = (_, _, _) => true,
            });
        }));
        var app = builder.Build();
        var fake = new FakeApns(app, directory, rootPath);
        app.MapPost("/3/device/{token}", async (string token, HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var client = context.Connection.ClientCertificate;
            fake.Pushes.Enqueue(new Push(token, context.Request.Headers["apns-topic"], context.Request.Headers["apns-push-type"], context.Request.Headers.Authorization, body,
                client?.GetCertHashString(HashAlgorithmName.SHA256)));
            return fake.Gone.ContainsKey(token) ? Results.StatusCode(StatusCodes.Status410Gone) : Results.Ok();
        });
        await app.StartAsync();
        fake.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
