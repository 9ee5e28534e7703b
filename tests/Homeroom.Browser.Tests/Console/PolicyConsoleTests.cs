using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// The console's policy pages in Chromium: the profile editor, the assignment editor with its preview
/// and conflicts, the compliance list, and the device page's effective policy and URL check, as the
/// roles that use them and refused to those that may not.
/// </summary>
public sealed class PolicyConsoleTests(PolicyConsoleDistrict district) : IClassFixture<PolicyConsoleDistrict>
{
    private static readonly LocatorAssertionsToBeVisibleOptions Soon = new() { Timeout = 15_000 };

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task DistrictAdmin_CreatesAProfile_AssignsItToAClass_AndTheDeviceShowsIt()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GetByRole(AriaRole.Link, new() { Name = "Profiles" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Profiles" })).ToBeVisibleAsync();
        await page.GetByTestId("new-profile").ClickAsync();

        // A bad value: the message shows beside the setting, and nothing is saved.
        await page.GetByTestId("profile-name").FillAsync("Science filter");
        await page.GetByLabel("Set webFilter.blockedCategories").CheckAsync();
        await page.Locator("#s-webFilter\\.blockedCategories").FillAsync("games");
        await page.GetByLabel("Set webFilter.blockedSites").CheckAsync();
        await page.Locator("#s-webFilter\\.blockedSites").FillAsync("exa mple.com");
        await page.GetByLabel("Set webFilter.youTube").CheckAsync();
        await page.Locator("#s-webFilter\\.youTube").SelectOptionAsync("strict");
        await page.GetByTestId("save-profile").ClickAsync();
        await Expect(page.GetByTestId("error-webFilter.blockedSites")).ToContainTextAsync("blockedSites[0]", new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("profile-error")).ToContainTextAsync("Nothing was saved");
        await Browsers.ScreenshotAsync(page, "profile-editor-error");
        (await district.ProfileNamesAsync()).ShouldNotContain("Science filter");

        await page.Locator("#s-webFilter\\.blockedSites").FillAsync("tiktok.com");
        await page.GetByTestId("save-profile").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Science filter" })).ToBeVisibleAsync(Soon);
        await Expect(page.GetByTestId("assign-profile")).ToBeVisibleAsync();
        var saved = (await district.Host.GetJsonAsync<JsonElement>("/api/profiles")).EnumerateArray().Single(p => p.GetProperty("name").GetString() == "Science filter");
        saved.GetProperty("settings").GetProperty("webFilter").GetProperty("youTube").GetString().ShouldBe("strict");
        saved.GetProperty("settings").GetProperty("webFilter").GetProperty("blockedSites")[0].GetString().ShouldBe("tiktok.com");

        // Assign it to Science 7: the preview counts the class's three devices and shows the conflict
        // with the class's existing assignment at the same priority before anything is saved.
        await page.GetByTestId("assign-profile").ClickAsync();
        await page.GetByTestId("assignment-level").SelectOptionAsync("Group");
        await Expect(page.GetByTestId("assignment-target").Locator("option", new() { HasText = "Science 7 (Lincoln Middle)" })).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await page.GetByTestId("assignment-target").SelectOptionAsync(new SelectOptionValue { Label = "Science 7 (Lincoln Middle)" });
        await Expect(page.GetByTestId("preview-count")).ToHaveTextAsync("3", new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("preview-device")).ToHaveCountAsync(3);
        await Expect(page.GetByTestId("preview-device").First).ToHaveTextAsync("Ada's Chromebook");
        await Expect(page.GetByTestId("finding-refused")).ToContainTextAsync("Games allowed");
        await Expect(page.GetByTestId("finding-refused")).ToContainTextAsync("webFilter.blockedCategories");
        await Expect(page.GetByTestId("save-assignment")).ToBeDisabledAsync();
        await Browsers.ScreenshotAsync(page, "assignment-conflict");

        await page.GetByTestId("assignment-priority").FillAsync("1");
        await page.GetByTestId("assignment-priority").BlurAsync();
        await Expect(page.GetByTestId("finding-overrides")).ToContainTextAsync("Games allowed", new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("finding-refused")).ToHaveCountAsync(0);
        await page.GetByTestId("save-assignment").ClickAsync();
        await Expect(page.GetByTestId("assignment-row")).ToContainTextAsync("Science 7", new() { Timeout = 15_000 });
        await Browsers.ScreenshotAsync(page, "profile-detail");

        // The device page: each setting with its source and what it overrode, and the URL check.
        await page.GotoAsync($"/devices/{district.ClassDevices[0]}");
        var blocked = page.Locator("[data-testid=effective-setting][data-key='webFilter.blockedCategories']");
        await Expect(blocked).ToContainTextAsync("games", new() { Timeout = 15_000 });
        await Expect(blocked.Locator("td").Nth(2)).ToContainTextAsync("Science filter");
        await Expect(blocked.Locator("td").Nth(2)).ToContainTextAsync("group assignment");
        await Expect(blocked.Locator("td").Nth(3)).ToContainTextAsync("Games allowed");
        await page.GetByTestId("url-check-input").FillAsync("https://play.games.example.org/level/2");
        await page.GetByTestId("url-check-button").ClickAsync();
        await Expect(page.GetByTestId("url-check-answer")).ToContainTextAsync("Blocked", new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("url-check-answer")).ToContainTextAsync("category 'games'");
        await Expect(page.GetByTestId("url-check-answer")).ToContainTextAsync("Science filter");
        await page.GetByTestId("url-check-input").FillAsync("docs.example.org");
        await page.GetByTestId("url-check-button").ClickAsync();
        await Expect(page.GetByTestId("url-check-answer")).ToContainTextAsync("Allowed");
        await Browsers.ScreenshotAsync(page, "device-effective-policy");
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task DistrictAdmin_GivesDesktopBrowsersTheExtension_WithItsConfigurationAsAJsonObject()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GotoAsync("/profiles/new");
        await page.GetByTestId("profile-name").FillAsync("Desktop browsers");
        await page.GetByLabel("Set desktopBrowsers.extensionId").CheckAsync();
        await page.Locator("#s-desktopBrowsers\\.extensionId").FillAsync("haldlgldplgnggkjaafhelgiaglafanh");
        await page.GetByLabel("Set desktopBrowsers.extensionConfig").CheckAsync();

        // JSON that is not an object (or not JSON) is refused beside the setting, and nothing is saved.
        await page.Locator("#s-desktopBrowsers\\.extensionConfig").FillAsync("[\"serverUrl\"]");
        await page.GetByTestId("save-profile").ClickAsync();
        await Expect(page.GetByTestId("error-desktopBrowsers.extensionConfig")).ToContainTextAsync("must be a JSON object", new() { Timeout = 15_000 });
        (await district.ProfileNamesAsync()).ShouldNotContain("Desktop browsers");

        await page.Locator("#s-desktopBrowsers\\.extensionConfig").FillAsync("""
            {
              "serverUrl": { "Value": "https://homeroom.example.org" },
              "enrollmentToken": { "Value": "hre_abc" }
            }
            """);
        await page.GetByTestId("save-profile").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Desktop browsers" })).ToBeVisibleAsync(Soon);
        var saved = (await district.Host.GetJsonAsync<JsonElement>("/api/profiles")).EnumerateArray().Single(p => p.GetProperty("name").GetString() == "Desktop browsers");
        var browsers = saved.GetProperty("settings").GetProperty("desktopBrowsers");
        browsers.GetProperty("extensionId").GetString().ShouldBe("haldlgldplgnggkjaafhelgiaglafanh");
        browsers.GetProperty("extensionConfig").GetProperty("serverUrl").GetProperty("Value").GetString().ShouldBe("https://homeroom.example.org");
        browsers.GetProperty("extensionConfig").GetProperty("enrollmentToken").GetProperty("Value").GetString().ShouldBe("hre_abc");

        // The profile's page shows it again as JSON, ready to edit.
        await Expect(page.Locator("#s-desktopBrowsers\\.extensionConfig")).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("\"enrollmentToken\""), new() { Timeout = 15_000 });
        await Browsers.ScreenshotAsync(page, "profile-desktop-browsers");
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task Compliance_ListsAnOfflineDeviceBehindItsPolicy()
    {
        await district.WaitForComplianceAsync("Offline spare");
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GotoAsync("/compliance");
        var row = page.GetByTestId("compliance-row").Filter(new() { HasText = "Offline spare" });
        await Expect(row).ToBeVisibleAsync(Soon);
        await Expect(row).ToContainTextAsync("Offline");
        await Browsers.ScreenshotAsync(page, "compliance");
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task SchoolAdmin_PicksOnlyTheirSchoolsTargets()
    {
        var page = await district.SignInAsync("lincoln-admin", PolicyConsoleDistrict.Password);
        await page.GotoAsync($"/profiles/{district.DistrictProfile}");
        await page.GetByTestId("assign-profile").ClickAsync();

        await Expect(page.GetByTestId("assignment-level").Locator("option")).ToHaveCountAsync(3, new() { Timeout = 15_000 });
        var levels = await page.GetByTestId("assignment-level").Locator("option").AllTextContentsAsync();
        levels.ShouldBe(["School", "Group or class", "Device"]);
        await page.GetByTestId("assignment-level").SelectOptionAsync("Group");
        await Expect(page.GetByTestId("assignment-target").Locator("option", new() { HasText = "Science 7 (Lincoln Middle)" })).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        var groups = await page.GetByTestId("assignment-target").Locator("option").AllTextContentsAsync();
        groups.ShouldContain("Science 7 (Lincoln Middle)");
        groups.ShouldNotContain("Franklin 7 (Franklin High)");

        await page.GetByTestId("assignment-level").SelectOptionAsync("Device");
        await page.GetByTestId("assignment-search").FillAsync("Franklin");
        await Expect(page.GetByTestId("assignment-target").Locator("option")).ToHaveCountAsync(1, new() { Timeout = 15_000 }); // "Choose…" only
        await page.GetByTestId("assignment-search").FillAsync("Ada");
        await Expect(page.GetByTestId("assignment-target").Locator("option")).ToHaveCountAsync(2, new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("preview-count")).ToHaveTextAsync("1", new() { Timeout = 15_000 });
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task Teacher_GetsTheNotAllowedPage_OnProfiles()
    {
        var page = await district.SignInAsync("rivera", PolicyConsoleDistrict.Password);
        await page.GotoAsync("/profiles");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync(Soon);
        (await page.ContentAsync()).ShouldNotContain("Games allowed");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Profiles" })).ToHaveCountAsync(0);
        await page.GotoAsync("/compliance");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync(Soon);
    }
}

/// <summary>
/// A small district for the policy pages, of its own so these tests change no other test's devices:
/// Lincoln Middle with Science 7 (three students, each with an enrolled Chromebook) and a spare that
/// never connects; Franklin High with a class and a device; a "games" filter list; the profile
/// "Games allowed" on Science 7; a school administrator of Lincoln and a teacher.
/// </summary>
public sealed class PolicyConsoleDistrict : BrowserDistrict
{
    public List<Guid> ClassDevices { get; } = [];
    public Guid DistrictProfile { get; private set; }

    protected override int WindowHeight => 900;

    protected override async Task SeedAsync()
    {
        var lincoln = await IdAsync("/api/schools", new { name = "Lincoln Middle", timeZone = "UTC" });
        var franklin = await IdAsync("/api/schools", new { name = "Franklin High", timeZone = "UTC" });
        var science = await IdAsync("/api/groups", new { name = "Science 7", kind = "class", schoolId = lincoln });
        var franklinClass = await IdAsync("/api/groups", new { name = "Franklin 7", kind = "class", schoolId = franklin });
        var token = await Host.CreateTokenAsync();
        foreach (var (name, school, group) in new[] { ("Cara's Chromebook", lincoln, science), ("Ada's Chromebook", lincoln, science), ("Ben's Chromebook", lincoln, science), ("Franklin Chromebook", franklin, franklinClass) })
        {
            var device = await DeviceAsync(token, name, school);
            var student = await IdAsync("/api/people", new { kind = "student", givenName = name.Split('\'')[0], familyName = "Student", schoolId = school, gradeLevel = 7 });
            (await Host.Client.PatchAsJsonAsync($"/api/devices/{device}", new { assignedPersonId = student }, HomeroomHost.Json)).EnsureSuccessStatusCode();
            (await Host.PostJsonAsync($"/api/groups/{group}/members", new { personIds = new[] { student } })).EnsureSuccessStatusCode();
            if (group == science)
            {
                ClassDevices.Add(device);
            }
        }

        var spare = await DeviceAsync(token, "Offline spare", lincoln);

        using (var list = new StringContent("games.example.org\n", Encoding.UTF8, "text/plain"))
        {
            (await Host.Client.PostAsync("/api/filter-lists?name=Games&format=plain&category=games", list)).EnsureSuccessStatusCode();
        }

        var gamesAllowed = await IdAsync("/api/profiles", new { name = "Games allowed", settings = new { webFilter = new { blockedCategories = Array.Empty<string>() } } });
        await IdAsync("/api/assignments", new { profileId = gamesAllowed, level = "group", scopeId = science.ToString(), priority = 0 });
        DistrictProfile = await IdAsync("/api/profiles", new { name = "Lock message", settings = new { device = new { lockMessage = "Ask your teacher" } } });
        await IdAsync("/api/assignments", new { profileId = DistrictProfile, level = "device", scopeId = spare.ToString() });

        await AccountAsync("lincoln-admin", "schoolAdmin", lincoln, displayName: "Lincoln Admin");
        var teacher = await IdAsync("/api/people", new { kind = "staff", givenName = "Ms.", familyName = "Rivera", schoolId = lincoln });
        (await Host.PostJsonAsync($"/api/groups/{science}/members", new { personIds = new[] { teacher } })).EnsureSuccessStatusCode();
        await AccountAsync("rivera", "teacher", personId: teacher, displayName: "Ms. Rivera");
    }

    private async Task<Guid> DeviceAsync(string token, string name, Guid school)
    {
        var device = (await Host.EnrollAsync(token, "SN-" + Guid.NewGuid().ToString("N")[..10])).DeviceId;
        (await Host.Client.PatchAsJsonAsync($"/api/devices/{device}", new { name, schoolId = school }, HomeroomHost.Json)).EnsureSuccessStatusCode();
        return device;
    }

    public async Task<List<string?>> ProfileNamesAsync() =>
        (await Host.GetJsonAsync<JsonElement>("/api/profiles")).EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();

    /// <summary>Waits until the distributor has given the device a policy it has not applied.</summary>
    public Task WaitForComplianceAsync(string deviceName) => Poll.UntilAsync(async () =>
        (await Host.GetJsonAsync<JsonElement>("/api/policies/compliance?pageSize=200")).GetProperty("items").EnumerateArray().Any(i => i.GetProperty("deviceName").GetString() == deviceName),
        TimeSpan.FromSeconds(30));
}
