using System.Net;
using System.Security.Cryptography.X509Certificates;
using Homeroom.Contracts.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Apple;

namespace Homeroom.Server.Tests.Apple;

/// <summary>
/// Enrollment-profile downloads: each mints a device identity, so the identity is a cheap ECDSA P-256
/// key, each token may download a limited number a minute, and the CA that issues them is a file only
/// the server's user can read.
/// </summary>
public sealed class EnrollmentProfileTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Apple:EnrollmentProfilesPerTokenPerMinute=3");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static Task<HttpResponseMessage> DownloadAsync(HttpClient client, string token) =>
        client.GetAsync(new Uri($"/mdm/enroll?token={Uri.EscapeDataString(token)}", UriKind.Relative)).WaitAsync(HomeroomHost.Timeout);

    private static X509Certificate2 IdentityOf(byte[] profileBytes)
    {
        var profile = PropertyList.ReadDictionary(profileBytes);
        var identity = ((List<object>)profile["PayloadContent"]).Cast<Dictionary<string, object>>().Single(p => (string)p["PayloadType"] == "com.apple.security.pkcs12");
        return X509CertificateLoader.LoadPkcs12((byte[])identity["PayloadContent"], (string)identity["Password"]);
    }

    [Fact]
    public async Task Download_IssuesAnEcdsaP256Identity_ThatSignsCheckIns()
    {
        using var anonymous = _host.CreateClient();
        using var response = await DownloadAsync(anonymous, await _host.CreateTokenAsync());

        using var identity = IdentityOf(await response.Content.ReadAsByteArrayAsync());
        using var key = identity.GetECDsaPrivateKey();
        key.ShouldNotBeNull();
        key.KeySize.ShouldBe(256);
        identity.GetRSAPublicKey().ShouldBeNull();
        identity.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages[0].Value.ShouldBe("1.3.6.1.5.5.7.3.2");

        // A device signing with it enrolls and is answered.
        using var device = new VirtualAppleDevice(_host.Client, _host.BaseAddress, "00008030-ECDSA0000001", "ECDSA00001");
        await device.InstallEnrollmentProfileAsync(await _host.CreateTokenAsync());
        device.Identity.GetECDsaPrivateKey().ShouldNotBeNull();
        (await device.AuthenticateAsync()).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await device.TokenUpdateAsync()).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Poll.UntilAsync(async () => await device.PollAsync() > 0);
    }

    [Fact]
    public async Task Download_MoreThanTheTokensLimitAMinute_Is429_OtherTokensAreNotAffected()
    {
        using var anonymous = _host.CreateClient();
        var token = await _host.CreateTokenAsync();
        for (var i = 0; i < 3; i++)
        {
            using var allowed = await DownloadAsync(anonymous, token);
            allowed.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        using (var limited = await DownloadAsync(anonymous, token))
        {
            limited.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
            limited.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            limited.Headers.RetryAfter!.Delta!.Value.TotalSeconds.ShouldBeInRange(1, 60);
            (await limited.Content.ReadAsStringAsync()).ShouldContain("3 enrollment profiles a minute");
        }

        using (var other = await DownloadAsync(anonymous, await _host.CreateTokenAsync()))
        {
            other.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        _host.Clock.Advance(TimeSpan.FromSeconds(61));
        using var later = await DownloadAsync(anonymous, token);
        later.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task DeviceCa_IsWrittenOwnerOnly_AndAWiderOldFileIsNarrowedAtStart()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var anonymous = _host.CreateClient();
        (await DownloadAsync(anonymous, await _host.CreateTokenAsync())).EnsureSuccessStatusCode();
        var directory = Path.Combine(_host.Database.DataDirectory, "apple");
        var file = Path.Combine(directory, "device-ca.bin");
        File.GetUnixFileMode(file).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.GetUnixFileMode(directory).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // As an older version left it: readable by everyone.
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await _host.RestartAsync();
        using var again = _host.CreateClient();
        (await DownloadAsync(again, await _host.CreateTokenAsync())).EnsureSuccessStatusCode();

        File.GetUnixFileMode(file).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    [Fact]
    public async Task Download_WithTheRsaOption_IssuesAnRsaIdentity()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Apple:IdentityKey=Rsa2048");
        using var anonymous = host.CreateClient();

        using var response = await DownloadAsync(anonymous, await host.CreateTokenAsync());

        using var identity = IdentityOf(await response.Content.ReadAsByteArrayAsync());
        using var key = identity.GetRSAPrivateKey();
        key!.KeySize.ShouldBe(2048);
        identity.GetECDsaPublicKey().ShouldBeNull();
    }
}
