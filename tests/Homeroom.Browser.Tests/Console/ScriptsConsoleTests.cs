using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Contracts.Enrollment;
using Homeroom.Simulator.Fleet;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// One school with a cart of two simulated Windows desktops, online throughout (the simulator answers <c>runScript</c>
/// with made-up output); a district administrator and an IT technician of the school.
/// </summary>
public sealed class ScriptsDistrict : BrowserDistrict
{
    public Fleet Fleet { get; private set; } = null!;
    public Guid Cart { get; private set; }

    protected override string[] Settings => ["Homeroom:Agents:HeartbeatIntervalSeconds=15", "DetailedErrors=true"];

    protected override async Task SeedAsync()
    {
        var school = await IdAsync("/api/schools", new { name = "Lincoln Middle", timeZone = "UTC" });
        Cart = await IdAsync("/api/groups", new { name = "Staff laptops", kind = "cart", schoolId = school });
        // The first seed whose fleet of two is two Windows desktops (teacher laptops are about one device in sixteen).
        var seed = Enumerable.Range(1, 1_000_000).First(s => FleetProfile.Create(2, s, new FleetOptions { Server = Host.BaseAddress }.Campus).All(d => d.Platform == DevicePlatform.Windows));
        Fleet = await StartFleetAsync(devices: 2, seed, school);
        (await Host.PostJsonAsync($"/api/groups/{Cart}/members", new { deviceIds = Fleet.Devices.Select(d => d.DeviceId!.Value).ToList() })).EnsureSuccessStatusCode();

        await AccountAsync("boss", "districtAdmin");
        await AccountAsync("tech", "itTechnician", school);
    }
}

/// <summary>The script library and a group's run, in Chromium: an administrator writes and approves, a technician runs.</summary>
public sealed class ScriptsConsoleTests(ScriptsDistrict district) : IClassFixture<ScriptsDistrict>
{
    private static readonly LocatorAssertionsToBeVisibleOptions Soon = new() { Timeout = 15_000 };

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task AdminApproves_TechnicianRunsOnGroup_SeesEachDevicesOutput()
    {
        var admin = await district.SignInAsync("boss");
        await admin.GotoAsync("/scripts");
        await admin.GetByTestId("script-name").FillAsync("Free disk space");
        await admin.GetByTestId("script-description").FillAsync("How full is C:");
        await admin.GetByTestId("script-platform").SelectOptionAsync("windows");
        await admin.GetByTestId("script-time-limit").FillAsync("30");
        await admin.GetByTestId("script-body-input").FillAsync("Get-PSDrive C | Format-List Used,Free");
        await admin.GetByTestId("script-save").ClickAsync();
        await Expect(admin.GetByTestId("scripts-status")).ToContainTextAsync("version 1", new() { Timeout = 15_000 });
        var row = admin.GetByTestId("scripts-row").Filter(new() { HasText = "Free disk space" });
        await Expect(row.GetByTestId("scripts-state")).ToHaveTextAsync("awaiting approval");

        await row.GetByRole(AriaRole.Button, new() { Name = "Free disk space" }).ClickAsync();
        await admin.GetByTestId("script-approve").ClickAsync();
        await Expect(row.GetByTestId("scripts-state")).ToHaveTextAsync("approved", new() { Timeout = 15_000 });
        await Expect(admin.GetByTestId("script-detail-state")).ToContainTextAsync("approved by boss");
        await Browsers.ScreenshotAsync(admin, "scripts-library");

        var tech = await district.SignInAsync("tech");
        await tech.GotoAsync($"/groups/{district.Cart}");
        var panel = tech.GetByRole(AriaRole.Region, new() { Name = "Run script", Exact = true });
        await Expect(panel).ToBeVisibleAsync(Soon);
        await panel.GetByTestId("script-run-choice").SelectOptionAsync(new SelectOptionValue { Label = "Free disk space (windows, version 1)" });
        await panel.GetByRole(AriaRole.Button, new() { Name = "Run on every device" }).ClickAsync();

        await Expect(panel.GetByTestId("script-run-status")).ToHaveTextAsync("Asked 2 device(s) to run 'Free disk space' version 1.", new() { Timeout = 15_000 });
        await Expect(panel.GetByTestId("script-run-row")).ToHaveCountAsync(2, new() { Timeout = 15_000 });
        foreach (var device in district.Fleet.Devices)
        {
            var deviceRow = panel.Locator($"[data-testid=script-run-row][data-device='{device.DeviceId}']");
            await Expect(deviceRow.GetByTestId("script-run-exit")).ToHaveTextAsync("0", new() { Timeout = 30_000 });
            await Expect(deviceRow.GetByTestId("script-run-state")).ToHaveTextAsync("finished");
            await Expect(deviceRow.GetByTestId("script-run-stdout")).ToHaveTextAsync($"{device.Spec.Name}: ran 'Free disk space' (simulated)");
        }

        (await Axe.SeriousViolationsAsync(tech)).ShouldBeEmpty();
        await Browsers.ScreenshotAsync(tech, "scripts-group-run");
    }
}
