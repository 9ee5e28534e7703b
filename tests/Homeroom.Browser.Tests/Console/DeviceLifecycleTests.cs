using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Fleet;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// One school for the device lifecycle: Ada's Chromebook in Science 7 (whose profile turns the camera
/// off), two spare Chromebooks in the school's spare pool, Ben's and Dev's Chromebooks, Cara without
/// a device; an IT technician, a read-only account and a teacher. Every device is a simulated agent,
/// online throughout.
/// </summary>
public sealed class DeviceLifecycleDistrict : BrowserDistrict
{
    public Fleet Fleet { get; private set; } = null!;
    public Guid School { get; private set; }
    public Guid Science { get; private set; }
    public Guid Pool { get; private set; }
    public Guid Ada { get; private set; }
    public Guid AdaDevice => Fleet.Devices[0].DeviceId!.Value;
    public IReadOnlyList<Guid> Spares => [Fleet.Devices[1].DeviceId!.Value, Fleet.Devices[2].DeviceId!.Value];
    public Guid BenDevice => Fleet.Devices[3].DeviceId!.Value;
    public Guid DevDevice => Fleet.Devices[4].DeviceId!.Value;

    protected override string[] Settings => ["Homeroom:Agents:HeartbeatIntervalSeconds=15", "DetailedErrors=true"];

    protected override async Task SeedAsync()
    {
        School = await IdAsync("/api/schools", new { name = "Lincoln Middle", timeZone = "UTC" });
        Science = await IdAsync("/api/groups", new { name = "Science 7", kind = "class", schoolId = School });
        Pool = await IdAsync("/api/groups", new { name = "Cart A spares", kind = "sparePool", schoolId = School });
        var profile = await IdAsync("/api/profiles", new { name = "Science rules", schoolId = School, settings = new { restrictions = new { camera = false } } });
        await IdAsync("/api/assignments", new { profileId = profile, level = "group", scopeId = Science.ToString() });

        Fleet = await StartFleetAsync(devices: 5, seed: 33, School);
        Ada = await StudentAsync("Ada", "Lovelace", AdaDevice);
        await StudentAsync("Ben", "Okafor", BenDevice);
        await StudentAsync("Dev", "Patel", DevDevice);
        await StudentAsync("Cara", "Silva", null);
        foreach (var spare in Spares)
        {
            await PatchAsync(spare, new { name = $"Spare {spare.ToString()[..4]}", state = "spare" });
            (await Host.PostJsonAsync($"/api/groups/{Pool}/members", new { deviceIds = new[] { spare } })).EnsureSuccessStatusCode();
        }

        await AccountAsync("tech", "itTechnician", School);
        await AccountAsync("viewer", "readOnly", School);
        var teacher = await IdAsync("/api/people", new { kind = "staff", givenName = "Ms.", familyName = "Rivera", schoolId = School });
        (await Host.PostJsonAsync($"/api/groups/{Science}/members", new { personIds = new[] { teacher } })).EnsureSuccessStatusCode();
        await AccountAsync("rivera", "teacher", personId: teacher);
    }

    public async Task PatchAsync(Guid device, object body) =>
        (await Host.Client.PatchAsJsonAsync($"/api/devices/{device}", body)).EnsureSuccessStatusCode();

    private async Task<Guid> StudentAsync(string given, string family, Guid? device)
    {
        var student = await IdAsync("/api/people", new { kind = "student", givenName = given, familyName = family, schoolId = School, gradeLevel = 7 });
        (await Host.PostJsonAsync($"/api/groups/{Science}/members", new { personIds = new[] { student } })).EnsureSuccessStatusCode();
        if (device is { } id)
        {
            await PatchAsync(id, new { name = $"{given}'s Chromebook", assignedPersonId = student });
        }

        return student;
    }
}

/// <summary>The device page's lifecycle actions, the spare swap and the repair list, in Chromium as the roles that use them.</summary>
public sealed class DeviceLifecycleTests(DeviceLifecycleDistrict district) : IClassFixture<DeviceLifecycleDistrict>
{
    private static readonly LocatorAssertionsToBeVisibleOptions Soon = new() { Timeout = 15_000 };

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task Swap_ItTechnicianFromTheDeviceList_AtMostFourClicks_SpareCompliantWithin5Seconds()
    {
        var page = await district.SignInAsync("tech");
        var clicks = 0;
        async Task ClickAsync(ILocator target)
        {
            clicks++;
            await target.ClickAsync();
        }

        // Navigation by address and typing are not clicks; everything else the technician does is.
        await page.GotoAsync("/devices");
        await page.GetByTestId("device-search").FillAsync("ada lovelace");
        await Expect(page.GetByTestId("device-row")).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await ClickAsync(page.GetByTestId("device-row").GetByRole(AriaRole.Link));
        await ClickAsync(page.GetByTestId("swap"));
        await Expect(page.GetByRole(AriaRole.Dialog)).ToBeVisibleAsync();
        await Expect(page.GetByTestId("swap-candidate")).ToHaveCountAsync(2);
        await page.GetByTestId("swap-reason").FillAsync("Cracked screen");
        await Browsers.ScreenshotAsync(page, "device-swap-dialog");
        var spare = Guid.Parse((await page.Locator("[data-testid=swap-candidate]:checked").GetAttributeAsync("value"))!);

        // From the confirming click to the spare reporting the student's policy (Science 7's profile) as applied.
        var watch = Stopwatch.StartNew();
        await ClickAsync(page.GetByTestId("dialog-confirm"));
        await Poll.UntilAsync(async () =>
        {
            var policy = await district.Host.GetJsonAsync<JsonElement>($"/api/devices/{spare}/policy");
            return policy.GetProperty("compliant").GetBoolean() && policy.GetProperty("settings").EnumerateArray().Any(s =>
                s.GetProperty("source").ValueKind == JsonValueKind.Object && s.GetProperty("source").GetProperty("scopeId").GetString() == district.Science.ToString());
        }, TimeSpan.FromSeconds(15));
        watch.Stop();

        await Expect(page.GetByTestId("device-status")).ToContainTextAsync("Swapped", new() { Timeout = 15_000 });
        var repairs = await district.Host.GetJsonAsync<JsonElement>("/api/repairs");
        var note = repairs.GetProperty("items").EnumerateArray().Single(r => r.GetProperty("deviceId").GetGuid() == district.AdaDevice);
        note.GetProperty("replacementDeviceId").GetGuid().ShouldBe(spare);
        clicks.ShouldBeLessThanOrEqualTo(4);
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
        (await district.Host.GetJsonAsync<JsonElement>($"/api/devices/{spare}")).GetProperty("assignedPersonId").GetGuid().ShouldBe(district.Ada);
        await Expect(page.GetByTestId("device-state")).ToHaveTextAsync("In repair");
        note.GetProperty("reason").GetString().ShouldBe("Cracked screen");

        // The repair list shows it with its note, and returns it to the spare pool.
        await page.GetByRole(AriaRole.Link, new() { Name = "Repairs" }).ClickAsync();
        var row = page.GetByTestId("repair-row").Filter(new() { HasText = "Ada's Chromebook" });
        await Expect(row).ToContainTextAsync("Cracked screen", new() { Timeout = 15_000 });
        await Expect(row).ToContainTextAsync("Ada Lovelace");
        await Browsers.ScreenshotAsync(page, "repairs");
        await row.GetByTestId("return-to-pool").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Main).GetByRole(AriaRole.Status)).ToContainTextAsync("spare again in Cart A spares");
        await Expect(row).ToHaveCountAsync(0);
        (await district.Host.GetJsonAsync<JsonElement>($"/api/devices/{district.AdaDevice}")).GetProperty("state").GetString().ShouldBe("spare");
    }

    [Fact]
    public async Task DevicePage_ItTechnician_RenamesTagsSetsStateAndAssigns()
    {
        var page = await district.SignInAsync("tech");
        await page.GotoAsync($"/devices/{district.BenDevice}");
        await Expect(page.GetByTestId("device-online")).ToHaveTextAsync("online", new() { Timeout = 15_000 });

        await page.GetByTestId("edit-name").FillAsync("Ben's loaner");
        await page.GetByTestId("edit-asset-tag").FillAsync("LM-0042");
        await page.GetByTestId("save-name").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Ben's loaner" })).ToBeVisibleAsync(Soon);
        await Expect(page.GetByTestId("device-asset-tag")).ToHaveTextAsync("LM-0042");

        await page.GetByTestId("edit-state").SelectOptionAsync("Lost");
        await page.GetByTestId("save-state").ClickAsync();
        await Expect(page.GetByTestId("device-state")).ToHaveTextAsync("Lost");

        await page.GetByTestId("assign-search").FillAsync("cara");
        await page.GetByTestId("assign-pick").Filter(new() { HasText = "Cara Silva" }).ClickAsync();
        await Expect(page.GetByTestId("device-assignee")).ToHaveTextAsync("Cara Silva");
        await Browsers.ScreenshotAsync(page, "device-lifecycle");

        var device = await district.Host.GetJsonAsync<JsonElement>($"/api/devices/{district.BenDevice}");
        device.GetProperty("name").GetString().ShouldBe("Ben's loaner");
        device.GetProperty("assetTag").GetString().ShouldBe("LM-0042");
        device.GetProperty("state").GetString().ShouldBe("lost");
        device.GetProperty("assignedPersonName").GetString().ShouldBe("Cara Silva");
    }

    [Fact]
    public async Task Restart_AsksFirst_KeepsFocusInTheDialog_EscapeCancels()
    {
        var page = await district.SignInAsync("tech");
        await page.GotoAsync($"/devices/{district.DevDevice}");
        await page.GetByTestId("restart").ClickAsync();

        var dialog = page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToBeVisibleAsync();
        await Expect(dialog).ToContainTextAsync("1 device");
        await Poll.UntilAsync(() => page.EvaluateAsync<bool>("() => !!document.activeElement.closest('[role=dialog]')"), TimeSpan.FromSeconds(10));
        foreach (var (key, i) in new[] { "Tab", "Tab", "Tab", "Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab" }.Select((k, i) => (k, i)))
        {
            await page.Keyboard.PressAsync(key);
            (await page.EvaluateAsync<bool>("() => !!document.activeElement.closest('[role=dialog]')")).ShouldBeTrue($"focus left the dialog after key {i}");
        }

        await page.Keyboard.PressAsync("Escape");
        await Expect(dialog).ToHaveCountAsync(0);

        await page.GetByTestId("restart").ClickAsync();
        await page.GetByTestId("dialog-confirm").ClickAsync();
        await Expect(page.GetByTestId("device-status")).ToContainTextAsync("restart sent");
        await Expect(page.GetByTestId("device-commands")).ToContainTextAsync("restart", new() { Timeout = 15_000 });
    }

    [Fact]
    public async Task DeviceList_BulkLockOfTwo_NamesTheCountBeforeSending()
    {
        var page = await district.SignInAsync("tech");
        await page.GotoAsync("/devices");
        await page.GetByTestId("device-search").FillAsync("SPARE");
        await Expect(page.GetByTestId("device-row")).ToHaveCountAsync(2, new() { Timeout = 15_000 });
        await page.GetByLabel("Select all on this page").CheckAsync();
        await page.GetByTestId("bulk-lock").ClickAsync();

        await Expect(page.GetByTestId("bulk-confirm-text")).ToContainTextAsync("2 devices");
        await Expect(page.GetByTestId("dialog-confirm")).ToHaveTextAsync("Lock 2 devices");

        // Escape cancels even when focus is not inside the dialog (as before its focus call has come back).
        await page.EvaluateAsync("() => document.activeElement?.blur()");
        (await page.EvaluateAsync<bool>("() => document.activeElement === document.body")).ShouldBeTrue();
        await page.Keyboard.PressAsync("Escape");
        await Expect(page.GetByRole(AriaRole.Dialog)).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task DeviceList_At800Pixels_ShowsStudentSchoolAndLabels_WithoutOverflow()
    {
        var page = await district.SignInAsync("tech", width: 800);
        await page.GotoAsync("/devices");
        await page.GetByTestId("device-search").FillAsync("DEV PAT");
        var row = page.GetByTestId("device-row");
        await Expect(row).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await Expect(row.GetByTestId("device-student")).ToHaveTextAsync("Dev Patel");
        await Expect(row.GetByTestId("device-school")).ToHaveTextAsync("Lincoln Middle");
        await Expect(row).ToContainTextAsync("Chromebook");
        await Expect(row).ToContainTextAsync("Active");
        await page.GetByTestId("device-search").FillAsync("");
        await Expect(page.GetByTestId("device-row")).ToHaveCountAsync(5, new() { Timeout = 15_000 });
        await Browsers.ScreenshotAsync(page, "devices-800px");

        // Nothing sticks out of the viewport: the table scrolls inside its own container.
        var overflowing = await page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('body *')]
                .filter(e => !e.closest('.table-wrap') && e.getBoundingClientRect().right > window.innerWidth + 1)
                .map(e => e.tagName + '.' + e.className)
            """);
        overflowing.ShouldBeEmpty();
        (await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth")).ShouldBeTrue();
    }

    [Fact]
    public async Task Repairs_Teacher_GetsTheNotAllowedPage()
    {
        var page = await district.SignInAsync("rivera");
        await page.GotoAsync("/repairs");

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync(Soon);
        await Expect(page.GetByText("does not give access")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task DevicePage_ReadOnly_SeesNoActionButtons()
    {
        var page = await district.SignInAsync("viewer");
        await page.GotoAsync($"/devices/{district.DevDevice}");
        await Expect(page.GetByTestId("device-online")).ToBeVisibleAsync(Soon);

        foreach (var action in new[] { "swap", "restart", "save-name", "save-state", "revoke", "retire", "erase" })
        {
            await Expect(page.GetByTestId(action)).ToHaveCountAsync(0);
        }

        await page.GotoAsync("/repairs");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Repairs" })).ToBeVisibleAsync(Soon);
        await Expect(page.GetByTestId("return-to-pool")).ToHaveCountAsync(0);
    }
}
