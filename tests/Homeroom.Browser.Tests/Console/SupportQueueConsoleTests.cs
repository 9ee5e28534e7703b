using System.Net.Http.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>One school with no class, so every help request goes to its IT queue; a technician; one device (a test agent).</summary>
public sealed class SupportQueueDistrict : BrowserDistrict
{
    public const string DeviceName = "Library Chromebook 7";

    public TestAgent Agent { get; private set; } = null!;

    protected override int WindowHeight => 1000;

    protected override async Task SeedAsync()
    {
        var school = await IdAsync("/api/schools", new { name = "Lincoln Middle", timeZone = "UTC" });
        await AccountAsync("tech", "itTechnician", school, displayName: "Ivy Tech");
        await AccountAsync("district", "districtAdmin", displayName: "Dana District");
        Agent = Own(await Host.ConnectNewAgentAsync(serial: "SN-HELP-7"));
        (await Host.Client.PatchAsJsonAsync($"/api/devices/{Agent.DeviceId}", new { name = DeviceName, schoolId = school })).EnsureSuccessStatusCode();
    }
}

/// <summary>The IT queue in Chromium: an opened request shows its device's diagnostics beside its thread, and they follow the device's answers.</summary>
public sealed class SupportQueueConsoleTests(SupportQueueDistrict district) : IClassFixture<SupportQueueDistrict>
{
    private static readonly LocatorAssertionsToBeVisibleOptions Soon = new() { Timeout = 15_000 };

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static DiagnosticsReport Report(int healthPercent) => new(
        DateTimeOffset.UtcNow, "ChromeOS", "128.0.6613.137", null, "homeroom-extension/2.3.0", 93_600,
        [new DiskReport("/home", "ext4", 32L << 30, 12L << 30)],
        new MemoryReport(4L << 30, 1L << 30),
        [new BatteryReport("BAT0", 55, "Discharging", healthPercent, 431)],
        null,
        [new ConnectivityCheck(ConnectivityTargets.Homeroom, "http://127.0.0.1/healthz", true, 12, 200, null)]);

    private async Task<CommandFrame> NextDiagnoseAsync()
    {
        while (true)
        {
            var command = await district.Agent.ExpectAsync<CommandFrame>();
            if (command.Kind == CommandKinds.Diagnose)
            {
                return command;
            }
        }
    }

    private async Task AnswerAsync(CommandFrame command, int healthPercent)
    {
        await district.Agent.SendAsync(new DiagnosticsFrame(command.CommandId, Report(healthPercent)));
        await district.Agent.SendAsync(new CommandStatusFrame(command.CommandId, CommandStatusValues.Succeeded, Result: "report sent"));
    }

    [Fact]
    public async Task OpenedRequest_ShowsTheDevicesReportBesideTheThread_AndRunAgainBringsANewerOne()
    {
        var page = await district.SignInAsync("tech");
        await page.GotoAsync("/support");
        await Expect(page.GetByTestId("support-count")).ToHaveTextAsync("0 requests", new() { Timeout = 15_000 });

        // The student asks for help; no class is in session, so it reaches the IT queue and the device is asked for a report.
        await district.Agent.SendAsync(new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, "The Wi-Fi keeps dropping"));
        var first = await NextDiagnoseAsync();
        var row = page.GetByTestId("support-row");
        await Expect(row).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await row.GetByTestId("support-open").ClickAsync();

        var panel = page.GetByRole(AriaRole.Region, new() { Name = "Device diagnostics" });
        await Expect(panel).ToBeVisibleAsync(Soon);
        await Expect(panel.GetByTestId("support-diagnostics-none")).ToBeVisibleAsync();
        await Expect(panel.GetByTestId("support-diagnostics-pending")).ToContainTextAsync("A newer report is on its way: asked by system");

        // The device answers: the open page shows the summary without a reload.
        await AnswerAsync(first, healthPercent: 62);
        var facts = panel.GetByTestId("support-diagnostics-facts");
        await Expect(facts).ToBeVisibleAsync(Soon);
        await Expect(facts).ToContainTextAsync("ChromeOS 128.0.6613.137");
        await Expect(facts).ToContainTextAsync("homeroom-extension/2.3.0");
        await Expect(facts).ToContainTextAsync("1 d 2 h");
        await Expect(facts).ToContainTextAsync("12 GB free of 32 GB");
        await Expect(facts).ToContainTextAsync("1 GB available of 4 GB");
        await Expect(facts).ToContainTextAsync("55 %, health 62 %");
        await Expect(panel.GetByTestId("support-diagnostics-connectivity")).ToContainTextAsync("http://127.0.0.1/healthz answered 200 in 12 ms");
        await Expect(panel.GetByTestId("support-diagnostics-failed")).ToHaveTextAsync("1 check(s) failed");
        await Expect(panel.GetByTestId("support-diagnostics-problems")).ToContainTextAsync("BAT0 holds 62 %");
        await Expect(panel.GetByTestId("support-diagnostics-pending")).ToHaveCountAsync(0);
        await Expect(panel.GetByRole(AriaRole.Link, new() { Name = "Full report on the device's page" }))
            .ToHaveAttributeAsync("href", $"/devices/{district.Agent.DeviceId}#diagnostics");
        await Expect(page.GetByTestId("support-thread")).ToBeVisibleAsync();
        (await Axe.SeriousViolationsAsync(page)).ShouldBeEmpty();
        await Browsers.ScreenshotAsync(page, "support-queue-diagnostics");

        // Run again: a second command, shown as under way, then its report replaces the first.
        await panel.GetByRole(AriaRole.Button, new() { Name = "Run again" }).ClickAsync();
        var second = await NextDiagnoseAsync();
        second.CommandId.ShouldNotBe(first.CommandId);
        await Expect(panel.GetByTestId("support-diagnostics-pending")).ToContainTextAsync("A newer report is on its way: asked by tech", new() { Timeout = 15_000 });
        await AnswerAsync(second, healthPercent: 90);
        await Expect(facts).ToContainTextAsync("55 %, health 90 %", new() { Timeout = 15_000 });
        await Expect(panel.GetByTestId("support-diagnostics-problems")).ToHaveCountAsync(0);
        await Expect(panel.GetByTestId("support-diagnostics-pending")).ToHaveCountAsync(0);
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task DiagnosticSites_TheDistrictAdministratorEditsThem_TheTechnicianReadsThem_AndTheNextReportCarriesThem()
    {
        var admin = await district.SignInAsync("district");
        await admin.GotoAsync("/support");
        var sites = admin.GetByRole(AriaRole.Region, new() { Name = "Sites every diagnostics report tests" });
        await Expect(sites.GetByTestId("diagnostic-sites-none")).ToBeVisibleAsync(Soon);
        await Expect(sites.GetByTestId("diagnostic-sites-source")).ToContainTextAsync("configuration");

        // A plain http address is refused, with the reason, and nothing changes.
        await sites.GetByTestId("diagnostic-sites-text").FillAsync("http://classroom.google.com/");
        await sites.GetByTestId("save-diagnostic-sites").ClickAsync();
        await Expect(sites.GetByTestId("diagnostic-sites-error")).ToContainTextAsync("https", new() { Timeout = 15_000 });
        await Expect(sites.GetByTestId("diagnostic-sites-none")).ToBeVisibleAsync();

        await sites.GetByTestId("diagnostic-sites-text").FillAsync("https://classroom.google.com/\nhttps://www.khanacademy.org/");
        await sites.GetByTestId("save-diagnostic-sites").ClickAsync();
        await Expect(sites.GetByTestId("diagnostic-sites-status")).ToHaveTextAsync("Sites saved.", new() { Timeout = 15_000 });
        await Expect(sites.GetByTestId("diagnostic-sites-list").GetByRole(AriaRole.Listitem)).ToHaveTextAsync(["https://classroom.google.com/", "https://www.khanacademy.org/"]);
        await Expect(sites.GetByTestId("diagnostic-sites-source")).ToHaveTextAsync("Set in the console.");

        // The school's technician reads them, without a form to change them.
        var technician = await district.SignInAsync("tech");
        await technician.GotoAsync("/support");
        var seen = technician.GetByRole(AriaRole.Region, new() { Name = "Sites every diagnostics report tests" });
        await Expect(seen.GetByTestId("diagnostic-sites-list").GetByRole(AriaRole.Listitem)).ToHaveCountAsync(2, new() { Timeout = 15_000 });
        await Expect(seen.GetByTestId("diagnostic-sites-text")).ToHaveCountAsync(0);

        // The next report the device is asked for tests them.
        (await district.Host.Client.PostAsync($"/api/devices/{district.Agent.DeviceId}/diagnostics", null)).EnsureSuccessStatusCode();
        (await NextDiagnoseAsync()).Arguments!["urls"].ShouldBe("https://classroom.google.com/ https://www.khanacademy.org/");

        await sites.GetByTestId("diagnostic-sites-use-configuration").ClickAsync();
        await Expect(sites.GetByTestId("diagnostic-sites-none")).ToBeVisibleAsync(Soon);
    }
}
