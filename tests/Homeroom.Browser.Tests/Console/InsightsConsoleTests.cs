using System.Text.Json;
using System.Text.RegularExpressions;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Data;
using Homeroom.Server.Insights;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// The insights pages in Chromium: each draws its charts with Chart.js (served by the server itself) and
/// the same numbers in a table, passes axe-core, prints to PDF, and prints nothing to the browser console;
/// filters redraw the charts, the CSV link downloads the report, the overview's cards lead to the
/// reports, and a district administrator schedules a report. Runs on a server of its own.
/// </summary>
public sealed class InsightsConsoleTests(ConsoleServer server) : IClassFixture<ConsoleServer>
{
    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static readonly LocatorAssertionsToHaveCountOptions Soon = new() { Timeout = 15_000 };

    [Fact]
    public async Task InsightsPages_DrawTheirCharts_WithTables_AccessiblyAndWithoutErrors_WithinTheViewersScope()
    {
        var host = server.Host;
        var school = (await host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Insight school", timeZone = "UTC" })).GetProperty("id").GetGuid();
        await DeviceAsync(school, DevicePlatform.ChromeOS, "120.0.1");
        await DeviceAsync(school, DevicePlatform.ChromeOS, "118.2.0");
        await DeviceAsync(school, DevicePlatform.IPadOS, "17.4");
        var science = (await host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Science 8", kind = "class", schoolId = school, gradeLevel = 8 })).GetProperty("id").GetGuid();
        var recorder = host.Services.GetRequiredService<ClassUsageRecorder>();
        var now = DateTimeOffset.UtcNow;
        await recorder.AddViewingAsync(science, now.AddMinutes(-25), now);
        await recorder.AddCommandAsync(science, now);

        var admin = await server.SignInAsync("admin", HomeroomHost.AdminPassword);

        // The overview's cards lead to the reports.
        await Expect(admin.GetByTestId("dashboard-behind")).ToHaveTextAsync("1", new() { Timeout = 15_000 });
        await Expect(admin.GetByTestId("dashboard-sessions")).ToHaveTextAsync("0");
        await CheckAccessibilityAsync(admin, "/");
        await admin.GetByTestId("dashboard-fleet-link").ClickAsync();
        await Assertions.Expect(admin).ToHaveURLAsync(new Regex(@"/insights/fleet(\?|$)"));

        // Fleet health: the OS-version chart and its table hold the same numbers.
        await Expect(admin.GetByTestId("fleet-devices")).ToHaveTextAsync("3", new() { Timeout = 15_000 });
        await Expect(admin.GetByTestId("fleet-behind")).ToHaveTextAsync("1");
        (await DrawnAsync(admin, "fleet-os-chart")).ShouldBe(["Chromebook 120.0.1", "Chromebook 118.2.0", "iPad 17.4"]);
        (await DrawnAsync(admin, "fleet-attention-chart")).Length.ShouldBe(2);
        await Expect(admin.GetByTestId("fleet-os-chart-table").Locator("tbody tr")).ToHaveCountAsync(3);
        await Expect(admin.GetByTestId("fleet-os-chart-table").Locator("tbody tr").Nth(1)).ToContainTextAsync("Chromebook 118.2.0");
        await Expect(admin.GetByTestId("fleet-os-chart-table").Locator("tbody tr").Nth(1).Locator("td")).ToHaveTextAsync(["0", "1"]);
        await CheckAccessibilityAsync(admin, "/insights/fleet");

        // A filter redraws the chart in place.
        await admin.GetByTestId("filter-platform").SelectOptionAsync("chromeos");
        await Expect(admin.GetByTestId("fleet-devices")).ToHaveTextAsync("2", new() { Timeout = 15_000 });
        await admin.WaitForFunctionAsync("() => document.querySelector('[data-testid=fleet-os-chart-canvas]').homeroomChart.data.labels.length === 2");
        var csvHref = await admin.GetByTestId("fleet-csv").GetAttributeAsync("href");
        csvHref.ShouldBe("/api/insights/fleet-health?platform=chromeos&format=csv");
        var csv = await admin.APIRequest.GetAsync(csvHref!);
        csv.Status.ShouldBe(200);
        csv.Headers["content-type"].ShouldStartWith("text/csv");
        var lines = (await csv.TextAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(3);
        lines[0].ShouldStartWith("platform,os_version");

        // Printed: the navigation and filters go, the charts are redrawn for the paper's width.
        await admin.EmulateMediaAsync(new() { Media = Media.Print });
        await Expect(admin.Locator("nav.sidebar")).ToBeHiddenAsync();
        var pdf = await admin.PdfAsync(new() { Path = Path.Combine(Browsers.ArtifactsDirectory, "insights-fleet.pdf"), Format = "A4" });
        pdf.Length.ShouldBeGreaterThan(10_000);
        await admin.EmulateMediaAsync(new() { Media = Media.Screen });
        await Browsers.ScreenshotAsync(admin, "insights-fleet");

        // Classroom use: the per-day line chart and the classes.
        await admin.GotoAsync("/insights/classroom");
        await Expect(admin.GetByTestId("classroom-row")).ToHaveCountAsync(1, Soon);
        await Expect(admin.GetByTestId("classroom-row")).ToContainTextAsync("Science 8");
        await Expect(admin.GetByTestId("classroom-minutes")).ToHaveTextAsync("25");
        (await DrawnAsync(admin, "classroom-days-chart")).Length.ShouldBe(7);
        (await DrawnAsync(admin, "classroom-classes-chart")).ShouldBe(["Science 8"]);
        await Expect(admin.GetByTestId("classroom-days-chart-table").Locator("tbody tr")).ToHaveCountAsync(7);
        await CheckAccessibilityAsync(admin, "/insights/classroom");
        await admin.GetByTestId("filter-grade").SelectOptionAsync("3");
        await Expect(admin.GetByTestId("classroom-none")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Browsers.ScreenshotAsync(admin, "insights-classroom");

        // Scheduled reports: a district administrator schedules one.
        await admin.GotoAsync("/insights/schedules");
        await Expect(admin.GetByTestId("schedules-empty")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await admin.GetByTestId("schedule-name").FillAsync("Monday fleet");
        await admin.GetByTestId("schedule-recipients").FillAsync("it@example.org\nnot an address");
        await admin.GetByTestId("schedule-save").ClickAsync();
        await Expect(admin.GetByTestId("schedule-error")).ToContainTextAsync("not an address");
        await admin.GetByTestId("schedule-recipients").FillAsync("it@example.org");
        await admin.GetByTestId("schedule-school").SelectOptionAsync(school.ToString());
        await admin.GetByTestId("schedule-save").ClickAsync();
        await Expect(admin.GetByTestId("schedule-row")).ToHaveCountAsync(1, Soon);
        await Expect(admin.GetByTestId("schedule-row")).ToContainTextAsync("it@example.org");
        // A rollup report too: the week's most-blocked sites, for one platform.
        await admin.GetByTestId("schedule-name").FillAsync("Blocked this week");
        await admin.GetByTestId("schedule-report").SelectOptionAsync("blockedSites");
        await admin.GetByTestId("schedule-platform").SelectOptionAsync("chromeos");
        await admin.GetByTestId("schedule-recipients").FillAsync("safety@example.org");
        await admin.GetByTestId("schedule-save").ClickAsync();
        await Expect(admin.GetByTestId("schedule-row")).ToHaveCountAsync(2, Soon);
        await Expect(admin.GetByTestId("schedule-row").Filter(new() { HasText = "Blocked this week" })).ToContainTextAsync("Most-blocked sites");
        await CheckAccessibilityAsync(admin, "/insights/schedules");

        server.ConsoleErrors[admin].ShouldBeEmpty();

        // A school administrator of the first school sees it only, and no scheduled reports.
        var other = (await host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Other insight school", timeZone = "UTC" })).GetProperty("id").GetGuid();
        await DeviceAsync(other, DevicePlatform.Windows, "10.0.19045");
        using var api = await host.SignInAsNewAccountAsync("insight-admin", "schoolAdmin", schoolId: school);
        var page = await server.SignInAsync("insight-admin", ConsoleDistrict.TeacherPassword);

        await page.GotoAsync("/insights/fleet");
        await Expect(page.GetByTestId("fleet-devices")).ToHaveTextAsync("3", new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("filter-school").Locator("option")).ToHaveTextAsync(["Insight school"]);
        (await DrawnAsync(page, "fleet-os-chart")).ShouldBe(["Chromebook 120.0.1", "Chromebook 118.2.0", "iPad 17.4"]);
        await Expect(page.Locator("nav.sidebar")).ToContainTextAsync("Fleet health");
        await Expect(page.Locator("nav.sidebar a[href='/insights/schedules']")).ToHaveCountAsync(0);
        server.ConsoleErrors[page].ShouldBeEmpty();
    }

    private async Task DeviceAsync(Guid school, DevicePlatform platform, string os)
    {
        var token = await server.Host.CreateTokenAsync(schoolId: school);
        var id = (await server.Host.EnrollAsync(token, "SN-" + Guid.NewGuid().ToString("N")[..10], platform)).DeviceId;
        await using var db = await server.Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var device = await db.Devices.FirstAsync(d => d.Id == id);
        device.OsVersion = os;
        device.LastSeenAt = DateTime.UtcNow;
        await db.SaveChangesAsync();
    }

    /// <summary>The labels Chart.js drew on a chart's canvas, once it has drawn them.</summary>
    private static async Task<string[]> DrawnAsync(IPage page, string testId)
    {
        var canvas = $"document.querySelector('[data-testid={testId}-canvas]')";
        await page.WaitForFunctionAsync($"() => {canvas} && {canvas}.homeroomChart && {canvas}.width > 0", null, new() { Timeout = 15_000 });
        return await page.EvaluateAsync<string[]>($"() => {canvas}.homeroomChart.data.labels");
    }

    private static async Task CheckAccessibilityAsync(IPage page, string path)
    {
        var violations = await Axe.SeriousViolationsAsync(page);
        violations.ShouldBeEmpty($"{path}: {string.Join("; ", violations)}");
    }
}
