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
        using var anonymous = _host.CreateClient();

        using var response = await anonymous.GetAsync(new Uri(path, UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
    }

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

    [Fact]
    public async Task Login_WithAdminPassword_SetsSessionCookieThatAuthenticates()
    {
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer() };
        using var browser = new HttpClient(handler) { BaseAddress = _host.BaseAddress };

        using var login = await browser.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { username = "Admin", password = HomeroomHost.AdminPassword });

        login.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var me = await browser.GetFromJsonAsync<JsonElement>(new Uri("/api/auth/me", UriKind.Relative));
        me.GetProperty("username").GetString().ShouldBe("admin");
        me.GetProperty("authMethod").GetString().ShouldBe("password");
        (await browser.PostAsync(new Uri("/api/auth/logout", UriKind.Relative), null)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await browser.GetAsync(new Uri("/api/auth/me", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Login_WithWrongPassword_Answers401AndIsAudited()
    {
        using var browser = _host.CreateClient();

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
