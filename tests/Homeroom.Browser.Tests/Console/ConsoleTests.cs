using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>The web console in Chromium against a real server with simulated devices.</summary>
[Collection(nameof(ConsoleCollection))]
public sealed class ConsoleTests(ConsoleDistrict district)
{
    private static readonly LocatorAssertionsToHaveCountOptions Soon = new() { Timeout = 15_000 };

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task Administrator_SignsIn_SeesTheOverview_AndFindsDevices()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();
        await Expect(page.GetByTestId("total-devices")).ToHaveTextAsync("6");
        await Expect(page.GetByTestId("online-devices")).ToHaveTextAsync("6", new() { Timeout = 15_000 });
        await Browsers.ScreenshotAsync(page, "overview");

        await page.GetByRole(AriaRole.Link, new() { Name = "Devices" }).ClickAsync();
        await Expect(page.GetByTestId("device-row")).ToHaveCountAsync(6, Soon);
        var serial = district.Fleet.Devices[2].Spec.Serial;
        await page.GetByTestId("device-search").FillAsync(serial);
        await Expect(page.GetByTestId("device-row")).ToHaveCountAsync(1, Soon);
        await Expect(page.GetByTestId("device-row")).ToContainTextAsync(serial);
        await page.GetByTestId("device-search").FillAsync("");
        await Expect(page.GetByTestId("device-row")).ToHaveCountAsync(6, Soon);
        await Browsers.ScreenshotAsync(page, "devices");

        // Device detail: inventory and an action with its per-device status.
        await page.GetByTestId("device-row").First.GetByRole(AriaRole.Link).ClickAsync();
        await Expect(page.GetByTestId("device-online")).ToHaveTextAsync("online");
        await page.GetByRole(AriaRole.Button, new() { Name = "Locate" }).ClickAsync();
        await Expect(page.GetByTestId("device-commands")).ToContainTextAsync("Succeeded", new() { Timeout = 15_000 });
        await Browsers.ScreenshotAsync(page, "device-detail");

        // The audit viewer, filtered.
        await page.GetByRole(AriaRole.Link, new() { Name = "Audit log" }).ClickAsync();
        await page.GetByTestId("audit-action").FillAsync("command.issue");
        await Expect(page.GetByTestId("audit-row").First).ToContainTextAsync("command.issue", new() { Timeout = 15_000 });
        await Poll.UntilAsync(async () => (await page.GetByTestId("audit-row").AllTextContentsAsync()).All(row => row.Contains("command.issue")), TimeSpan.FromSeconds(10));
        await page.GetByTestId("audit-action").FillAsync("auth.sign-in");
        await Expect(page.GetByTestId("audit-row").First).ToContainTextAsync("admin");
        await Browsers.ScreenshotAsync(page, "audit");

        // Enrollment tokens: the secret is shown once and enrolls; revoked, it does not.
        await page.GetByRole(AriaRole.Link, new() { Name = "Enrollment tokens" }).ClickAsync();
        await page.GetByTestId("token-name").FillAsync("Cart 12 spares");
        await page.GetByTestId("create-token").ClickAsync();
        var secret = await page.GetByTestId("token-secret").TextContentAsync();
        secret.ShouldStartWith("hre_");
        (await district.Host.EnrollAsync(secret!, "SN-CONSOLE-1")).DeviceId.ShouldNotBe(Guid.Empty);
        await Browsers.ScreenshotAsync(page, "enrollment-tokens");
        await page.GetByTestId("token-row").Filter(new() { HasText = "Cart 12 spares" }).GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await Expect(page.GetByTestId("token-row").Filter(new() { HasText = "Cart 12 spares" })).ToContainTextAsync("revoked");
        await Should.ThrowAsync<HttpRequestException>(() => district.Host.EnrollAsync(secret!, "SN-CONSOLE-2"));
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task Teacher_StartsASession_LocksTheClass_SendsAMessage_AndWatchesScreens()
    {
        var page = await district.SignInAsync("rivera", ConsoleDistrict.TeacherPassword);
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"/classroom(\?|$)"));
        await page.GetByTestId("class-picker").SelectOptionAsync(new SelectOptionValue { Label = "Science 7" });
        await Expect(page.GetByTestId("tile")).ToHaveCountAsync(4, Soon);
        await Expect(page.GetByTestId("tile").First).ToContainTextAsync("Ada Lovelace");
        await page.GetByTestId("start-session").ClickAsync();
        await Expect(page.GetByTestId("session-state")).ToContainTextAsync("In session");

        // Thumbnails arrive while she watches, and change.
        var firstImage = page.GetByTestId("tile").First.Locator("img");
        await Expect(firstImage).ToBeVisibleAsync(new() { Timeout = 15_000 });
        var before = await firstImage.GetAttributeAsync("src");
        await Poll.UntilAsync(async () => await firstImage.GetAttributeAsync("src") != before, TimeSpan.FromSeconds(10));
        (await firstImage.EvaluateAsync<int>("img => img.naturalWidth")).ShouldBeGreaterThan(0);

        // Lock the class: every tile shows locked, and every device is.
        await page.GetByTestId("lock-class").ClickAsync();
        await Expect(page.Locator("[data-testid=tile][data-state=locked]")).ToHaveCountAsync(4, Soon);
        // The status line counts the devices' acknowledgements as they come, without a reload.
        await Expect(page.GetByTestId("classroom-status")).ToHaveTextAsync("lock: 4 of 4 acknowledged", new() { Timeout = 15_000 });
        district.ScienceDevices.ShouldAllBe(d => d.Locked);
        district.ArtDevices.ShouldAllBe(d => !d.Locked);
        await Browsers.ScreenshotAsync(page, "classroom-locked");

        await page.GetByTestId("class-message").FillAsync("Eyes up front, please");
        await page.GetByTestId("send-message").ClickAsync();
        await Poll.UntilAsync(() => Task.FromResult(district.ScienceDevices.All(d => d.LastMessage == "Eyes up front, please")));
        district.ArtDevices.ShouldAllBe(d => d.LastMessage != "Eyes up front, please");

        // One student: a larger live view, then unlock just that tile.
        await page.GetByTestId("tile").First.Locator("button.screen").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Dialog)).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Dialog).Locator("img")).ToBeVisibleAsync();

        // Keyboard users land on the dialog's Close button, and Escape there closes it.
        await Expect(page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Close" })).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Escape");
        await Expect(page.GetByRole(AriaRole.Dialog)).ToHaveCountAsync(0);

        await page.GetByTestId("unlock-class").ClickAsync();
        await Expect(page.Locator("[data-testid=tile][data-state=online]")).ToHaveCountAsync(4, Soon);
        district.ScienceDevices.ShouldAllBe(d => !d.Locked);

        // Focus mode reaches the devices; ending the session ends it and the viewing.
        await page.GetByTestId("focus-sites").FillAsync("docs.google.com khanacademy.org");
        await page.GetByTestId("start-focus").ClickAsync();
        await Poll.UntilAsync(() => Task.FromResult(district.ScienceDevices.All(d => d.FocusSites is { Count: 2 })));
        await page.GetByTestId("end-session").ClickAsync();
        await Expect(page.GetByTestId("session-state")).ToContainTextAsync("Not in session");
        await Poll.UntilAsync(() => Task.FromResult(district.ScienceDevices.All(d => d.FocusSites is null)));
        district.ConsoleErrors[page].ShouldBeEmpty();

        // Every action is in the audit log under her name.
        var audit = await district.Host.GetJsonAsync<JsonElement>("/api/audit?actor=rivera&pageSize=100");
        var actions = audit.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        actions.ShouldContain("auth.sign-in");
        actions.ShouldContain("class.session.start");
        actions.ShouldContain("class.screen-view.start");
        actions.ShouldContain("command.issue");
        actions.ShouldContain("class.session.end");
    }

    [Fact]
    public async Task Teacher_OfAnotherClass_CannotSeeTheseStudents_InTheConsoleOrTheApi()
    {
        var page = await district.SignInAsync("chen", ConsoleDistrict.TeacherPassword);
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"/classroom(\?|$)"));
        await Expect(page.GetByTestId("class-picker").Locator("option", new() { HasText = "Art 7" })).ToHaveCountAsync(1, Soon);
        var options = await page.GetByTestId("class-picker").Locator("option").AllTextContentsAsync();
        options.ShouldContain("Art 7");
        options.ShouldNotContain("Science 7");
        (await page.ContentAsync()).ShouldNotContain("Ada Lovelace");

        // Another teacher's class does not exist for her, by URL in the console or in the API.
        await page.GotoAsync($"/classroom/{district.Science}");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not found" })).ToBeVisibleAsync();
        (await page.ContentAsync()).ShouldNotContain("Ada Lovelace");
        foreach (var path in new[] { $"/api/groups/{district.Science}/classroom", $"/api/groups/{district.Science}/screens/{district.ScienceDevices[0].DeviceId}" })
        {
            var response = await page.Context.APIRequest.GetAsync(path);
            response.Status.ShouldBe((int)HttpStatusCode.NotFound, path);
        }

        // Device pages are not a teacher's at all.
        (await page.Context.APIRequest.GetAsync($"/api/devices/{district.ScienceDevices[0].DeviceId}")).Status.ShouldBe((int)HttpStatusCode.Forbidden);
        await page.GotoAsync("/devices");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();

        var lockOther = await page.Context.APIRequest.PostAsync($"/api/groups/{district.Science}/commands", new()
        {
            DataObject = new { kind = "lock" },
            Headers = new Dictionary<string, string> { ["X-Homeroom-Request"] = "1" },
        });
        lockOther.Status.ShouldBe((int)HttpStatusCode.NotFound);
        district.ScienceDevices.ShouldAllBe(d => !d.Locked);

        // The refused pages are reported by the browser as failed loads; nothing else went wrong.
        district.ConsoleErrors[page].Where(e => !e.Contains("Failed to load resource", StringComparison.Ordinal)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Viewing_AfterHours_IsRefused()
    {
        var page = await district.SignInAsync("chen", ConsoleDistrict.TeacherPassword);
        await page.GotoAsync($"/classroom/{district.Art}");
        await Expect(page.GetByTestId("session-state")).ToContainTextAsync("Not in session");
        await Expect(page.GetByTestId("tile")).ToHaveCountAsync(2, Soon);
        await Expect(page.Locator("[data-testid=tile] img")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("lock-class")).ToHaveCountAsync(0);
        await Browsers.ScreenshotAsync(page, "classroom-after-hours");

        var headers = new Dictionary<string, string> { ["X-Homeroom-Request"] = "1" };
        (await page.Context.APIRequest.PostAsync($"/api/groups/{district.Art}/screen-view", new() { Headers = headers })).Status.ShouldBe(403);
        (await page.Context.APIRequest.PostAsync($"/api/groups/{district.Art}/commands", new() { DataObject = new { kind = "lock" }, Headers = headers })).Status.ShouldBe(403);
        district.ArtDevices.ShouldAllBe(d => !d.Locked);
    }

    [Fact]
    public async Task StaffMember_ChangesTheirPassword_AndSignsInWithTheNewOne()
    {
        (await district.Host.PostJsonAsync("/api/accounts", new { username = "tech", displayName = "Sam Tech", password = "the first long password", role = "itTechnician" })).EnsureSuccessStatusCode();
        var page = await district.SignInAsync("tech", "the first long password");
        await page.GetByRole(AriaRole.Link, new() { Name = "My account" }).ClickAsync();
        await page.GetByRole(AriaRole.Form, new() { Name = "Change password" }).GetByLabel("Current password").FillAsync("not my password at all");
        await page.GetByRole(AriaRole.Form, new() { Name = "Change password" }).GetByLabel("New password").FillAsync("the second long password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();
        await Expect(page.GetByTestId("password-result")).ToHaveTextAsync("The current password is wrong.");
        await page.GetByRole(AriaRole.Form, new() { Name = "Change password" }).GetByLabel("Current password").FillAsync("the first long password");
        await page.GetByRole(AriaRole.Form, new() { Name = "Change password" }).GetByLabel("New password").FillAsync("the second long password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();
        await Expect(page.GetByTestId("password-result")).ToHaveTextAsync("Password changed.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        // Signing out ends the session, and the live connection also sends the page to sign-in: either navigation may win.
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/login"));

        var again = await district.SignInAsync("tech", "the second long password");
        await Expect(again.GetByTestId("signed-in-as")).ToHaveTextAsync("tech");
        var audit = await district.Host.GetJsonAsync<JsonElement>("/api/audit?actor=tech&pageSize=100");
        var actions = audit.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        actions.ShouldContain("auth.password-change-failed");
        actions.ShouldContain("auth.password-change");
        actions.ShouldContain("auth.sign-out");
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task SignedInPage_WhenTheAccountIsDisabled_StopsShowingDataAndGoesToSignIn()
    {
        var account = await district.Host.PostJsonAsync<JsonElement>("/api/accounts", new { username = "dana", displayName = "Dana Admin", password = "a long enough passphrase", role = "districtAdmin" });
        var page = await district.SignInAsync("dana", "a long enough passphrase");
        await page.GetByRole(AriaRole.Link, new() { Name = "Devices" }).ClickAsync();
        await Expect(page.GetByTestId("device-row").First).ToBeVisibleAsync(new() { Timeout = 15_000 });

        (await district.Host.Client.PutAsJsonAsync($"/api/accounts/{account.GetProperty("id").GetGuid()}", new { disabled = true })).EnsureSuccessStatusCode();

        // Within a few seconds (the interval check is 30 s away): the live connection closes and the browser is asked to sign in.
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"/login(\?|$)"), new() { Timeout = 10_000 });
        await Expect(page.GetByLabel("Username")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("device-row")).ToHaveCountAsync(0);
        await Browsers.ScreenshotAsync(page, "signed-out-when-disabled");
    }

    [Fact]
    public async Task MyAccount_ListsWhereIAmSignedIn_AndSignsOutTheOtherBrowser()
    {
        (await district.Host.PostJsonAsync("/api/accounts", new { username = "robin", displayName = "Robin Tech", password = "a long enough passphrase", role = "itTechnician" })).EnsureSuccessStatusCode();
        var laptop = await district.SignInAsync("robin", "a long enough passphrase");
        var office = await district.SignInAsync("robin", "a long enough passphrase");
        await office.GetByRole(AriaRole.Link, new() { Name = "My account" }).ClickAsync();
        await Expect(office.GetByTestId("session-row")).ToHaveCountAsync(2, Soon);
        await Expect(office.GetByTestId("session-row").Filter(new() { HasText = "this browser" })).ToHaveCountAsync(1);
        await Browsers.ScreenshotAsync(office, "account-sessions");

        await office.GetByTestId("end-other-sessions").ClickAsync();

        await Expect(office.GetByTestId("session-row")).ToHaveCountAsync(1);
        // The other browser is told at once (SessionTests prove the at-once path with a 10-minute revalidation).
        // Its address is watched with an assertion, not WaitForURL: when the address has already changed,
        // WaitForURL waits for a load state instead, and that wait hung on loaded CI machines (three times, at
        // 10, 30 and 50 s) although the browser was on the sign-in page. The 30 s revalidation is the fallback.
        await Assertions.Expect(laptop).ToHaveURLAsync(new Regex(@"/login(\?|$)"), new() { Timeout = 50_000 });
        await office.ReloadAsync();
        await Expect(office.GetByRole(AriaRole.Heading, new() { Name = "My account" })).ToBeVisibleAsync();
        district.ConsoleErrors[office].ShouldBeEmpty();
    }

    [Fact]
    public async Task TwoStepSignIn_SetUpOnMyAccount_ThenTheSignInPageAsksForTheCode()
    {
        (await district.Host.PostJsonAsync("/api/accounts", new { username = "tess", displayName = "Tess Reader", password = "a long enough passphrase", role = "readOnly" })).EnsureSuccessStatusCode();
        var page = await district.SignInAsync("tess", "a long enough passphrase");
        await page.GetByRole(AriaRole.Link, new() { Name = "My account" }).ClickAsync();
        await page.GetByTestId("two-step-password").FillAsync("a long enough passphrase");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set up two-step sign-in" }).ClickAsync();
        await Expect(page.GetByAltText("QR code of the authenticator key")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        var secret = await page.GetByTestId("two-step-secret").InnerTextAsync();
        await page.GetByTestId("two-step-confirm-code").FillAsync(TwoStepCodes.At(secret, district.Host.Clock.GetUtcNow()));
        await page.GetByRole(AriaRole.Button, new() { Name = "Turn on" }).ClickAsync();
        await Expect(page.GetByTestId("recovery-codes").Locator("li")).ToHaveCountAsync(10, Soon);
        await Expect(page.GetByTestId("two-step-state")).ToContainTextAsync("On since");
        await Browsers.ScreenshotAsync(page, "account-two-step");
        district.ConsoleErrors[page].ShouldBeEmpty();

        // A new browser: the password, then a page that asks only for the code.
        district.Host.Clock.Advance(TimeSpan.FromSeconds(30));
        var context = await district.Browser.NewContextAsync(new() { BaseURL = district.Host.BaseAddress.AbsoluteUri });
        var other = await context.NewPageAsync();
        await other.GotoAsync("/login");
        await other.GetByLabel("Username").FillAsync("tess");
        await other.GetByLabel("Password").FillAsync("a long enough passphrase");
        await other.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(other.GetByTestId("two-step-code")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await other.GetByTestId("two-step-code").FillAsync("000000" == TwoStepCodes.At(secret, district.Host.Clock.GetUtcNow()) ? "111111" : "000000");
        await other.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(other.GetByRole(AriaRole.Alert)).ToContainTextAsync("Wrong or expired code", new() { Timeout = 15_000 });
        await other.GetByTestId("two-step-code").FillAsync(TwoStepCodes.At(secret, district.Host.Clock.GetUtcNow()));
        await other.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await other.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.List).WaitForAsync(new() { Timeout = 60_000 });
        other.Url.ShouldNotContain("/login");
    }

    [Fact]
    public async Task SignIn_WithAWrongPassword_IsRefused_AndPagesNeedSignIn()
    {
        var context = await district.Browser.NewContextAsync(new() { BaseURL = district.Host.BaseAddress.AbsoluteUri });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/devices");
        page.Url.ShouldContain("/login");
        await page.GetByLabel("Username").FillAsync("rivera");
        await page.GetByLabel("Password").FillAsync("not the password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Wrong username or password");
        await Browsers.ScreenshotAsync(page, "sign-in");
    }

    [Fact]
    public async Task DevicePage_ShowsAnIPadsDeclarativeStatus_AndRevokesIt_AndAllowsItToEnrollAgain()
    {
        using var ipad = new Homeroom.Simulator.Apple.VirtualAppleDevice(district.Host.Client, district.Host.BaseAddress, "00008030-0042A2D3E0C38802E", "DMPXCONSOLE42");
        await ipad.InstallEnrollmentProfileAsync(await district.Host.CreateTokenAsync());
        (await ipad.AuthenticateAsync()).EnsureSuccessStatusCode();
        (await ipad.TokenUpdateAsync()).EnsureSuccessStatusCode();
        (await ipad.SendAsync("/mdm/checkin", new()
        {
            ["MessageType"] = "DeclarativeManagement",
            ["UDID"] = ipad.Udid,
            ["Endpoint"] = "status",
            ["Data"] = System.Text.Encoding.UTF8.GetBytes("""{"StatusItems":{"softwareupdate":{"install-state":"downloading"}}}"""),
        })).EnsureSuccessStatusCode();
        var id = (await district.Host.GetJsonAsync<JsonElement>($"/api/devices?q={ipad.Serial}")).GetProperty("items")[0].GetProperty("id").GetGuid();

        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GotoAsync($"/devices/{id}");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync(ipad.Serial);
        await Expect(page.GetByTestId("apple-status")).ToContainTextAsync("Supervised");
        await Expect(page.GetByTestId("declarative-status")).ToContainTextAsync("downloading");
        await Browsers.ScreenshotAsync(page, "device-detail-ipad");

        // Revoking asks first, then the device is cut off; an administrator may let it enroll again.
        await page.GetByTestId("revoke").ClickAsync();
        await page.GetByTestId("confirm-revoke").ClickAsync();
        await Expect(page.GetByTestId("device-revoked")).ToBeVisibleAsync();
        await page.GetByTestId("approve-reenrollment").ClickAsync();
        await Expect(page.GetByTestId("reenrollment-approved")).ToBeVisibleAsync();
        var device = await district.Host.GetJsonAsync<JsonElement>($"/api/devices/{id}");
        device.GetProperty("revokedAt").ValueKind.ShouldBe(JsonValueKind.String);
        device.GetProperty("reenrollmentApprovedUntil").ValueKind.ShouldBe(JsonValueKind.String);
        var audit = await district.Host.GetJsonAsync<JsonElement>($"/api/audit?targetId={id}");
        var actions = audit.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        actions.ShouldContain("device.revoke");
        actions.ShouldContain("device.reenrollment.approve");
        district.ConsoleErrors[page].ShouldBeEmpty();
    }
}

[CollectionDefinition(nameof(ConsoleCollection))]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleDistrict>;
