using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Apple;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Apple;

/// <summary>Commands wake Apple devices through APNs (a fake on loopback, HTTP/2 over TLS); the queue stays the truth.</summary>
public sealed class ApnsTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("homeroom-apns-keys-").FullName;
    private FakeApns _apns = null!;

    public async Task InitializeAsync() => _apns = await FakeApns.StartAsync(requireClientCertificate: true);

    public async Task DisposeAsync()
    {
        await _apns.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private static async Task<(VirtualAppleDevice Device, Guid Id)> EnrollAsync(HomeroomHost host)
    {
        var device = new VirtualAppleDevice(host.Client, host.BaseAddress, "00008030-APNS" + Guid.NewGuid().ToString("N")[..8], "APNS" + Guid.NewGuid().ToString("N")[..6]);
        await device.InstallEnrollmentProfileAsync(await host.CreateTokenAsync());
        (await device.AuthenticateAsync()).EnsureSuccessStatusCode();
        (await device.TokenUpdateAsync()).EnsureSuccessStatusCode();
        var id = (await host.GetJsonAsync<JsonElement>($"/api/devices?q={device.Serial}")).GetProperty("items")[0].GetProperty("id").GetGuid();

        // Its policy profile comes first; take it out of the way.
        await Poll.UntilAsync(async () => await device.PollAsync() > 0 || device.Received.Count > 0);
        device.Received.Clear();
        return (device, id);
    }

    [Fact]
    public async Task TokenAuthentication_PushesWithAVerifiableJwt_ThenTheDeviceFetchesTheCommand()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var keyPath = Path.Combine(_directory, "AuthKey_ABC123DEFG.p8");
        await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
        // The fake requires a client certificate only in the certificate test; token auth still sends none, so use a fake without it.
        await using var apns = await FakeApns.StartAsync();
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite,
            $"Homeroom:Apple:Apns:Url={apns.Url}", $"Homeroom:Apple:Apns:KeyPath={keyPath}", "Homeroom:Apple:Apns:KeyId=ABC123DEFG",
            "Homeroom:Apple:Apns:TeamId=TEAM123456", $"Homeroom:Apple:Apns:TrustedRootPath={apns.RootPath}", "Homeroom:Apple:PushTopic=com.apple.mgmt.External.test");
        var (device, id) = await EnrollAsync(host);
        using var _ = device;

        await Task.Delay(200);
        var before = apns.Pushes.Count;
        var command = (await host.PostJsonAsync<JsonElement>("/api/commands", new { kind = "lock", deviceIds = new[] { id } })).GetProperty("id").GetGuid();

        await Poll.UntilAsync(() => Task.FromResult(apns.Pushes.Count > before));
        var push = apns.Pushes.Last();
        push.Token.ShouldBe(Convert.ToHexStringLower(device.PushToken));
        push.Topic.ShouldBe("com.apple.mgmt.External.homeroom"); // the topic the device checked in with
        push.PushType.ShouldBe("mdm");
        JsonDocument.Parse(push.Body).RootElement.GetProperty("mdm").GetString().ShouldBe("PM-" + device.Udid);
        var jwt = push.Authorization!["bearer ".Length..].Split('.');
        JsonDocument.Parse(Base64Url(jwt[0])).RootElement.GetProperty("kid").GetString().ShouldBe("ABC123DEFG");
        JsonDocument.Parse(Base64Url(jwt[1])).RootElement.GetProperty("iss").GetString().ShouldBe("TEAM123456");
        key.VerifyData(Encoding.ASCII.GetBytes($"{jwt[0]}.{jwt[1]}"), Base64Url(jwt[2]), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation).ShouldBeTrue();

        (await device.PollAsync()).ShouldBe(1);
        device.Received.Single().Id.ShouldBe(command);
    }

    [Fact]
    public async Task CertificateAuthentication_PresentsThePushCertificate_AndAGoneTokenIsCleared()
    {
        using var certificateKey = RSA.Create(2048);
        using var certificate = new CertificateRequest("CN=APSP:test-mdm-push", certificateKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certificatePath = Path.Combine(_directory, "push.p12");
        await File.WriteAllBytesAsync(certificatePath, certificate.Export(X509ContentType.Pkcs12, "secret"));
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite,
            $"Homeroom:Apple:Apns:Url={_apns.Url}", $"Homeroom:Apple:Apns:CertificatePath={certificatePath}", "Homeroom:Apple:Apns:CertificatePassword=secret",
            $"Homeroom:Apple:Apns:TrustedRootPath={_apns.RootPath}");
        var (device, id) = await EnrollAsync(host);
        using var _ = device;
        _apns.Gone[Convert.ToHexStringLower(device.PushToken)] = true;

        await host.PostJsonAsync<JsonElement>("/api/commands", new { kind = "ping", deviceIds = new[] { id } });

        await Poll.UntilAsync(() => Task.FromResult(!_apns.Pushes.IsEmpty));
        _apns.Pushes.First().ClientCertificateThumbprint.ShouldBe(certificate.GetCertHashString(HashAlgorithmName.SHA256));
        await Poll.UntilAsync(async () =>
        {
            await using var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
            return (await db.AppleDevices.SingleAsync(a => a.DeviceId == id)).PushToken is null;
        });
        (await device.PollAsync()).ShouldBe(1); // the queue is the truth: the command still arrives at the next check-in
    }

    private static byte[] Base64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - (padded.Length % 4)) % 4));
    }
}
