using System.Net;
using System.Text;
using System.Text.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// A district for the filter-list and enrollment-token pages: one school with a Chromebook cart, a
/// school administrator of it, and Chromium. No devices: these pages need none.
/// </summary>
public sealed class FilterConsoleDistrict : BrowserDistrict
{
    public const string PrincipalPassword = Password;

    public Guid School { get; private set; }
    public Guid Cart { get; private set; }

    protected override int WindowHeight => 900;

    protected override async Task SeedAsync()
    {
        School = await IdAsync("/api/schools", new { name = "Lincoln Middle", timeZone = "UTC" });
        await IdAsync("/api/schools", new { name = "Roosevelt High", timeZone = "UTC" });
        Cart = await IdAsync("/api/groups", new { name = "Cart 3", kind = "cart", schoolId = School });
        await AccountAsync("principal", "schoolAdmin", School, displayName: "Pat Principal");
    }
}

/// <summary>The filter-list page and the enrollment tokens' setup help, in Chromium against a real server.</summary>
public sealed class FilterConsoleTests(FilterConsoleDistrict district) : IClassFixture<FilterConsoleDistrict>
{
    // A 1x1 PNG image.
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task DistrictAdmin_UploadsAPlainList_ThenAPng_AndTestsAUrl()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GetByRole(AriaRole.Link, new() { Name = "Filter lists" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Filter lists", Level = 1 })).ToBeVisibleAsync();

        // A plain list large enough to arrive in several pieces, with one bad line (line 3).
        var text = new StringBuilder("# district blocks\n0.0.0.0 roblox.test\nnot a host at all\ntiktok.test/videos\n");
        for (var i = 0; i < 20_000; i++)
        {
            text.Append("game").Append(i).Append(".test\n");
        }

        await page.GetByTestId("list-file").SetInputFilesAsync(new FilePayload { Name = "district-blocks.txt", MimeType = "text/plain", Buffer = Encoding.UTF8.GetBytes(text.ToString()) });
        // The file's name suggests the list's name and category; the category is changed once the suggestion is there.
        await Expect(page.GetByTestId("list-category")).ToHaveValueAsync("district-blocks");
        await Expect(page.GetByTestId("list-name")).ToHaveValueAsync("district-blocks");
        await page.GetByTestId("list-category").FillAsync("district_block");
        await page.GetByTestId("upload-list").ClickAsync();

        await Expect(page.GetByTestId("upload-result")).ToContainTextAsync("Added district-blocks: 20,002 entries in 1 category, 1 line skipped", new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("upload-progress")).ToHaveTextAsync("100%");
        (await page.GetByTestId("upload-progress-bar").GetAttributeAsync("value")).ShouldBe("100");
        var report = page.GetByTestId("import-report");
        await Expect(report.GetByTestId("list-categories")).ToContainTextAsync("district_block");
        await Expect(report.GetByTestId("list-categories")).ToContainTextAsync("20,002");
        await Expect(report.GetByTestId("skipped-line")).ToHaveCountAsync(1);
        await Expect(report.GetByTestId("skipped-line").Locator("td").Nth(1)).ToHaveTextAsync("3");
        await Expect(report.GetByTestId("skipped-line")).ToContainTextAsync("A line holds one host or host/path.");
        await Expect(page.GetByTestId("category-row").Filter(new() { HasText = "district_block" })).ToContainTextAsync("20,002");
        await Browsers.ScreenshotAsync(page, "filter-lists");

        // A picture under the same name: refused by what it is, and the list stays as it was.
        await page.GetByTestId("list-file").SetInputFilesAsync(new FilePayload { Name = "logo.png", MimeType = "image/png", Buffer = Png });
        await Expect(page.GetByTestId("list-name")).ToHaveValueAsync("district-blocks");
        await page.GetByTestId("upload-list").ClickAsync();
        await Expect(page.GetByTestId("upload-error")).ToContainTextAsync("This file is not a filter list. It is a PNG image, not a list.");
        await Expect(page.GetByTestId("list-row")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("list-row").GetByTestId("list-entries")).ToHaveTextAsync("20,002");
        await Browsers.ScreenshotAsync(page, "filter-lists-refused");
        var lists = await district.Host.GetJsonAsync<JsonElement>("/api/filter-lists");
        lists.GetArrayLength().ShouldBe(1);
        lists[0].GetProperty("entries").GetInt32().ShouldBe(20_002);

        // Which category lists a URL, and as which host; and which profile's site rule decides it.
        (await district.Host.PostJsonAsync("/api/profiles", new { name = "Middle school day", settings = new { webFilter = new { blockedSites = new[] { "roblox.test/games" }, allowedSites = new[] { "docs.example.org" } } } }))
            .EnsureSuccessStatusCode();
        await page.ReloadAsync();
        await Expect(page.GetByTestId("site-rule-row")).ToContainTextAsync("Middle school day");
        await Expect(page.GetByTestId("site-rule-row")).ToContainTextAsync("roblox.test/games");
        await page.GetByTestId("test-url").FillAsync("https://www.roblox.test/games/1");
        await page.GetByTestId("test-submit").ClickAsync();
        await Expect(page.GetByTestId("test-match")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("test-match")).ToContainTextAsync("district_block");
        await Expect(page.GetByTestId("test-match")).ToContainTextAsync("roblox.test");
        await Expect(page.GetByTestId("test-site-rule")).ToHaveTextAsync("Profile Middle school day blocks it by its site rule roblox.test/games.");
        await page.GetByTestId("test-url").FillAsync("https://www.example.org/");
        await page.GetByTestId("test-list").SelectOptionAsync(new SelectOptionValue { Label = "district-blocks" });
        await page.GetByTestId("test-submit").ClickAsync();
        await Expect(page.GetByTestId("test-result")).ToContainTextAsync("www.example.org is in no category of district-blocks");
        await Browsers.ScreenshotAsync(page, "filter-lists-url-test");
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task DistrictAdmin_CreatesATokenForASchoolsCart_AndGetsTheSetupHelp()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GetByRole(AriaRole.Link, new() { Name = "Enrollment tokens" }).ClickAsync();
        await page.GetByTestId("token-name").FillAsync("Cart 3 Chromebooks");
        await page.GetByTestId("token-school").SelectOptionAsync(new SelectOptionValue { Label = "Lincoln Middle" });
        await page.GetByTestId("token-group").SelectOptionAsync(new SelectOptionValue { Label = "Cart 3 (Cart)" });
        await page.GetByTestId("create-token").ClickAsync();

        var secret = await page.GetByTestId("token-secret").TextContentAsync();
        secret.ShouldNotBeNull().ShouldStartWith("hre_");
        using (var config = JsonDocument.Parse((await page.GetByTestId("chrome-config").TextContentAsync())!))
        {
            config.RootElement.GetProperty("enrollmentToken").GetProperty("Value").GetString().ShouldBe(secret);
            config.RootElement.GetProperty("serverUrl").GetProperty("Value").GetString().ShouldBe(district.Host.BaseAddress.AbsoluteUri.TrimEnd('/'));
        }

        await Expect(page.GetByTestId("apple-url")).ToHaveTextAsync($"{district.Host.BaseAddress.AbsoluteUri.TrimEnd('/')}/mdm/enroll?token={Uri.EscapeDataString(secret)}");
        foreach (var qr in new[] { "chrome-qr", "apple-qr" })
        {
            var image = page.GetByTestId(qr);
            await Expect(image).ToBeVisibleAsync();
            (await image.GetAttributeAsync("src")).ShouldNotBeNull().ShouldStartWith("data:image/png;base64,");
            (await image.EvaluateAsync<int>("img => img.naturalWidth")).ShouldBeGreaterThan(100);
        }

        await Expect(page.GetByTestId("token-row").Filter(new() { HasText = "Cart 3 Chromebooks" })).ToContainTextAsync("Cart 3, Lincoln Middle");
        await Browsers.ScreenshotAsync(page, "enrollment-setup");

        // The token enrolls into that school and cart.
        var token = (await district.Host.GetJsonAsync<JsonElement>("/api/enrollment-tokens")).GetProperty("items").EnumerateArray()
            .Single(t => t.GetProperty("name").GetString() == "Cart 3 Chromebooks");
        token.GetProperty("schoolId").GetGuid().ShouldBe(district.School);
        token.GetProperty("groupId").GetGuid().ShouldBe(district.Cart);
        var enrolled = await district.Host.EnrollAsync(secret, "SN-CART3-1");
        var device = await district.Host.GetJsonAsync<JsonElement>($"/api/devices/{enrolled.DeviceId}");
        device.GetProperty("schoolId").GetGuid().ShouldBe(district.School);
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task SchoolAdmin_MayNotManageFilterLists_InTheConsoleOrTheApi()
    {
        var page = await district.SignInAsync("principal", FilterConsoleDistrict.PrincipalPassword);
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Enrollment tokens" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Filter lists" })).ToHaveCountAsync(0);

        await page.GotoAsync("/filters");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();
        (await page.ContentAsync()).ShouldNotContain("Upload a list");

        var upload = await page.Context.APIRequest.PostAsync("/api/filter-lists?name=mine&format=plain&category=mine", new()
        {
            Data = "example.test\n",
            Headers = new Dictionary<string, string> { ["X-Homeroom-Request"] = "1", ["Content-Type"] = "text/plain" },
        });
        upload.Status.ShouldBe((int)HttpStatusCode.Forbidden);

        // Their tokens are for their school: it is chosen for them, and no other is offered.
        await page.GotoAsync("/enrollment");
        await Expect(page.GetByTestId("token-school").Locator("option")).ToHaveTextAsync(["Lincoln Middle"]);
        district.ConsoleErrors[page].Where(e => !e.Contains("Failed to load resource", StringComparison.Ordinal)).ShouldBeEmpty();
    }
}
