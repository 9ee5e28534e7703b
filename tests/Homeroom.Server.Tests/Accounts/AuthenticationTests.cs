using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Accounts;

public sealed class AuthenticationTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Get_WithUnknownApiKey_Answers401()
    {
        using var client = _host.CreateClient("hrk_not-a-real-key");

        using var response = await client.GetAsync(new Uri("/api/devices", UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task HealthAndOpenApi_WithoutCredentials_Answer200()
    {
        using var anonymous = _host.CreateClient();

        (await anonymous.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
        var openApi = await anonymous.GetFromJsonAsync<JsonElement>(new Uri("/openapi/v1.json", UriKind.Relative));
        var paths = openApi.GetProperty("paths");
        foreach (var path in new[] { "/api/devices", "/api/schools", "/api/groups", "/api/people", "/api/enrollment-tokens", "/api/commands", "/agent/v1/enroll",
            "/api/profiles", "/api/profiles/settings", "/api/assignments", "/api/zones", "/api/filter-lists", "/api/filter-lists/categories",
            "/api/devices/{id}/policy", "/api/devices/{id}/filter-check", "/api/policies/compliance", "/api/alerts", "/api/alerts/{id}/acknowledge",
            "/api/devices/{id}/locations", "/agent/v1/filter-list" })
        {
            paths.TryGetProperty(path, out _).ShouldBeTrue(path);
        }
    }

    [Fact]
    public async Task CreatedApiKey_AfterRevocation_StopsWorking()
    {
        var created = await _host.PostJsonAsync<JsonElement>("/api/api-keys", new { name = "script" });
        var key = created.GetProperty("key").GetString()!;
        using var client = _host.CreateClient(key);
        (await client.GetAsync(new Uri("/api/devices", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await _host.Client.DeleteAsync(new Uri($"/api/api-keys/{created.GetProperty("id").GetGuid()}", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await client.GetAsync(new Uri("/api/devices", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    private HttpClient Browser(HttpClientHandler handler)
    {
        var browser = new HttpClient(handler) { BaseAddress = _host.BaseAddress };
        browser.DefaultRequestHeaders.Add("X-Homeroom-Request", "1");
        return browser;
    }

    [Fact]
    public async Task Login_WithAdminPassword_SetsSessionCookieThatAuthenticates()
    {
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer() };
        using var browser = Browser(handler);

        using var login = await browser.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { username = "Admin", password = HomeroomHost.AdminPassword });

        login.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var me = await browser.GetFromJsonAsync<JsonElement>(new Uri("/api/auth/me", UriKind.Relative));
        me.GetProperty("username").GetString().ShouldBe("admin");
        me.GetProperty("authMethod").GetString().ShouldBe("password");
        (await browser.PostAsync(new Uri("/api/auth/logout", UriKind.Relative), null)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await browser.GetAsync(new Uri("/api/auth/me", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task CookieRequests_WithoutTheAntiforgeryHeader_AreRefused()
    {
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer() };
        using var browser = Browser(handler);
        (await browser.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { username = "admin", password = HomeroomHost.AdminPassword })).EnsureSuccessStatusCode();
        using var forged = new HttpClient(handler, disposeHandler: false) { BaseAddress = _host.BaseAddress };

        using var refused = await forged.PostAsJsonAsync(new Uri("/api/schools", UriKind.Relative), new { name = "Forged school" });
        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        refused.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await forged.GetAsync(new Uri("/api/schools", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK); // reading is not a forgery risk
        (await forged.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { username = "admin", password = HomeroomHost.AdminPassword })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await browser.PostAsJsonAsync(new Uri("/api/schools", UriKind.Relative), new { name = "Real school" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await _host.GetJsonAsync<JsonElement>("/api/schools")).GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task PasswordChange_NeedsTheCurrentPassword_AndTheNewOneWorks()
    {
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer() };
        using var browser = Browser(handler);
        (await browser.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { username = "admin", password = HomeroomHost.AdminPassword })).EnsureSuccessStatusCode();

        (await browser.PostAsJsonAsync(new Uri("/api/auth/password", UriKind.Relative), new { currentPassword = "wrong", newPassword = "a much longer passphrase" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await browser.PostAsJsonAsync(new Uri("/api/auth/password", UriKind.Relative), new { currentPassword = HomeroomHost.AdminPassword, newPassword = "short" })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await browser.PostAsJsonAsync(new Uri("/api/auth/password", UriKind.Relative), new { currentPassword = HomeroomHost.AdminPassword, newPassword = "a much longer passphrase" })).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        using var other = Browser(new HttpClientHandler { CookieContainer = new CookieContainer() });
        (await other.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { username = "admin", password = HomeroomHost.AdminPassword })).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await other.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { username = "admin", password = "a much longer passphrase" })).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await _host.GetJsonAsync<JsonElement>("/api/audit?action=auth.password-change")).GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task Login_WithWrongPassword_Answers401AndIsAudited()
    {
        using var browser = _host.CreateClient();
        browser.DefaultRequestHeaders.Add("X-Homeroom-Request", "1");

        using var login = await browser.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { username = "admin", password = "wrong" });

        login.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var audit = await _host.GetJsonAsync<JsonElement>("/api/audit?action=auth.sign-in-failed");
        audit.GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task StoredSecrets_AreHashedNotPlain()
    {
        var created = await _host.PostJsonAsync<JsonElement>("/api/api-keys", new { name = "script" });
        var key = created.GetProperty("key").GetString()!;

        var bytes = await File.ReadAllBytesAsync(Path.Combine(_host.Database.DataDirectory, "homeroom.db"));
        var walPath = Path.Combine(_host.Database.DataDirectory, "homeroom.db-wal");
        var wal = File.Exists(walPath) ? await File.ReadAllBytesAsync(walPath) : [];
        var text = System.Text.Encoding.ASCII.GetString([.. bytes, .. wal]);
        text.ShouldNotContain(key);
        text.ShouldNotContain(HomeroomHost.ApiKey);
        text.ShouldNotContain(HomeroomHost.AdminPassword);
    }
}

/// <summary>Signed-out reads change nothing, so these cases share one server (<see cref="SharedHost"/>).</summary>
public abstract class AuthenticationValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    [Theory]
    [InlineData("/api/devices")]
    [InlineData("/api/schools")]
    [InlineData("/api/groups")]
    [InlineData("/api/people")]
    [InlineData("/api/enrollment-tokens")]
    [InlineData("/api/commands")]
    [InlineData("/api/audit")]
    public async Task Get_WithoutCredentials_Answers401ProblemDetails(string path)
    {
        using var anonymous = Host.CreateClient();

        using var response = await anonymous.GetAsync(new Uri(path, UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
    }
}

public sealed class AuthenticationValidationSqliteTests(SharedSqliteHost shared) : AuthenticationValidationTests(shared), IClassFixture<SharedSqliteHost>;
