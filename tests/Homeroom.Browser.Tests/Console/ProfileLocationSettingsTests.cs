using System.Text.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>The profile editor's number box (the Integer kind) and the reporting-hours text, with their checks.</summary>
public sealed class ProfileLocationSettingsTests(PolicyConsoleDistrict district) : IClassFixture<PolicyConsoleDistrict>
{
    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task ProfileEditor_IntervalOutOfRangeAndBadHours_ShowBesideTheSettings_ThenSaveAsANumber()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GotoAsync(new Uri(district.Host.BaseAddress, "/profiles/new").AbsoluteUri);
        await page.GetByTestId("profile-name").FillAsync("Location every 30 s");

        var interval = page.Locator("#s-location\\.reportIntervalSeconds");
        await Expect(interval).ToHaveAttributeAsync("type", "number");
        await Expect(interval).ToHaveAttributeAsync("min", "15");
        await Expect(interval).ToHaveAttributeAsync("max", "3600");
        await page.GetByLabel("Set location.reportIntervalSeconds").CheckAsync();
        await interval.FillAsync("5");
        await page.GetByLabel("Set location.reportingHours").CheckAsync();
        await page.Locator("#s-location\\.reportingHours").FillAsync("Weekdays 7-17");
        await page.GetByTestId("save-profile").ClickAsync();
        await Expect(page.GetByTestId("error-location.reportIntervalSeconds")).ToContainTextAsync("whole number from 15 to 3600", new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("error-location.reportingHours")).ToContainTextAsync("Mon-Fri");
        await Expect(page.GetByTestId("profile-error")).ToContainTextAsync("Nothing was saved");
        (await district.ProfileNamesAsync()).ShouldNotContain("Location every 30 s");

        await interval.FillAsync("30");
        await page.Locator("#s-location\\.reportingHours").FillAsync("Mon-Fri 07:30-16:00; Sat 09:00-12:00");
        await page.GetByTestId("save-profile").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Location every 30 s" })).ToBeVisibleAsync(new() { Timeout = 15_000 });
        var saved = (await district.Host.GetJsonAsync<JsonElement>("/api/profiles")).EnumerateArray().Single(p => p.GetProperty("name").GetString() == "Location every 30 s");
        var location = saved.GetProperty("settings").GetProperty("location");
        location.GetProperty("reportIntervalSeconds").ValueKind.ShouldBe(JsonValueKind.Number);
        location.GetProperty("reportIntervalSeconds").GetInt32().ShouldBe(30);
        location.GetProperty("reportingHours").GetString().ShouldBe("Mon-Fri 07:30-16:00; Sat 09:00-12:00");
        await Browsers.ScreenshotAsync(page, "profile-location-settings");
        district.ConsoleErrors[page].ShouldBeEmpty();
    }
}
