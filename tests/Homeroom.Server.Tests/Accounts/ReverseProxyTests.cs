using System.Net;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Tests.Accounts;

/// <summary>
/// Behind the TLS-terminating proxy: requests from a trusted proxy (by default one on this machine)
/// carry the client's scheme, host and address in X-Forwarded-* headers; from anyone else those
/// headers are ignored.
/// </summary>
public sealed class ReverseProxyTests : IAsyncLifetime
{
    private const string Client = "203.0.113.7";
    private const string PublicHost = "homeroom.example.org";
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Accounts:SignInsPerMinutePerAddress=3");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>A client whose requests look as the proxy passes them on: HTTPS, the public host, the client's address.</summary>
    private static HttpClient ThroughProxy(HomeroomHost host, string clientAddress = Client, string? forwardedFor = null)
    {
        var client = StaffClients.Browser(host, useCookies: false);
        client.DefaultRequestHeaders.Add("X-Forwarded-For", forwardedFor ?? clientAddress);
        client.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");
        client.DefaultRequestHeaders.Add("X-Forwarded-Host", PublicHost);
        return client;
    }

    private static async Task<string?> SignInAddressAsync(HomeroomHost host)
    {
        var audit = await host.GetJsonAsync<JsonElement>("/api/audit?action=auth.sign-in");
        return audit.GetProperty("items").EnumerateArray().First().GetProperty("remoteAddress").GetString();
    }

    private static async Task<Dictionary<string, object>> MdmPayloadAsync(HomeroomHost host, HttpClient client)
    {
        var token = await host.CreateTokenAsync();
        using var response = await client.GetAsync(new Uri($"/mdm/enroll?token={Uri.EscapeDataString(token)}", UriKind.Relative));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var profile = Homeroom.Contracts.Apple.PropertyList.ReadDictionary(await response.Content.ReadAsByteArrayAsync());
        return ((List<object>)profile["PayloadContent"]).Cast<Dictionary<string, object>>().Single(p => (string)p["PayloadType"] == "com.apple.mdm");
    }

    [Fact]
    public async Task SignIn_ThroughTheTrustedProxy_SetsASecureCookie_AndKnowsTheClientsAddress()
    {
        using var browser = ThroughProxy(_host);

        using var login = await browser.LoginAsync("admin", HomeroomHost.AdminPassword);

        login.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        StaffClients.SetCookie(login)!.Split(';').Select(a => a.Trim()).ShouldContain(a => a.Equals("secure", StringComparison.OrdinalIgnoreCase));
        (await SignInAddressAsync(_host)).ShouldBe(Client);
    }

    [Fact]
    public async Task AClientsOwnForwardedFor_IsNotBelieved_OnlyWhatTheProxyAdded()
    {
        // The client claimed 198.51.100.1; the proxy appended the address it really came from.
        using var browser = ThroughProxy(_host, forwardedFor: "198.51.100.1, " + Client);

        (await browser.LoginAsync("admin", HomeroomHost.AdminPassword)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await SignInAddressAsync(_host)).ShouldBe(Client);
    }

    [Fact]
    public async Task EnrollmentProfile_ThroughTheProxy_PointsAtThePublicHttpsAddress()
    {
        using var device = ThroughProxy(_host);

        var mdm = await MdmPayloadAsync(_host, device);

        ((string)mdm["ServerURL"]).ShouldBe($"https://{PublicHost}/mdm/connect");
        ((string)mdm["CheckInURL"]).ShouldStartWith($"https://{PublicHost}/mdm/checkin?enroll=");
    }

    [Fact]
    public async Task SignInRateLimit_ThroughTheProxy_CountsEachClientApart()
    {
        using var busy = ThroughProxy(_host, "203.0.113.20");
        for (var i = 0; i < 3; i++)
        {
            // A different name each time: the per-name throttle stays out of it, only the rate limit counts.
            (await busy.LoginAsync("nobody" + i, "wrong")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        (await busy.LoginAsync("nobody-else", "wrong")).StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        using var other = ThroughProxy(_host, "203.0.113.21");
        (await other.LoginAsync("admin", HomeroomHost.AdminPassword)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task ForwardedHeaders_FromAnUntrustedAddress_AreIgnored()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Proxy:TrustLoopback=false", "Homeroom:Proxy:TrustedProxies:0=10.9.9.9");
        using var browser = ThroughProxy(host);

        using var login = await browser.LoginAsync("admin", HomeroomHost.AdminPassword);

        login.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        StaffClients.SetCookie(login)!.ShouldNotContain("secure", Case.Insensitive);
        (await SignInAddressAsync(host)).ShouldBe("127.0.0.1");
        ((string)(await MdmPayloadAsync(host, browser))["ServerURL"]).ShouldBe(new Uri(host.BaseAddress, "/mdm/connect").ToString());
    }

    [Fact]
    public async Task SecureCookies_WhenRequired_AreSecureEvenOverPlainHttp()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Accounts:RequireSecureCookies=true");
        using var browser = StaffClients.Browser(host, useCookies: false);

        using var login = await browser.LoginAsync("admin", HomeroomHost.AdminPassword);

        StaffClients.SetCookie(login)!.ShouldContain("secure", Case.Insensitive);
    }

    [Fact]
    public async Task TrustedProxies_ThatAreNotAddresses_StopTheServerAtStart()
    {
        var error = await Should.ThrowAsync<OptionsValidationException>(() => HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Proxy:TrustedProxies:0=proxy.example.org"));

        error.Message.ShouldContain("Homeroom:Proxy:TrustedProxies");
        error.Message.ShouldContain("proxy.example.org");
    }
}
