using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Homeroom.Contracts.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Apple;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Apple;

/// <summary>
/// The MDM push certificate flow with certificates made in the test: the CSR signed by a "vendor"
/// certificate into the request Apple's portal takes, the certificate "Apple" issues imported and
/// checked, APNs wake-ups presenting it (a fake APNs that demands a client certificate), renewal
/// keeping the topic, the expiry warning, and only district administrators allowed.
/// </summary>
public sealed class PushCertificateTests(PushCertificateTests.Fakes fakes) : IAsyncLifetime, IClassFixture<PushCertificateTests.Fakes>
{
    private const string Topic = "com.apple.mgmt.External.5b0f2c1e-7d1a-4e43-9a55-2f6f3f1e9c01";
    private HomeroomHost _host = null!;

    private FakeApplePki Pki => fakes.Pki;

    private FakeApns Apns => fakes.Apns;

    /// <summary>
    /// Apple's side, made once for the class (six RSA keys and a TLS server, made for every test before): it holds
    /// no state a test changes except the pushes it records and the tokens marked gone, which one test reads
    /// for its own device's token. Every test still gets its own server and database.
    /// </summary>
    public sealed class Fakes : IAsyncLifetime
    {
        public FakeApplePki Pki { get; } = new();

        public FakeApns Apns { get; private set; } = null!;

        public async Task InitializeAsync() => Apns = await FakeApns.StartAsync(requireClientCertificate: true);

        public async Task DisposeAsync()
        {
            await Apns.DisposeAsync();
            Pki.Dispose();
        }
    }

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite,
        [.. Pki.VendorSettings, $"Homeroom:Apple:Apns:Url={Apns.Url}", $"Homeroom:Apple:Apns:TrustedRootPath={Apns.RootPath}"]);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private string AppleFile(string name) => Path.Combine(_host.Database.DataDirectory, "apple", name);

    [Fact]
    public async Task Request_IsTheCsrSignedByTheVendor_InApplesPortalFormat_AndItsKeyStaysOnTheServerOwnerOnly()
    {
        (await FakeApplePki.StatusAsync(_host)).GetProperty("state").GetString().ShouldBe("none");

        var created = await _host.PostJsonAsync<JsonElement>("/api/apple/push-certificate/request", new { });

        var csrPem = created.GetProperty("csr").GetString()!;
        var csr = Convert.FromBase64String(csrPem[PemEncoding.Find(csrPem).Base64Data]);
        var request = CertificateRequest.LoadSigningRequest(csr, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default, RSASignaturePadding.Pkcs1);
        request.PublicKey.GetRSAPublicKey()!.KeySize.ShouldBe(2048);

        // The file to upload: base64 of a property list with the CSR, the vendor's chain and its signature of the CSR.
        var portal = PropertyList.ReadDictionary(Convert.FromBase64String(created.GetProperty("portalRequest").GetString()!));
        portal.Keys.Order(StringComparer.Ordinal).ShouldBe(["PushCertCertificateChain", "PushCertRequestCSR", "PushCertSignature"]);
        Convert.FromBase64String((string)portal["PushCertRequestCSR"]).ShouldBe(csr);
        using var vendorKey = Pki.Vendor.GetRSAPublicKey()!;
        vendorKey.VerifyData(csr, Convert.FromBase64String((string)portal["PushCertSignature"]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).ShouldBeTrue();
        var chain = new X509Certificate2Collection();
        chain.ImportFromPem((string)portal["PushCertCertificateChain"]);
        chain.Select(c => c.Thumbprint).ShouldBe(Pki.ChainThumbprints);
        ((string)portal["PushCertCertificateChain"]).Split('\n').Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)).ShouldAllBe(l => l.Length <= 64);
        created.GetProperty("portalUrl").GetString().ShouldBe("https://identity.apple.com");
        created.GetProperty("renewal").GetBoolean().ShouldBeFalse();

        // The private key never leaves the server, and only its user can read the file.
        File.Exists(AppleFile("push-request.bin")).ShouldBeTrue();
        File.ReadAllText(AppleFile("push-request.bin")).ShouldNotContain("PRIVATE KEY");
        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(AppleFile("push-request.bin")).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        (await FakeApplePki.StatusAsync(_host)).GetProperty("requestWaitingSince").ValueKind.ShouldBe(JsonValueKind.String);
        (await _host.GetJsonAsync<JsonElement>("/api/audit?action=apple.push-certificate.request")).GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task Import_TheCertificateAppleIssued_SetsTheTopic_AndWakeUpsPresentIt()
    {
        var certificate = await Pki.ImportNewAsync(_host, Topic, TimeSpan.FromDays(365));

        var status = await FakeApplePki.StatusAsync(_host);
        status.GetProperty("state").GetString().ShouldBe("active");
        status.GetProperty("topic").GetString().ShouldBe(Topic);
        status.GetProperty("daysLeft").GetInt32().ShouldBeInRange(363, 365);
        status.GetProperty("warning").ValueKind.ShouldBe(JsonValueKind.Null);
        File.Exists(AppleFile("push-request.bin")).ShouldBeFalse();
        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(AppleFile("push-certificate.bin")).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        // New enrollment profiles carry the certificate's topic.
        using var anonymous = _host.CreateClient();
        var profile = PropertyList.ReadDictionary(await anonymous.GetByteArrayAsync($"/mdm/enroll?token={Uri.EscapeDataString(await _host.CreateTokenAsync())}"));
        ((List<object>)profile["PayloadContent"]).Cast<Dictionary<string, object>>().Single(p => (string)p["PayloadType"] == "com.apple.mdm")["Topic"].ShouldBe(Topic);

        // A command wakes the device over TLS with the imported certificate; a token APNs reports gone is cleared.
        using var device = new VirtualAppleDevice(_host.Client, _host.BaseAddress, "00008030-PUSH00000001", "PUSH000001");
        await device.InstallEnrollmentProfileAsync(await _host.CreateTokenAsync());
        (await device.AuthenticateAsync()).EnsureSuccessStatusCode();
        (await device.TokenUpdateAsync()).EnsureSuccessStatusCode();
        var id = (await _host.GetJsonAsync<JsonElement>($"/api/devices?q={device.Serial}")).GetProperty("items")[0].GetProperty("id").GetGuid();
        await Poll.UntilAsync(async () => await device.PollAsync() > 0 || device.Received.Count > 0);
        Apns.Gone[Convert.ToHexStringLower(device.PushToken)] = true;

        var command = (await _host.PostJsonAsync<JsonElement>("/api/commands", new { kind = "ping", deviceIds = new[] { id } })).GetProperty("id").GetGuid();

        await Poll.UntilAsync(() => Task.FromResult(Apns.Pushes.Any(p => p.Token == Convert.ToHexStringLower(device.PushToken))));
        var push = Apns.Pushes.Last(p => p.Token == Convert.ToHexStringLower(device.PushToken));
        push.ClientCertificateThumbprint.ShouldBe(certificate.GetCertHashString(HashAlgorithmName.SHA256));
        push.PushType.ShouldBe("mdm");
        push.Authorization.ShouldBeNull(); // no token authentication for MDM
        JsonDocument.Parse(push.Body).RootElement.GetProperty("mdm").GetString().ShouldBe("PM-" + device.Udid);
        await Poll.UntilAsync(async () =>
        {
            await using var db = await _host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
            return (await db.AppleDevices.SingleAsync(a => a.DeviceId == id)).PushToken is null;
        });
        device.Received.Clear();
        (await device.PollAsync()).ShouldBe(1); // the queue is the truth: the command still arrives at the next check-in
        device.Received.Single().Id.ShouldBe(command);
    }

    [Fact]
    public async Task Renewal_KeepsTheTopic_AndACertificateWithAnotherTopicIsRefused()
    {
        var first = await Pki.ImportNewAsync(_host, Topic, TimeSpan.FromDays(20));
        (await FakeApplePki.StatusAsync(_host)).GetProperty("warning").GetString()!.ShouldContain("Renew");

        var renewal = await _host.PostJsonAsync<JsonElement>("/api/apple/push-certificate/request", new { });
        renewal.GetProperty("renewal").GetBoolean().ShouldBeTrue();
        string.Join(" ", renewal.GetProperty("steps").EnumerateArray().Select(s => s.GetString())).ShouldContain("Renew");
        var csrPem = renewal.GetProperty("csr").GetString()!;
        var csr = Convert.FromBase64String(csrPem[PemEncoding.Find(csrPem).Base64Data]);

        // "Create" instead of "Renew" in the portal gives a new topic: refused, the old certificate stays.
        using var otherTopic = Pki.Issue(csr, "com.apple.mgmt.External.00000000-0000-0000-0000-000000000001", _host.Clock.GetUtcNow().AddDays(365));
        using (var refused = await FakeApplePki.UploadAsync(_host.Client, otherTopic))
        {
            refused.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            refused.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            (await refused.Content.ReadAsStringAsync()).ShouldContain("not the topic in use");
        }

        var unchanged = await FakeApplePki.StatusAsync(_host);
        unchanged.GetProperty("topic").GetString().ShouldBe(Topic);
        unchanged.GetProperty("expiresAt").GetDateTime().ShouldBe(first.NotAfter.ToUniversalTime(), TimeSpan.FromSeconds(1));

        // The renewed certificate (same topic, DER this time) replaces it.
        using var renewed = Pki.Issue(csr, Topic, _host.Clock.GetUtcNow().AddDays(365));
        using (var accepted = await FakeApplePki.UploadAsync(_host.Client, renewed, pem: false))
        {
            accepted.StatusCode.ShouldBe(HttpStatusCode.OK, await accepted.Content.ReadAsStringAsync());
        }

        var status = await FakeApplePki.StatusAsync(_host);
        status.GetProperty("topic").GetString().ShouldBe(Topic);
        status.GetProperty("daysLeft").GetInt32().ShouldBeGreaterThan(300);
        status.GetProperty("warning").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task Import_WrongKeyNoRequestNotAPushCertificateOrGarbage_IsRefused()
    {
        using var otherKey = RSA.Create(2048);
        using var notOurs = Pki.IssueFor(new PublicKey(otherKey), Topic, DateTimeOffset.UtcNow.AddDays(365));
        using (var noRequest = await FakeApplePki.UploadAsync(_host.Client, notOurs))
        {
            noRequest.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await noRequest.Content.ReadAsStringAsync()).ShouldContain("No push certificate request is waiting");
        }

        var csr = await FakeApplePki.RequestAsync(_host);
        using (var wrongKey = await FakeApplePki.UploadAsync(_host.Client, notOurs))
        {
            wrongKey.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await wrongKey.Content.ReadAsStringAsync()).ShouldContain("not for the key");
        }

        var key = CertificateRequest.LoadSigningRequest(csr, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default, RSASignaturePadding.Pkcs1).PublicKey;
        using var noTopic = Pki.IssueFor(key, topic: null, DateTimeOffset.UtcNow.AddDays(365));
        (await FakeApplePki.UploadAsync(_host.Client, noTopic)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using var expired = Pki.IssueFor(key, Topic, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(-30));
        (await FakeApplePki.UploadAsync(_host.Client, expired)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using (var garbage = await _host.Client.PutAsync(new Uri("/api/apple/push-certificate", UriKind.Relative), new StringContent("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")))
        {
            garbage.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }

        using var large = new ByteArrayContent(new byte[200 * 1024]);
        large.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        using (var tooLarge = await _host.Client.PutAsync(new Uri("/api/apple/push-certificate", UriKind.Relative), large))
        {
            tooLarge.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        }

        (await FakeApplePki.StatusAsync(_host)).GetProperty("state").GetString().ShouldBe("none");
        File.Exists(AppleFile("push-certificate.bin")).ShouldBeFalse();
    }

    [Fact]
    public async Task Status_WarnsFromThirtyDaysBeforeExpiry_AndSaysWhenExpired()
    {
        await Pki.ImportNewAsync(_host, Topic, TimeSpan.FromDays(40));
        (await FakeApplePki.StatusAsync(_host)).GetProperty("warning").ValueKind.ShouldBe(JsonValueKind.Null);

        _host.Clock.Advance(TimeSpan.FromDays(11));
        var soon = await FakeApplePki.StatusAsync(_host);
        soon.GetProperty("warning").GetString()!.ShouldContain("expires on");
        soon.GetProperty("daysLeft").GetInt32().ShouldBeInRange(28, 29);

        _host.Clock.Advance(TimeSpan.FromDays(30));
        var expired = await FakeApplePki.StatusAsync(_host);
        expired.GetProperty("state").GetString().ShouldBe("expired");
        expired.GetProperty("warning").GetString()!.ShouldContain("expired");
    }

    [Theory]
    [InlineData("schoolAdmin")]
    [InlineData("itTechnician")]
    [InlineData("readOnly")]
    public async Task PushCertificate_OtherRoles_AreRefused(string role)
    {
        using var staff = await _host.SignInAsNewAccountAsync("staff-" + role, role);

        (await staff.GetAsync("/api/apple/push-certificate")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await staff.PostAsJsonAsync("/api/apple/push-certificate/request", new { })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        using var upload = new ByteArrayContent("x"u8.ToArray());
        upload.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-pem-file");
        (await staff.PutAsync("/api/apple/push-certificate", upload)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        File.Exists(AppleFile("push-request.bin")).ShouldBeFalse();
    }
}

/// <summary>A server with no vendor certificate: its own class, so it does not start the configured one beside it as before.</summary>
public sealed class PushCertificateWithoutVendorTests
{
    [Fact]
    public async Task Request_WithoutAVendorCertificate_GivesTheCsrForAVendorToSign()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

        var created = await host.PostJsonAsync<JsonElement>("/api/apple/push-certificate/request", new { });

        created.GetProperty("portalRequest").ValueKind.ShouldBe(JsonValueKind.Null);
        created.GetProperty("csr").GetString()!.ShouldStartWith("-----BEGIN CERTIFICATE REQUEST-----");
        (await FakeApplePki.StatusAsync(host)).GetProperty("vendorConfigured").GetBoolean().ShouldBeFalse();
    }
}
