using System.Net.Http.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.SingleSignOn;

/// <summary>
/// Staff single sign-on end to end: Chromium on the console's sign-in page, the "Sign in with" button, a real
/// OpenID provider (OpenIddict's server, authorization code with PKCE) on loopback, and back. Each refusal
/// must end on the sign-in page with its reason and be audited, with no token in the audit.
/// </summary>
public sealed class SingleSignOnTests(SingleSignOnServer server) : IClassFixture<SingleSignOnServer>, IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);

    private HomeroomHost Host => server.Host;

    private TestOpenIdProvider Provider => server.Provider;

    public Task InitializeAsync()
    {
        Provider.Tampering = IdTokenTampering.None;
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task SignIn_MappedStaffMember_BeginsASessionWithTheMappedRoleAndSchool()
    {
        var school = await CreateSchoolAsync();
        var email = Unique("rivera");
        var account = await CreateAccountAsync(email, "readOnly");
        await SetMappingsAsync(new { provider = SingleSignOnServer.ProviderId, claimType = "groups", claimValue = "it-staff", role = "itTechnician", schoolId = school });
        Provider.User = new TestOpenIdUser("sub-rivera", email.ToUpperInvariant(), true, "Sam Rivera", "teachers", "it-staff");

        var page = await SignInWithProviderAsync();

        await WaitForSignedInAsync(page);
        await Browsers.ScreenshotAsync(page, "sso-signed-in");
        var stored = await AccountAsync(email);
        stored!.Id.ShouldBe(account);
        stored.Role.ShouldBe(StaffRole.ItTechnician);
        stored.SchoolId.ShouldBe(school);
        (await AuditAsync("auth.sign-in", account.ToString())).ShouldContain(d => d != null && d.Contains(SingleSignOnServer.ProviderName, StringComparison.Ordinal));

        // The session is Homeroom's own: the console's API calls work with the browser's cookie.
        var me = await page.APIRequest.GetAsync("/api/auth/me");
        me.Status.ShouldBe(200);
        (await me.TextAsync()).ShouldContain(email);
    }

    [Fact]
    public async Task SignIn_NewStaffMember_IsCreatedOnlyWhenAMappingAllowsIt()
    {
        var email = Unique("newcomer");
        Provider.User = new TestOpenIdUser("sub-newcomer", email, true, "New Comer", "teachers");
        await SetMappingsAsync(new { provider = SingleSignOnServer.ProviderId, claimType = "groups", claimValue = "teachers", role = "teacher", createAccounts = false });

        var refused = await SignInWithProviderAsync();
        await ExpectRefusedAsync(refused, "no-account", "no Homeroom account", email);
        (await AccountAsync(email)).ShouldBeNull();

        await SetMappingsAsync(new { provider = SingleSignOnServer.ProviderId, claimType = "groups", claimValue = "teachers", role = "teacher", createAccounts = true });
        var page = await SignInWithProviderAsync();
        await WaitForSignedInAsync(page);
        var created = await AccountAsync(email);
        created.ShouldNotBeNull();
        created.Role.ShouldBe(StaffRole.Teacher);
        created.DisplayName.ShouldBe("New Comer");
        (await AuditAsync("account.create", created.Id.ToString())).ShouldHaveSingleItem();
    }

    [Fact]
    public async Task SignIn_NoMatchingMapping_IsRefused()
    {
        var email = Unique("outsider");
        await CreateAccountAsync(email, "teacher");
        await SetMappingsAsync(new { provider = SingleSignOnServer.ProviderId, claimType = "groups", claimValue = "teachers", role = "teacher", createAccounts = true });
        Provider.User = new TestOpenIdUser("sub-outsider", email, true, "Out Sider", "students");

        await ExpectRefusedAsync(await SignInWithProviderAsync(), "no-mapping", "not allowed to use Homeroom", email);
    }

    [Fact]
    public async Task SignIn_DisabledAccount_IsRefused()
    {
        var email = Unique("disabled");
        var account = await CreateAccountAsync(email, "teacher");
        using (var disabled = await Host.Client.PutAsJsonAsync($"/api/accounts/{account}", new { disabled = true }, HomeroomHost.Json))
        {
            disabled.EnsureSuccessStatusCode();
        }

        await SetMappingsAsync(new { provider = SingleSignOnServer.ProviderId, claimType = "groups", claimValue = "teachers", role = "teacher", createAccounts = true });
        Provider.User = new TestOpenIdUser("sub-disabled", email, true, "Dis Abled", "teachers");

        await ExpectRefusedAsync(await SignInWithProviderAsync(), "disabled", "account is disabled", email);
    }

    [Fact]
    public async Task SignIn_UnverifiedEmail_IsRefused()
    {
        var email = Unique("unverified");
        await CreateAccountAsync(email, "teacher");
        await SetMappingsAsync(new { provider = SingleSignOnServer.ProviderId, claimType = "groups", claimValue = "teachers", role = "teacher", createAccounts = true });
        Provider.User = new TestOpenIdUser("sub-unverified", email, false, "Un Verified", "teachers");

        await ExpectRefusedAsync(await SignInWithProviderAsync(), "unverified", "not verified your e-mail", email);
    }

    [Theory]
    [InlineData(IdTokenTampering.WrongIssuer, "issuer", "unexpected issuer")]
    [InlineData(IdTokenTampering.WrongAudience, "audience", "meant for another application")]
    [InlineData(IdTokenTampering.Expired, "expired", "had expired")]
    [InlineData(IdTokenTampering.BadSignature, "signature", "bad signature")]
    public async Task SignIn_SpoiledIdToken_IsRefusedAndAudited(IdTokenTampering tampering, string code, string message)
    {
        var email = Unique("spoiled");
        await CreateAccountAsync(email, "teacher");
        await SetMappingsAsync(new { provider = SingleSignOnServer.ProviderId, claimType = "groups", claimValue = "teachers", role = "teacher" });
        Provider.User = new TestOpenIdUser("sub-spoiled", email, true, "Spoiled Token", "teachers");
        Provider.Tampering = tampering;
        var issued = Provider.TokensIssued;

        await ExpectRefusedAsync(await SignInWithProviderAsync(), code, message, "sso:" + SingleSignOnServer.ProviderId);

        // The provider did hand out a token: the refusal is the relying party's check, not a failed exchange.
        Provider.TokensIssued.ShouldBeGreaterThan(issued);
        (await AccountAsync(email))!.LastSignInAt.ShouldBeNull();
    }

    [Fact]
    public async Task SignIn_ReplayedCallback_IsRefused()
    {
        var email = Unique("replay");
        await CreateAccountAsync(email, "teacher");
        await SetMappingsAsync(new { provider = SingleSignOnServer.ProviderId, claimType = "groups", claimValue = "teachers", role = "teacher" });
        Provider.User = new TestOpenIdUser("sub-replay", email, true, "Re Play", "teachers");

        string? callback = null;
        var page = await NewPageAsync();
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/signin-oidc/", StringComparison.Ordinal))
            {
                callback ??= request.Url;
            }
        };
        await StartAsync(page);
        await WaitForSignedInAsync(page);
        callback.ShouldNotBeNull();
        var before = (await AuditAsync("auth.sign-in-failed", "sso:" + SingleSignOnServer.ProviderId)).Count;

        // The same answer again, code and state and all: its one-time state cookie is gone.
        await page.GotoAsync(callback);
        await WaitForAsync(page, url => url.Contains("sso=", StringComparison.Ordinal));
        new Uri(page.Url).Query.ShouldContain("sso=state");
        (await page.GetByTestId("sso-error").TextContentAsync()).ShouldNotBeNull().ShouldContain("already used");
        var after = await AuditAsync("auth.sign-in-failed", "sso:" + SingleSignOnServer.ProviderId);
        after.Count.ShouldBe(before + 1);
        after.ShouldContain(d => d != null && d.Contains("refused: state", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Console_DistrictAdmin_AddsAndRemovesAMapping()
    {
        await SetMappingsAsync();
        var audited = (await AuditAsync("sign-in-mappings.replace", null)).Count;
        var page = await ConsoleSignIn.SignInAsync(server.Browser, Host.BaseAddress, [], "admin", HomeroomHost.AdminPassword);
        await page.GotoAsync("/accounts");

        await page.GetByTestId("sso-claim-type").FillAsync("hd");
        await page.GetByTestId("sso-claim-value").FillAsync("district.example");
        await page.GetByTestId("sso-role").SelectOptionAsync("ReadOnly");
        await page.GetByTestId("sso-create").CheckAsync();
        await page.GetByTestId("sso-add").ClickAsync();

        await Assertions.Expect(page.GetByTestId("sso-mapping-row")).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await Assertions.Expect(page.GetByTestId("sso-mapping-row")).ToContainTextAsync(SingleSignOnServer.ProviderName);
        await Browsers.ScreenshotAsync(page, "sso-mappings");
        var stored = await Host.GetJsonAsync<SignInMappingsDto>("/api/sign-in/mappings");
        var mapping = stored.Mappings.ShouldHaveSingleItem();
        (mapping.Provider, mapping.ClaimType, mapping.ClaimValue, mapping.Role, mapping.SchoolId, mapping.CreateAccounts)
            .ShouldBe((SingleSignOnServer.ProviderId, "hd", "district.example", StaffRole.ReadOnly, (Guid?)null, true));

        await page.GetByTestId("sso-mapping-row").GetByRole(AriaRole.Button, new() { Name = "Remove" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("sso-mapping-row")).ToHaveCountAsync(0, new() { Timeout = 15_000 });
        (await Host.GetJsonAsync<SignInMappingsDto>("/api/sign-in/mappings")).Mappings.ShouldBeEmpty();
        (await AuditAsync("sign-in-mappings.replace", null)).Count.ShouldBe(audited + 2);
    }

    private async Task ExpectRefusedAsync(IPage page, string code, string message, string auditTarget)
    {
        await WaitForAsync(page, url => url.Contains("sso=", StringComparison.Ordinal));
        new Uri(page.Url).AbsolutePath.ShouldBe("/login");
        new Uri(page.Url).Query.ShouldContain("sso=" + code);
        (await page.GetByTestId("sso-error").TextContentAsync()).ShouldNotBeNull().ShouldContain(message);
        await Browsers.ScreenshotAsync(page, "sso-refused-" + code);
        var audited = await AuditAsync("auth.sign-in-failed", auditTarget);
        audited.ShouldContain(d => d != null && d.Contains("refused: " + code, StringComparison.Ordinal));

        // No token, code or secret in what was written down.
        audited.ShouldAllBe(d => d == null || (!d.Contains("eyJ", StringComparison.Ordinal) && !d.Contains(TestOpenIdProvider.ClientSecret, StringComparison.Ordinal)));

        // And still signed out.
        (await page.APIRequest.GetAsync("/api/auth/me")).Status.ShouldBe(401);
    }

    private async Task<IPage> SignInWithProviderAsync()
    {
        var page = await NewPageAsync();
        await StartAsync(page);
        return page;
    }

    private async Task<IPage> NewPageAsync()
    {
        var context = await server.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Host.BaseAddress.AbsoluteUri });
        return await context.NewPageAsync();
    }

    private static async Task StartAsync(IPage page)
    {
        await page.GotoAsync("/login");
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with " + SingleSignOnServer.ProviderName }).ClickAsync();
    }

    // Back on Homeroom, past the sign-in page and the callback, with the signed-in console's navigation.
    private async Task WaitForSignedInAsync(IPage page)
    {
        await WaitForAsync(page, url => url.StartsWith(Host.BaseAddress.AbsoluteUri, StringComparison.Ordinal)
            && !url.Contains("/login", StringComparison.Ordinal) && !url.Contains("/signin-oidc", StringComparison.Ordinal));
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.List).WaitForAsync(new() { Timeout = 60_000 });
    }

    // Watches the address instead of Playwright's WaitForURL, for the reason ConsoleSignIn gives.
    private static async Task WaitForAsync(IPage page, Func<string, bool> arrived)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!arrived(page.Url))
        {
            if (DateTime.UtcNow > deadline)
            {
                string shown;
                try
                {
                    shown = await page.Locator("body").InnerTextAsync(new() { Timeout = 5_000 });
                }
                catch (TimeoutException)
                {
                    shown = "(no page yet)";
                }

                throw new TimeoutException($"Still on {page.Url}; the page said: {shown}");
            }

            await Task.Delay(100);
        }
    }

    private static string Unique(string name) => $"{name}.{Guid.NewGuid():N}"[..(name.Length + 9)] + "@district.example";

    private async Task<Guid> CreateSchoolAsync()
    {
        var school = await Host.PostJsonAsync<IdOnly>("/api/schools", new { name = "SSO school " + Guid.NewGuid().ToString("N")[..6], timeZone = "UTC" });
        return school.Id;
    }

    private async Task<Guid> CreateAccountAsync(string username, string role)
    {
        var created = await Host.PostJsonAsync<IdOnly>("/api/accounts", new { username, displayName = username, password = "a long enough passphrase", role });
        return created.Id;
    }

    private async Task SetMappingsAsync(params object[] mappings)
    {
        using var response = await Host.Client.PutAsJsonAsync("/api/sign-in/mappings", new { mappings }, HomeroomHost.Json);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"PUT mappings answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    private async Task<StaffAccount?> AccountAsync(string email)
    {
        await using var db = await Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.StaffAccounts.AsNoTracking().FirstOrDefaultAsync(a => a.Username == email.ToLowerInvariant());
    }

    private async Task<List<string?>> AuditAsync(string action, string? target)
    {
        await using var db = await Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.AuditLog.AsNoTracking().Where(a => a.Action == action && (target == null || a.TargetId == target)).Select(a => a.Details).ToListAsync();
    }

    private sealed record IdOnly(Guid Id);
}
