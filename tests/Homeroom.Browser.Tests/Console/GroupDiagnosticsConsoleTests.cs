using System.Text.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Simulator.Fleet;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// One school with a cart of two simulated Chromebooks, online throughout (they answer <c>diagnose</c> with
/// <see cref="SimulatedDiagnostics"/>); an IT technician, a read-only account and a teacher.
/// </summary>
public sealed class GroupDiagnosticsDistrict : BrowserDistrict
{
    public Fleet Fleet { get; private set; } = null!;
    public Guid Cart { get; private set; }
    public IReadOnlyList<Guid> Devices => Fleet.Devices.Select(d => d.DeviceId!.Value).ToList();

    protected override string[] Settings => ["Homeroom:Agents:HeartbeatIntervalSeconds=15", "DetailedErrors=true"];

    protected override async Task SeedAsync()
    {
        var school = await IdAsync("/api/schools", new { name = "Lincoln Middle", timeZone = "UTC" });
        Cart = await IdAsync("/api/groups", new { name = "Cart B", kind = "cart", schoolId = school });
        Fleet = await StartFleetAsync(devices: 2, seed: 21, school);
        (await Host.PostJsonAsync($"/api/groups/{Cart}/members", new { deviceIds = Devices })).EnsureSuccessStatusCode();

        await AccountAsync("tech", "itTechnician", school);
        await AccountAsync("viewer", "readOnly", school);
        var teacher = await IdAsync("/api/people", new { kind = "staff", givenName = "Ms.", familyName = "Rivera", schoolId = school });
        await AccountAsync("rivera", "teacher", personId: teacher);
    }
}

/// <summary>A group's diagnostics on its console page, in Chromium, as the roles that may and may not run them.</summary>
public sealed class GroupDiagnosticsConsoleTests(GroupDiagnosticsDistrict district) : IClassFixture<GroupDiagnosticsDistrict>
{
    private static readonly LocatorAssertionsToBeVisibleOptions Soon = new() { Timeout = 15_000 };

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task GroupPage_ItTechnicianRunsDiagnostics_BothReportsArriveWithoutReloading()
    {
        var page = await district.SignInAsync("tech");
        await page.GotoAsync($"/groups/{district.Cart}");
        var panel = page.GetByRole(AriaRole.Region, new() { Name = "Diagnostics", Exact = true });
        await Expect(panel).ToBeVisibleAsync(Soon);
        await Expect(panel.GetByRole(AriaRole.Row)).ToHaveCountAsync(3); // the header and the two devices
        await Expect(page.GetByTestId("group-diagnostics-in")).ToHaveTextAsync("0 of 2");

        await panel.GetByRole(AriaRole.Button, new() { Name = "Run diagnostics on every device" }).ClickAsync();

        // The page reads the reports as they come: no reload, no Refresh.
        await Expect(page.GetByTestId("group-diagnostics-in")).ToHaveTextAsync("2 of 2", new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("group-diagnostics-waiting")).ToHaveTextAsync("0", new() { Timeout = 15_000 });
        await Expect(page.GetByText("Asked 2 device(s) for a report.")).ToBeVisibleAsync();
        var stored = await district.Host.GetJsonAsync<JsonElement>($"/api/groups/{district.Cart}/diagnostics");
        foreach (var device in stored.EnumerateArray())
        {
            var latest = device.GetProperty("latest");
            latest.ValueKind.ShouldBe(JsonValueKind.Object);
            var row = page.Locator($"[data-testid=group-diagnostics-row][data-device='{device.GetProperty("deviceId").GetGuid()}']");
            await Expect(row.GetByTestId("group-diagnostics-received")).Not.ToHaveTextAsync("none yet");
            var failed = latest.GetProperty("failedChecks").GetInt32();
            await Expect(row.GetByTestId("group-diagnostics-failed")).ToHaveTextAsync(failed == 0 ? "none" : failed.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await Expect(row.GetByRole(AriaRole.Link, new() { Name = device.GetProperty("deviceName").GetString() }))
                .ToHaveAttributeAsync("href", $"/devices/{device.GetProperty("deviceId").GetGuid()}#diagnostics");
        }

        var failing = stored.EnumerateArray().Count(d => d.GetProperty("latest").GetProperty("failedChecks").GetInt32() > 0);
        await Expect(page.GetByTestId("group-diagnostics-failing")).ToHaveTextAsync(failing.ToString(System.Globalization.CultureInfo.InvariantCulture));
        (await Axe.SeriousViolationsAsync(page)).ShouldBeEmpty();
        await Browsers.ScreenshotAsync(page, "group-diagnostics");

        // A row leads to the device's full report.
        await panel.GetByRole(AriaRole.Link).First.ClickAsync();
        await Expect(page.GetByTestId("diagnostics-summary")).ToBeVisibleAsync(Soon);
    }

    [Fact]
    public async Task GroupPage_ReadOnly_SeesTheGroupButNoDiagnostics()
    {
        var page = await district.SignInAsync("viewer");
        await page.GotoAsync($"/groups/{district.Cart}");
        await Expect(page.GetByTestId("group-device-row")).ToHaveCountAsync(2, new() { Timeout = 15_000 });

        await Expect(page.GetByTestId("group-diagnostics")).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Run diagnostics on every device" })).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task GroupPage_Teacher_GetsTheNotAllowedPageWithoutTheButton()
    {
        var page = await district.SignInAsync("rivera");
        await page.GotoAsync($"/groups/{district.Cart}");

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync(Soon);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Run diagnostics on every device" })).ToHaveCountAsync(0);
    }
}
