using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Server.Data;
using Homeroom.Server.Locations;
using Homeroom.Server.Safety;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Components;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// Every console page, found by reflection (so a new page is checked without being listed), opened
/// in Chromium as the district admin, checked with axe-core and photographed to artifacts/screenshots.
/// </summary>
[Collection(nameof(ConsoleCollection))]
public sealed class AccessibilityTests(ConsoleDistrict district)
{

    [Fact]
    public async Task EveryConsolePage_HasNoSeriousOrCriticalAccessibilityViolations()
    {
        File.Exists(Axe.Script).ShouldBeTrue($"{Axe.Script} is installed by the test project's build (npm ci).");
        var failures = new List<string>();

        var signedOut = await (await district.Browser.NewContextAsync(new() { BaseURL = district.Host.BaseAddress.AbsoluteUri })).NewPageAsync();
        await signedOut.GotoAsync("/login");
        await CheckAsync(signedOut, "/login", "login", failures);

        await EnsureSomethingOfEveryKindAsync();
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        foreach (var template in RoutableTemplates().Where(t => t != "/login"))
        {
            var path = await PathForAsync(template);
            await page.GotoAsync(path);
            await CheckAsync(page, path, ScreenshotName(template), failures);
        }

        failures.ShouldBeEmpty(string.Join(Environment.NewLine, failures));
    }

    // Detail pages need something to show: a profile, an alert and a safety case (written as the alert
    // services would, for a device of the district; raising them for real is the map and safety tests' business).
    private async Task EnsureSomethingOfEveryKindAsync()
    {
        var profiles = await district.Host.Client.GetFromJsonAsync<JsonElement>("/api/profiles");
        if ((profiles.ValueKind == JsonValueKind.Array ? profiles : profiles.GetProperty("items")).GetArrayLength() == 0)
        {
            (await district.Host.PostJsonAsync("/api/profiles", new { name = "Accessibility check profile", settings = new { } })).EnsureSuccessStatusCode();
        }

        if ((await district.Host.Client.GetFromJsonAsync<JsonElement>("/api/apps")).GetArrayLength() == 0)
        {
            (await district.Host.PostJsonAsync("/api/apps", new { name = "Accessibility check app", category = "education", chromeExtensionId = "aapocclcgogkmnckokdopfmhonfmgoek" })).EnsureSuccessStatusCode();
        }

        var dbFactory = district.Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>();
        await using var db = await dbFactory.CreateDbContextAsync();
        if (!await db.Alerts.AnyAsync())
        {
            db.Alerts.Add(new Alert
            {
                Id = System.Guid.CreateVersion7(), Kind = AlertKinds.OutOfBounds, DeviceId = district.Fleet.Devices[0].DeviceId!.Value,
                RaisedAt = DateTime.UtcNow, Latitude = 41.88, Longitude = -87.63, Details = "Left the campus",
            });
            await db.SaveChangesAsync();
        }

        if (!await db.Set<SafetyAlert>().AnyAsync())
        {
            var now = DateTime.UtcNow;
            db.Set<SafetyAlert>().Add(new SafetyAlert
            {
                Id = System.Guid.CreateVersion7(), DeviceId = district.Fleet.Devices[0].DeviceId!.Value, Category = "bullying", Phrase = "nobody likes you",
                Severity = "medium", SeverityRank = 2, Score = 2.5, Status = SafetyStatuses.New, Count = 1, FirstSeenAt = now, LastSeenAt = now, UpdatedAt = now,
            });
            await db.SaveChangesAsync();
        }
    }

    /// <summary>The route templates of every routable component in the server, parameters included.</summary>
    public static IEnumerable<string> RoutableTemplates() =>
        typeof(Homeroom.Server.HomeroomApp).Assembly.GetTypes()
            .Where(type => typeof(IComponent).IsAssignableFrom(type))
            .SelectMany(type => type.GetCustomAttributes<RouteAttribute>())
            .Select(route => route.Template)
            .Distinct()
            .Order(StringComparer.Ordinal);

    private static async Task CheckAsync(IPage page, string path, string name, List<string> failures)
    {
        // Pages render over the interactive connection: wait until the page's own heading is there.
        await Assertions.Expect(page.Locator("main h1, h1").First).ToBeVisibleAsync(new() { Timeout = 15_000 });
        var violations = await Axe.SeriousViolationsAsync(page);
        failures.AddRange(violations.Select(violation => $"{path}: {violation}"));
        await Browsers.ScreenshotAsync(page, "page-" + name);
    }

    /// <summary>
    /// A real path for a template: a route parameter takes the id of the first resource the API
    /// lists under the same name (/devices/{Id} → the first of /api/devices), classes for the classroom.
    /// </summary>
    private async Task<string> PathForAsync(string template)
    {
        var parameter = template.IndexOf('{', StringComparison.Ordinal);
        if (parameter < 0)
        {
            return template;
        }

        var collection = template[..parameter].Trim('/');
        var api = collection == "classroom" ? "/api/groups" : $"/api/{collection}";
        if (collection == "alerts")
        {
            api = "/api/alerts";
        }
        var listed = await district.Host.Client.GetFromJsonAsync<JsonElement>(api);
        var items = listed.ValueKind == JsonValueKind.Array ? listed : listed.GetProperty("items");
        items.GetArrayLength().ShouldBeGreaterThan(0, $"The accessibility test opens {template} with the first item of {api}; the test district has none.");
        var id = collection == "classroom" ? district.Science.ToString() : items[0].GetProperty("id").GetString();
        var close = template.IndexOf('}', parameter);
        return template[..parameter] + id + template[(close + 1)..];
    }

    private static string ScreenshotName(string template) =>
        template == "/" ? "overview" : string.Join('-', template.Trim('/').Split('/').Select(part => part.StartsWith('{') ? "detail" : part));
}
