using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// What a new administrator reads: names, not GUIDs; labels, not code names; times in the school's
/// time zone; a skip link that stays on the page.
/// </summary>
[Collection(nameof(ConsoleCollection))]
public sealed partial class ConsoleReadingTests(ConsoleDistrict district)
{
    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex Guid();

    [Fact]
    public async Task AuditLog_ShowsTargetNames_InTheTargetSchoolsTimeZone()
    {
        var school = (await district.Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Oak Ridge Elementary (reading test)", timeZone = "America/Chicago" })).GetProperty("id").GetGuid();
        (await district.Host.PostJsonAsync("/api/groups", new { name = "Oak Ridge cart", kind = "cart", schoolId = school })).EnsureSuccessStatusCode();
        var entry = (await district.Host.Client.GetFromJsonAsync<JsonElement>("/api/audit?action=group.create&pageSize=50"))
            .GetProperty("items").EnumerateArray().First(e => e.GetProperty("schoolId").GetString() == school.ToString());
        var chicago = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");
        var expected = TimeZoneInfo.ConvertTimeFromUtc(entry.GetProperty("at").GetDateTime().ToUniversalTime(), chicago)
            .ToString("MMM d, yyyy HH:mm:ss", CultureInfo.InvariantCulture);

        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GotoAsync("/audit");
        await page.GetByTestId("audit-action").FillAsync("group.create");
        var row = page.GetByTestId("audit-row").Filter(new() { HasText = "Oak Ridge cart" });
        await Expect(row).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await Expect(row).ToContainTextAsync(expected);
        (await row.TextContentAsync())!.ShouldNotMatch(Guid().ToString());
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task Overview_ShowsLabels_NotCodeNames()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await Expect(page.GetByLabel("Devices", new() { Exact = true })).ToContainTextAsync("Chromebook", new() { Timeout = 15_000 });
        await Expect(page.GetByLabel("Device states")).ToContainTextAsync("Active");
        await Expect(page.Locator(".who")).ToContainTextAsync("District admin");
        await Expect(page.Locator("body")).Not.ToContainTextAsync("ChromeOS");
        await Expect(page.Locator("body")).Not.ToContainTextAsync("DistrictAdmin");
    }

    [Fact]
    public async Task SkipLink_OnAnyPage_MovesFocusToItsOwnContent()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GotoAsync("/audit");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Audit log" })).ToBeVisibleAsync();
        await page.GetByTestId("skip-link").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("main#main")).ToBeFocusedAsync();
        page.Url.ShouldEndWith("/audit");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Audit log" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task MistypedAddress_ShowsTheConsolesNotFoundPage_WhileTheApiKeepsProblemDetails()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        var response = await page.GotoAsync("/grops");
        response!.Status.ShouldBe(404);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not found" })).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("not-found")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Main" })).ToBeVisibleAsync();

        using var api = await district.Host.Client.GetAsync("/api/no-such-thing");
        api.StatusCode.ShouldBe(System.Net.HttpStatusCode.NotFound);
        (await api.Content.ReadAsStringAsync()).ShouldNotContain("<html", Case.Insensitive);
    }
}
