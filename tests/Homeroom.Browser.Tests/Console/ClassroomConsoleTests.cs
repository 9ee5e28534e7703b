using System.Net.Http.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Simulator.Fleet;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>The classroom page in Chromium: where a teacher lands, and the keyboard in the screen dialog.</summary>
[Collection(nameof(ClassroomConsoleCollection))]
public sealed class ClassroomConsoleTests(ClassroomDistrict district)
{
    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static IPageAssertions Expect(IPage page) => Assertions.Expect(page);

    [Fact]
    public async Task Teacher_WithOneClass_LandsInIt()
    {
        var page = await district.SignInAsync("okafor");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/classroom$"));
        await Expect(page.GetByTestId("tile")).ToHaveCountAsync(2, new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("tile").First).ToContainTextAsync("Gil Moreau");
        await Expect(page.GetByTestId("class-picker")).ToHaveValueAsync(district.Homeroom.ToString());
        await Expect(page.GetByTestId("session-state")).ToContainTextAsync("Not in session");
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task Teacher_WithTwoClasses_ChoosesOne()
    {
        var page = await district.SignInAsync("park");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/classroom$"));
        await Expect(page.GetByTestId("class-picker").Locator("option")).ToHaveCountAsync(3);
        await Expect(page.GetByTestId("class-picker")).ToHaveValueAsync("");
        await Expect(page.GetByTestId("tile")).ToHaveCountAsync(0);

        await page.GetByTestId("class-picker").SelectOptionAsync(new SelectOptionValue { Label = "Math 8" });
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"/classroom/{district.Math}$"));
        await Expect(page.GetByTestId("tile")).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("tile")).ToContainTextAsync("Hana Berg");
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task ScreenDialog_TabAndShiftTab_StayInside_EscapeReturnsFocusToItsTile()
    {
        var page = await district.SignInAsync("okafor");
        await Expect(page.GetByTestId("tile")).ToHaveCountAsync(2, new() { Timeout = 15_000 });
        await page.GetByTestId("start-session").ClickAsync();
        try
        {
            await Expect(page.GetByTestId("session-state")).ToContainTextAsync("In session");
            var second = page.GetByTestId("tile").Nth(1);
            await Expect(second.Locator("img")).ToBeVisibleAsync(new() { Timeout = 15_000 });

            // Opened from the keyboard: focus on the tile's screen, Enter.
            await second.Locator("button.screen").FocusAsync();
            await page.Keyboard.PressAsync("Enter");
            var dialog = page.GetByRole(AriaRole.Dialog);
            await Expect(dialog).ToBeVisibleAsync();
            await Expect(dialog.Locator("img")).ToBeVisibleAsync();
            var close = dialog.GetByRole(AriaRole.Button, new() { Name = "Close" });
            var lockStudent = dialog.GetByTestId("dialog-lock");
            await Expect(close).ToBeFocusedAsync();

            // Tab past the last control comes back to the first, Shift+Tab before the first goes to the last.
            await page.Keyboard.PressAsync("Tab");
            await Expect(lockStudent).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Tab");
            await Expect(close).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Tab");
            await Expect(lockStudent).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Shift+Tab");
            await Expect(close).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Shift+Tab");
            await Expect(lockStudent).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Shift+Tab");
            await Expect(close).ToBeFocusedAsync();
            await Browsers.ScreenshotAsync(page, "classroom-screen-dialog");

            await page.Keyboard.PressAsync("Escape");
            await Expect(dialog).ToHaveCountAsync(0);
            await Expect(second.Locator("button.screen")).ToBeFocusedAsync();

            // Closed with its button, it also gives focus back to the tile it came from.
            await page.GetByTestId("tile").First.Locator("button.screen").ClickAsync();
            await Expect(close).ToBeFocusedAsync();
            await close.ClickAsync();
            await Expect(dialog).ToHaveCountAsync(0);
            await Expect(page.GetByTestId("tile").First.Locator("button.screen")).ToBeFocusedAsync();
        }
        catch
        {
            // Leave no session running for the other tests (the dialog may still cover the page).
            await page.Context.APIRequest.DeleteAsync($"/api/groups/{district.Homeroom}/session", new() { Headers = new Dictionary<string, string> { ["X-Homeroom-Request"] = "1" } });
            throw;
        }

        // Once the session ends the screens are gone from the page.
        await page.GetByTestId("end-session").ClickAsync();
        await Expect(page.GetByTestId("session-state")).ToContainTextAsync("Not in session");
        await Expect(page.Locator("img[data-screen]")).ToHaveCountAsync(0);
        district.Devices.ShouldAllBe(d => !d.Locked);
        district.ConsoleErrors[page].ShouldBeEmpty();
    }
}

/// <summary>
/// A small school for the classroom tests: Mr. Okafor teaches one class (Homeroom 8: Gil Moreau and
/// Ivy Chan, each with a simulated Chromebook); Ms. Park teaches Homeroom 8 and Math 8 (Hana Berg).
/// The server's clock is a school-day morning, so teachers may start sessions.
/// </summary>
public sealed class ClassroomDistrict : BrowserDistrict
{
    public Fleet Fleet { get; private set; } = null!;
    public Guid Homeroom { get; private set; }
    public Guid Math { get; private set; }
    public IReadOnlyList<VirtualDevice> Devices => Fleet.Devices;

    protected override async Task SeedAsync()
    {
        Host.Clock.MoveToSchoolDayMorning();
        var school = await IdAsync("/api/schools", new { name = "Harbor Middle", timeZone = "UTC" });
        Homeroom = await IdAsync("/api/groups", new { name = "Homeroom 8", kind = "class", schoolId = school });
        Math = await IdAsync("/api/groups", new { name = "Math 8", kind = "class", schoolId = school });

        Fleet = await StartFleetAsync(devices: 3, seed: 8);
        string[] names = ["Gil Moreau", "Ivy Chan", "Hana Berg"];
        for (var i = 0; i < names.Length; i++)
        {
            var parts = names[i].Split(' ');
            var student = await IdAsync("/api/people", new { kind = "student", givenName = parts[0], familyName = parts[1], schoolId = school, gradeLevel = 8 });
            (await Host.Client.PatchAsJsonAsync($"/api/devices/{Fleet.Devices[i].DeviceId}", new { assignedPersonId = student, schoolId = school })).EnsureSuccessStatusCode();
            (await Host.PostJsonAsync($"/api/groups/{(i < 2 ? Homeroom : Math)}/members", new { personIds = new[] { student } })).EnsureSuccessStatusCode();
        }

        await TeacherAsync("okafor", "Mr. Okafor", Homeroom);
        await TeacherAsync("park", "Ms. Park", Homeroom, Math);
    }

    private async Task TeacherAsync(string username, string displayName, params Guid[] classes)
    {
        var person = await IdAsync("/api/people", new { kind = "staff", givenName = displayName, familyName = "Teacher" });
        foreach (var classId in classes)
        {
            (await Host.PostJsonAsync($"/api/groups/{classId}/members", new { personIds = new[] { person } })).EnsureSuccessStatusCode();
        }

        await AccountAsync(username, "teacher", personId: person, displayName: displayName);
    }
}

[CollectionDefinition(nameof(ClassroomConsoleCollection))]
public sealed class ClassroomConsoleCollection : ICollectionFixture<ClassroomDistrict>;
