using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Activity;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Insights;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// The rollup reports' pages in Chromium over activity stored through the activity writer and folded
/// into the rollups (the devices' own ingestion path): blocked sites with their trend and, for staff who
/// may read names, who hit them (audited); web and app use by time and by students; app adoption with
/// never-used apps; the overview's cards. Each page draws its chart, holds the numbers in a table, passes axe-core,
/// answers its filters and prints nothing to the browser console.
/// </summary>
public sealed class InsightsReportsConsoleTests(ConsoleServer server) : IClassFixture<ConsoleServer>
{
    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static readonly LocatorAssertionsToHaveCountOptions Soon = new() { Timeout = 15_000 };
    private static readonly LocatorAssertionsToHaveTextOptions SoonText = new() { Timeout = 15_000 };

    private long _seq;

    [Fact]
    public async Task ReportPages_ShowSeededActivity_AnswerFilters_AndShowNamesOnlyWithThePermission()
    {
        var host = server.Host;
        var school = (await host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Report school", timeZone = "UTC" })).GetProperty("id").GetGuid();
        var history = (await host.PostJsonAsync<JsonElement>("/api/groups", new { name = "History 9", kind = "class", schoolId = school, gradeLevel = 9 })).GetProperty("id").GetGuid();
        var ada = await StudentAsync(school, "Ada", "Lovelace", 9);
        var bo = await StudentAsync(school, "Bo", "Diddley", 5);
        var chromebook = await DeviceAsync(school, DevicePlatform.ChromeOS, ada);
        var ipad = await DeviceAsync(school, DevicePlatform.IPadOS, bo);
        (await host.PostJsonAsync($"/api/groups/{history}/members", new { personIds = new[] { ada } })).EnsureSuccessStatusCode();

        var now = host.Clock.GetUtcNow().UtcDateTime;
        await SendAsync(chromebook, now,
            Blocked("https://poki.com/g/1", "games"), Blocked("https://www.poki.com/", "games"), Blocked("https://poki.com/x", "games"),
            new ActivityEvent(0, default, ActivityKinds.WebVisit, "https://docs.example.org/a"),
            new ActivityEvent(0, default, ActivityKinds.WebUsage, "https://docs.example.org/", DurationSeconds: 600, Detail: "focused"),
            new ActivityEvent(0, default, ActivityKinds.AppUsage, AppId: "org.khan", DurationSeconds: 900));
        await SendAsync(ipad, now,
            Blocked("https://poki.com/", "games"), Blocked("https://cool.io/", "proxy"),
            new ActivityEvent(0, default, ActivityKinds.WebUsage, "https://docs.example.org/", DurationSeconds: 120, Detail: "focused"),
            new ActivityEvent(0, default, ActivityKinds.WebUsage, "https://wiki.example.net/", DurationSeconds: 1200, Detail: "focused"));
        // The previous period's blocks, for the trend.
        await SendAsync(chromebook, now.AddDays(-40), Blocked("https://poki.com/", "games"), Blocked("https://poki.com/", "games"));
        await using (var db = await host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            db.DeviceApps.Add(new DeviceApp { DeviceId = chromebook, AppId = "org.khan", Name = "Khan Academy" });
            db.DeviceApps.Add(new DeviceApp { DeviceId = chromebook, AppId = "com.shelfware", Name = "Shelfware" });
            db.DeviceApps.Add(new DeviceApp { DeviceId = ipad, AppId = "com.shelfware", Name = "Shelfware" });
            await db.SaveChangesAsync();
        }

        var admin = await server.SignInAsync("admin", HomeroomHost.AdminPassword);

        // The overview: this week's most-blocked site, new against the week before, and the top site and app.
        await Expect(admin.GetByTestId("dashboard-top-blocked")).ToHaveTextAsync("poki.com", SoonText);
        await Expect(admin.GetByTestId("dashboard-top-blocked-count")).ToHaveTextAsync("4");
        await Expect(admin.GetByTestId("dashboard-top-blocked-trend")).ToHaveTextAsync("new this week");
        await Expect(admin.GetByTestId("dashboard-top-site")).ToHaveTextAsync("example.net");
        await Expect(admin.GetByTestId("dashboard-top-app")).ToHaveTextAsync("org.khan");
        await admin.GetByTestId("dashboard-blocked-link").ClickAsync();
        await Assertions.Expect(admin).ToHaveURLAsync(new Regex(@"/insights/blocked(\?|$)"));

        // Blocked sites: the chart, the table's numbers with the trend against the previous 30 days.
        await Expect(admin.GetByTestId("blocked-site-row")).ToHaveCountAsync(2, Soon);
        (await DrawnAsync(admin, "blocked-sites-chart")).ShouldBe(["poki.com", "cool.io"]);
        (await DrawnAsync(admin, "blocked-categories-chart")).ShouldBe(["games", "proxy"]);
        await Expect(admin.GetByTestId("blocked-site-row").Nth(0).Locator("td")).ToHaveTextAsync(["4", "2", "up 100%", "2", "Who hit poki.com"]);
        await Expect(admin.GetByTestId("blocked-site-row").Nth(1).Locator("td")).ToHaveTextAsync(["1", "0", "new", "1", "Who hit cool.io"]);
        await Expect(admin.GetByTestId("blocked-categories-table").Locator("tbody tr").Nth(0).Locator("td")).ToHaveTextAsync(["4", "2", "up 100%", "2"]);
        await Expect(admin.GetByTestId("blocked-sites-chart-table").Locator("tbody tr").Nth(0).Locator("td")).ToHaveTextAsync(["4", "2"]);
        var csvHref = await admin.GetByTestId("blocked-csv").GetAttributeAsync("href");
        csvHref.ShouldStartWith("/api/insights/blocked-sites?from=");
        var csv = await admin.APIRequest.GetAsync(csvHref!);
        csv.Status.ShouldBe(200);
        (await csv.TextAsync()).ShouldBe("subject,blocks,students,previous_blocks\r\npoki.com,4,2,2\r\ncool.io,1,1,0\r\n");

        // Who: the students behind a site, and the reading is audited.
        await admin.GetByTestId("blocked-who").Nth(0).ClickAsync();
        await Expect(admin.GetByTestId("blocked-who-table").Locator("tbody tr")).ToHaveCountAsync(2, Soon);
        await Expect(admin.GetByTestId("blocked-who-table").Locator("tbody tr th")).ToHaveTextAsync(["Ada Lovelace", "Bo Diddley"]);
        await Expect(admin.GetByTestId("blocked-who-table").Locator("tbody tr").Nth(0).Locator("td").Nth(1)).ToHaveTextAsync("3");
        await using (var db = await host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            (await db.AuditLog.CountAsync(e => e.Action == "insights.blocked.students.read" && e.TargetId == "poki.com")).ShouldBe(1);
        }

        // A filter changes the answer: the iPad alone hit poki.com once.
        await admin.GetByTestId("filter-platform").SelectOptionAsync("ipados");
        await Expect(admin.GetByTestId("blocked-site-row").Nth(0).Locator("td").Nth(0)).ToHaveTextAsync("1", SoonText);
        await Expect(admin.GetByTestId("blocked-who-panel")).ToHaveCountAsync(0);
        (await admin.GetByTestId("blocked-csv").GetAttributeAsync("href"))!.ShouldContain("platform=ipados");
        await admin.WaitForFunctionAsync("() => document.querySelector('[data-testid=blocked-sites-chart-canvas]').homeroomChart.data.datasets[0].data[0] === 1");
        await CheckAccessibilityAsync(admin, "/insights/blocked");
        await PrintAsync(admin, "insights-blocked");

        // The Print button prints through the console's own script: its policy allows no inline onclick, nor an injected inline script.
        await admin.EvaluateAsync("() => { window.printed = 0; window.print = () => window.printed++; }");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Print" }).ClickAsync();
        (await admin.EvaluateAsync<int>("() => window.printed")).ShouldBe(1);
        var probe = await admin.Context.NewPageAsync(); // its refusal is printed on its own console, not the admin page's
        await probe.GotoAsync("/insights/blocked");
        await Should.ThrowAsync<PlaywrightException>(() => probe.AddScriptTagAsync(new() { Content = "window.injected = true;" }));
        (await probe.EvaluateAsync<bool>("() => window.injected === true")).ShouldBeFalse();
        await probe.CloseAsync();

        // Web and app use: by time, then by students, then one class.
        await admin.GotoAsync("/insights/usage");
        await Expect(admin.GetByTestId("usage-site-row")).ToHaveCountAsync(2, Soon);
        (await DrawnAsync(admin, "usage-sites-chart")).ShouldBe(["example.net", "example.org"]);
        await Expect(admin.GetByTestId("usage-site-row").Nth(1).Locator("td")).ToHaveTextAsync(["12", "0", "1", "2"]);
        (await DrawnAsync(admin, "usage-apps-chart")).ShouldBe(["org.khan"]);
        await Expect(admin.GetByTestId("usage-app-row").Locator("td")).ToHaveTextAsync(["15", "1", "1"]);
        await admin.GetByTestId("usage-order").SelectOptionAsync("students");
        await admin.WaitForFunctionAsync("() => document.querySelector('[data-testid=usage-sites-chart-canvas]').homeroomChart.data.labels[0] === 'example.org'");
        await Expect(admin.GetByTestId("usage-site-row").Nth(0).Locator("th")).ToHaveTextAsync("example.org");
        (await admin.GetByTestId("usage-sites-csv").GetAttributeAsync("href"))!.ShouldEndWith("format=csv&order=students");
        await admin.GetByTestId("filter-class").SelectOptionAsync(history.ToString());
        await Expect(admin.GetByTestId("usage-site-row")).ToHaveCountAsync(1, Soon);
        await Expect(admin.GetByTestId("usage-site-row").Locator("td")).ToHaveTextAsync(["10", "0", "1", "1"]);
        await CheckAccessibilityAsync(admin, "/insights/usage");
        await PrintAsync(admin, "insights-usage");

        // App adoption: installs, use in the last 30 days, and the apps never used.
        await admin.GotoAsync("/insights/apps");
        await Expect(admin.GetByTestId("apps-row")).ToHaveCountAsync(2, Soon);
        (await DrawnAsync(admin, "apps-chart")).ShouldBe(["Shelfware", "Khan Academy"]);
        await Expect(admin.GetByTestId("apps-row").Nth(0).Locator("td")).ToHaveTextAsync(["com.shelfware", "2", "2", "0", "0%", "2"]);
        await Expect(admin.GetByTestId("apps-row").Nth(1).Locator("td")).ToHaveTextAsync(["org.khan", "1", "1", "1", "100%", "0"]);
        await Expect(admin.GetByTestId("apps-never-used").Locator("li")).ToHaveCountAsync(1);
        await Expect(admin.GetByTestId("apps-never-used")).ToContainTextAsync("Shelfware");
        await Expect(admin.GetByTestId("filter-from")).ToHaveCountAsync(0);
        await admin.GetByTestId("filter-platform").SelectOptionAsync("ipados");
        await Expect(admin.GetByTestId("apps-row")).ToHaveCountAsync(1, Soon);
        await Expect(admin.GetByTestId("apps-row").Locator("td")).ToHaveTextAsync(["com.shelfware", "1", "1", "0", "0%", "1"]);
        await CheckAccessibilityAsync(admin, "/insights/apps");
        await PrintAsync(admin, "insights-apps");
        server.ConsoleErrors[admin].ShouldBeEmpty();

        // An IT technician of the school reads the numbers but not the names: no "who" anywhere.
        using var api = await host.SignInAsNewAccountAsync("report-technician", "itTechnician", schoolId: school);
        var technician = await server.SignInAsync("report-technician", ConsoleDistrict.TeacherPassword);
        await technician.GotoAsync("/insights/blocked");
        await Expect(technician.GetByTestId("blocked-site-row")).ToHaveCountAsync(2, Soon);
        await Expect(technician.GetByTestId("blocked-site-row").Nth(0).Locator("td")).ToHaveTextAsync(["4", "2", "up 100%", "2"]);
        await Expect(technician.GetByTestId("blocked-who")).ToHaveCountAsync(0);
        (await DrawnAsync(technician, "blocked-sites-chart")).ShouldBe(["poki.com", "cool.io"]);
        using var names = await api.GetAsync("/api/insights/blocked-sites/students?site=poki.com");
        ((int)names.StatusCode).ShouldBe(403);
        server.ConsoleErrors[technician].ShouldBeEmpty();
    }

    private static ActivityEvent Blocked(string url, string category) => new(0, default, ActivityKinds.WebBlocked, url, Detail: category);

    private async Task<Guid> StudentAsync(Guid school, string given, string family, int grade) =>
        (await server.Host.PostJsonAsync<JsonElement>("/api/people", new { kind = "student", givenName = given, familyName = family, schoolId = school, gradeLevel = grade }))
            .GetProperty("id").GetGuid();

    private async Task<Guid> DeviceAsync(Guid school, DevicePlatform platform, Guid student)
    {
        var token = await server.Host.CreateTokenAsync(schoolId: school);
        var id = (await server.Host.EnrollAsync(token, "SN-" + Guid.NewGuid().ToString("N")[..10], platform)).DeviceId;
        (await server.Host.Client.PatchAsJsonAsync($"/api/devices/{id}", new { assignedPersonId = student })).EnsureSuccessStatusCode();
        return id;
    }

    /// <summary>Stores a batch as a device's connection does, then lets the folder fold it into the rollups.</summary>
    private async Task SendAsync(Guid device, DateTime at, params ActivityEvent[] events)
    {
        var batch = new ActivityBatch(device, events.Select(e => e with { Seq = Interlocked.Increment(ref _seq), OccurredAt = new DateTimeOffset(at.AddMinutes(-30), TimeSpan.Zero) }).ToList(), at);
        await server.Host.GetService<ActivityWriter>().EnqueueAsync(batch);
        (await batch.Stored.Task.WaitAsync(HomeroomHost.Timeout)).ShouldBeTrue();
        await server.Host.GetService<InsightFolder>().CatchUpAsync();
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

    /// <summary>Printed: the navigation and filters go; the page still holds its tables.</summary>
    private static async Task PrintAsync(IPage page, string name)
    {
        await page.EmulateMediaAsync(new() { Media = Media.Print });
        await Expect(page.Locator("nav.sidebar")).ToBeHiddenAsync();
        await Expect(page.Locator(".insight-filters")).ToBeHiddenAsync();
        var pdf = await page.PdfAsync(new() { Path = Path.Combine(Browsers.ArtifactsDirectory, name + ".pdf"), Format = "A4" });
        pdf.Length.ShouldBeGreaterThan(10_000);
        await page.EmulateMediaAsync(new() { Media = Media.Screen });
        await Browsers.ScreenshotAsync(page, name);
    }
}
