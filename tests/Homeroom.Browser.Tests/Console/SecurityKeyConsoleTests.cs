using System.Text.Json;
using System.Text.RegularExpressions;
using Homeroom.Browser.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>A server that requires two-step sign-in of district administrators (other roles choose).</summary>
public sealed class SecurityKeyServer : BrowserDistrict
{
    protected override string[] Settings => ["DetailedErrors=true", "Homeroom:Accounts:RequireTwoStepForDistrictAdmins=true"];
}

/// <summary>
/// Security keys end to end in Chromium, with Chromium's virtual authenticator (DevTools WebAuthn domain: a CTAP2 USB
/// key with user verification) standing in for a key in a USB port: added on the account page, then the sign-in page's
/// second step asks the key. The pages are opened at http://localhost, since WebAuthn takes a host name, not an address,
/// as the relying party.
/// </summary>
public sealed class SecurityKeyConsoleTests(SecurityKeyServer server) : IClassFixture<SecurityKeyServer>
{
    private static readonly LocatorAssertionsToHaveCountOptions Soon = new() { Timeout = 15_000 };

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task KeyAddedOnMyAccount_SignsInAfterThePassword_AndAnotherKeyDoesNot()
    {
        (await server.Host.PostJsonAsync("/api/accounts", new { username = "kim", displayName = "Kim Reader", password = BrowserDistrict.Password, role = "readOnly" })).EnsureSuccessStatusCode();
        var (page, cdp) = await OpenAsync();
        var authenticator = await AddAuthenticatorAsync(cdp);
        await SignInWithPasswordAsync(page, "kim");
        await WaitForConsoleAsync(page);

        await page.GetByRole(AriaRole.Link, new() { Name = "My account" }).ClickAsync();
        await Expect(page.GetByTestId("security-keys-none")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await page.GetByTestId("security-key-password").FillAsync(BrowserDistrict.Password);
        await page.GetByTestId("security-key-name").FillAsync("Desk key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add security key" }).ClickAsync();
        await Expect(page.GetByTestId("security-key-row")).ToHaveCountAsync(1, Soon);
        await Expect(page.GetByTestId("security-key-row")).ToContainTextAsync("Desk key");
        await Expect(page.GetByTestId("security-key-row")).ToContainTextAsync("never");
        // The account's first second step: its recovery codes, shown once.
        await Expect(page.GetByTestId("recovery-codes").Locator("li")).ToHaveCountAsync(10, Soon);
        (await CredentialsAsync(cdp, authenticator)).ShouldBe(1);
        await Browsers.ScreenshotAsync(page, "account-security-keys");

        // Signed out, the password alone is not enough: the second step asks the key, which answers.
        await SignOutAsync(page);
        await SignInWithPasswordAsync(page, "kim");
        await page.GetByTestId("security-key-sign-in").ClickAsync();
        await WaitForConsoleAsync(page);
        page.Url.ShouldNotContain("/login");
        await page.GotoAsync("/account");
        await Expect(page.GetByTestId("security-key-row")).Not.ToContainTextAsync("never", new() { Timeout = 15_000 });

        // The key is gone (another key in the port): the second step fails and the page says so.
        await SignOutAsync(page);
        await cdp.SendAsync("WebAuthn.removeVirtualAuthenticator", new Dictionary<string, object> { ["authenticatorId"] = authenticator });
        await AddAuthenticatorAsync(cdp);
        await SignInWithPasswordAsync(page, "kim");
        await page.GetByTestId("security-key-sign-in").ClickAsync();
        await Expect(page.GetByTestId("security-key-error").Or(page.GetByTestId("security-key-refused"))).ToBeVisibleAsync(new() { Timeout = 30_000 });
        page.Url.ShouldContain("/login");
        await Browsers.ScreenshotAsync(page, "sign-in-security-key-refused");
        (await server.Host.GetJsonAsync<JsonElement>("/api/audit?action=auth.security-key-used")).GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task DistrictAdmin_WhereTwoStepIsRequired_HasEverythingAfterAddingAKeyOnly()
    {
        (await server.Host.PostJsonAsync("/api/accounts", new { username = "dana", displayName = "Dana Admin", password = BrowserDistrict.Password, role = "districtAdmin" })).EnsureSuccessStatusCode();
        var (page, cdp) = await OpenAsync();
        await AddAuthenticatorAsync(cdp);
        await SignInWithPasswordAsync(page, "dana");

        // Only the account page, until a second step is set up.
        await Expect(page.GetByTestId("two-step-required")).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await page.GetByTestId("security-key-password").FillAsync(BrowserDistrict.Password);
        await page.GetByTestId("security-key-name").FillAsync("Admin key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add security key" }).ClickAsync();
        await Expect(page.GetByTestId("recovery-codes").Locator("li")).ToHaveCountAsync(10, Soon);
        await page.GetByTestId("two-step-continue").ClickAsync();
        // The continue button loads the console's home page afresh, with the whole role.
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("^http://localhost:[0-9]+/$"), new() { Timeout = 60_000 });
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync(new() { Timeout = 60_000 });

        await page.GotoAsync("/accounts");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("accounts", new() { Timeout = 15_000, IgnoreCase = true });
        await Expect(page.GetByTestId("two-step-required")).ToHaveCountAsync(0);
        (await page.Context.APIRequest.GetAsync("/api/devices", new() { Headers = new Dictionary<string, string> { ["X-Homeroom-Request"] = "1" } })).Status.ShouldBe(200);
        server.ConsoleErrors.GetValueOrDefault(page, []).ShouldBeEmpty();
    }

    private async Task<(IPage Page, ICDPSession Cdp)> OpenAsync()
    {
        var address = new UriBuilder(server.Host.BaseAddress) { Host = "localhost" }.Uri;
        var context = await server.Browser.NewContextAsync(new() { BaseURL = address.AbsoluteUri, ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        server.ConsoleErrors[page] = errors;
        var cdp = await page.Context.NewCDPSessionAsync(page);
        await cdp.SendAsync("WebAuthn.enable");
        return (page, cdp);
    }

    private static async Task<string> AddAuthenticatorAsync(ICDPSession cdp)
    {
        var added = await cdp.SendAsync("WebAuthn.addVirtualAuthenticator", new Dictionary<string, object>
        {
            ["options"] = new Dictionary<string, object>
            {
                ["protocol"] = "ctap2", ["transport"] = "usb", ["hasResidentKey"] = false, ["hasUserVerification"] = true, ["isUserVerified"] = true,
                ["automaticPresenceSimulation"] = true,
            },
        });
        return added!.Value.GetProperty("authenticatorId").GetString()!;
    }

    private static async Task<int> CredentialsAsync(ICDPSession cdp, string authenticator) =>
        (await cdp.SendAsync("WebAuthn.getCredentials", new Dictionary<string, object> { ["authenticatorId"] = authenticator }))!.Value.GetProperty("credentials").GetArrayLength();

    private static async Task SignInWithPasswordAsync(IPage page, string username)
    {
        await page.GotoAsync("/login");
        await page.GetByLabel("Username").FillAsync(username);
        await page.GetByLabel("Password").FillAsync(BrowserDistrict.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    private static async Task WaitForConsoleAsync(IPage page)
    {
        await Assertions.Expect(page).Not.ToHaveURLAsync(new Regex("/login"), new() { Timeout = 60_000 });
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.List).WaitForAsync(new() { Timeout = 60_000 });
    }

    private static async Task SignOutAsync(IPage page)
    {
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/login"), new() { Timeout = 30_000 });
    }
}
