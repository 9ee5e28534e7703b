using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// Live notifications in Chromium: staff with console pages open are told of an out-of-bounds alert
/// about a device of their scope without reloading; another school's staff are not; acknowledging on
/// one page clears it on the others; the device coming back updates it; Escape dismisses it.
/// </summary>
public sealed class NotificationConsoleTests(NotificationDistrict district) : IClassFixture<NotificationDistrict>
{
    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static readonly LocatorAssertionsToHaveCountOptions Soon = new() { Timeout = 20_000 };
    private static readonly LocatorAssertionsToContainTextOptions SoonText = new() { Timeout = 20_000 };

    [Fact]
    public async Task OutOfBoundsAlert_OpenPagesOfStaffInScope_ShowItLive_AndAcknowledgingClearsItEverywhere()
    {
        var notifier = district.Host.GetService<Homeroom.Server.Notifications.Notifier>();
        var listeningBefore = notifier.SubscriberCount;

        // Three staff members with the console open on some page, before anything happens.
        var north = await district.SignInAsync(NotificationDistrict.NorthAdmin);
        await north.GotoAsync("/devices");
        var admin = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await admin.GotoAsync("/zones");
        var south = await district.SignInAsync(NotificationDistrict.SouthAdmin);
        var northUrl = north.Url;
        foreach (var page in new[] { north, admin, south })
        {
            await Expect(page.GetByTestId("live-notifications")).ToBeAttachedAsync();
            await Expect(page.GetByTestId("live-notifications").GetByRole(AriaRole.Status)).ToHaveAttributeAsync("aria-live", "polite");
        }

        // The North device leaves its campus.
        await district.LeaveAsync(district.NorthAgent);

        var northNotice = north.GetByTestId("live-notification");
        await Expect(northNotice).ToHaveCountAsync(1, Soon);
        await Expect(northNotice).ToContainTextAsync($"{NotificationDistrict.NorthDevice} is out of bounds");
        await Expect(northNotice.GetByTestId("live-notification-device")).ToHaveAttributeAsync("href", $"/devices/{district.NorthAgent.DeviceId}");
        await Expect(admin.GetByTestId("live-notification")).ToHaveCountAsync(1, Soon);
        north.Url.ShouldBe(northUrl, "shown without a reload or a navigation");
        var alertId = await district.OpenAlertIdAsync(district.NorthAgent.DeviceId);
        await Expect(northNotice.GetByTestId("live-notification-open")).ToHaveAttributeAsync("href", $"/alerts/{alertId}");
        await Browsers.ScreenshotAsync(north, "live-notification");

        // Then the South device: the South admin is told of theirs, and of nothing before it (each page receives in order).
        await district.LeaveAsync(district.SouthAgent);
        var southNotice = south.GetByTestId("live-notification");
        await Expect(southNotice).ToContainTextAsync($"{NotificationDistrict.SouthDevice} is out of bounds", SoonText);
        await Expect(southNotice).ToHaveCountAsync(1);
        await Expect(north.GetByTestId("live-notification")).ToHaveCountAsync(1);
        await Expect(admin.GetByTestId("live-notification")).ToHaveCountAsync(2, Soon);

        // The South device comes back: its notice says so; Escape on it dismisses it.
        await district.ReturnAsync(district.SouthAgent);
        await Expect(southNotice).ToContainTextAsync("back in bounds", SoonText);
        await southNotice.GetByTestId("live-notification-dismiss").FocusAsync();
        await south.Keyboard.PressAsync("Escape");
        await Expect(southNotice).ToHaveCountAsync(0);

        // The North admin follows the link and acknowledges; the district admin's page clears without a reload.
        await northNotice.GetByTestId("live-notification-open").ClickAsync();
        await Assertions.Expect(north).ToHaveURLAsync(new Regex($@"/alerts/{alertId}(\?|$)"));
        await north.GetByTestId("acknowledge").ClickAsync();
        await Expect(north.GetByTestId("alert-acknowledged")).ToContainTextAsync(NotificationDistrict.NorthAdmin, SoonText);
        await Expect(north.GetByTestId("live-notification")).ToHaveCountAsync(0, Soon);
        await Expect(admin.GetByTestId("live-notification").Filter(new() { HasText = NotificationDistrict.NorthDevice })).ToHaveCountAsync(0, Soon);
        await Expect(admin.GetByTestId("live-notification")).ToHaveCountAsync(1);

        foreach (var page in new[] { north, admin, south })
        {
            district.ConsoleErrors[page].ShouldBeEmpty();
        }

        // Leaving the console ends each page's live connection, and with it its subscription: nothing leaks.
        notifier.SubscriberCount.ShouldBe(listeningBefore + 3);
        foreach (var page in new[] { north, admin, south })
        {
            await page.GotoAsync("about:blank");
        }

        await Poll.UntilAsync(() => Task.FromResult(notifier.SubscriberCount == listeningBefore), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task SettingsPage_SchoolAdmin_SavesAWebhook_SeesTheSecretOnce_AndIsToldWhatIsWrong()
    {
        var page = await district.SignInAsync(NotificationDistrict.NorthAdmin);
        await page.GetByRole(AriaRole.Link, new() { Name = "Notifications" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"/notifications(\?|$)"));
        await Expect(page.GetByTestId("notification-school").Locator("option")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("smtp-off")).ToBeVisibleAsync();

        await page.GetByTestId("webhook-kind-outOfBounds").CheckAsync();
        await page.GetByTestId("webhook-url").FillAsync("http://hooks.example.org/homeroom");
        await page.GetByTestId("save-notifications").ClickAsync();
        await Expect(page.GetByTestId("notification-errors")).ToContainTextAsync("https://");

        await page.GetByTestId("webhook-url").FillAsync("https://hooks.example.org/homeroom");
        await page.GetByTestId("email-kind-outOfBounds").CheckAsync();
        await page.GetByTestId("email-addresses").FillAsync("office@north.example.org\nsafety@north.example.org");
        await page.GetByTestId("save-notifications").ClickAsync();
        await Expect(page.GetByTestId("notification-status")).ToHaveTextAsync("Saved.");
        var secret = await page.GetByTestId("webhook-secret").InnerTextAsync();
        secret.ShouldStartWith("whsec_");

        await page.ReloadAsync();
        await Expect(page.GetByTestId("webhook-url")).ToHaveValueAsync("https://hooks.example.org/homeroom");
        await Expect(page.GetByTestId("webhook-secret")).ToHaveCountAsync(0);
        (await page.ContentAsync()).ShouldNotContain(secret);
        var stored = await district.Host.GetJsonAsync<JsonElement>($"/api/schools/{district.NorthSchool}/notifications");
        stored.GetProperty("emailAddresses").GetArrayLength().ShouldBe(2);
        district.ConsoleErrors[page].ShouldBeEmpty();
    }
}

/// <summary>
/// A real server on SQLite with two schools (North, South), a test agent's device in each, a school
/// administrator for each, a campus zone the district's policy keeps devices in, and Chromium.
/// </summary>
public sealed class NotificationDistrict : BrowserDistrict
{
    public const string NorthAdmin = "north-admin";
    public const string SouthAdmin = "south-admin";
    public const string NorthDevice = "North Chromebook";
    public const string SouthDevice = "South Chromebook";
    private static readonly (double Lat, double Lon) Campus = (47.600, -122.300);
    private static readonly (double Lat, double Lon) FarAway = (47.640, -122.300);

    public TestAgent NorthAgent { get; private set; } = null!;
    public TestAgent SouthAgent { get; private set; } = null!;
    public Guid NorthSchool { get; private set; }

    protected override string[] Settings => [];

    protected override int WindowHeight => 900;

    protected override async Task SeedAsync()
    {
        NorthSchool = await IdAsync("/api/schools", new { name = "North Middle", timeZone = "UTC" });
        var southSchool = await IdAsync("/api/schools", new { name = "South Middle", timeZone = "UTC" });
        await AccountAsync(NorthAdmin, "schoolAdmin", NorthSchool, displayName: "North Admin");
        await AccountAsync(SouthAdmin, "schoolAdmin", southSchool, displayName: "South Admin");

        var zone = (await Host.PostJsonAsync<JsonElement>("/api/zones", new
        {
            type = "Feature",
            properties = new { name = "Campus", kind = "campus", radius = 500 },
            geometry = new { type = "Point", coordinates = new[] { Campus.Lon, Campus.Lat } },
        })).GetProperty("id").GetString()!;
        // Reporting hours "always": the server refuses fixes outside them, and these notices are not about the time of day.
        var profile = await IdAsync("/api/profiles", new { name = "Stay on campus", settings = new { location = new { allowedZones = new[] { zone }, reportingHours = "always" } } });
        await Host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId = profile, level = "district" });

        NorthAgent = await DeviceAsync("SN-NOTE-N", NorthDevice, NorthSchool, zone);
        SouthAgent = await DeviceAsync("SN-NOTE-S", SouthDevice, southSchool, zone);
    }

    private async Task<TestAgent> DeviceAsync(string serial, string name, Guid school, string zone)
    {
        var agent = Own(await Host.ConnectNewAgentAsync(serial: serial));
        (await Host.Client.PatchAsJsonAsync($"/api/devices/{agent.DeviceId}", new { name, schoolId = school })).EnsureSuccessStatusCode();
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/policy")).GetRawText().Contains(zone, StringComparison.OrdinalIgnoreCase));
        foreach (var _ in Enumerable.Range(0, 2))
        {
            await FixAsync(agent, Campus);
        }

        return agent;
    }

    // The server takes at most one fix per device every 10 s (Homeroom:Locations:MinFixInterval): each fix comes a little later.
    private Task FixAsync(TestAgent agent, (double Lat, double Lon) at)
    {
        Host.Clock.Advance(TimeSpan.FromSeconds(11));
        return agent.SendAsync(new HeartbeatFrame(null, null, new LocationFix(at.Lat, at.Lon, 20, Host.Clock.GetUtcNow())));
    }

    /// <summary>The device reports two fixes far from campus (what the hysteresis needs to call it out of bounds).</summary>
    public async Task LeaveAsync(TestAgent agent)
    {
        await FixAsync(agent, FarAway);
        await FixAsync(agent, FarAway);
    }

    public async Task ReturnAsync(TestAgent agent)
    {
        await FixAsync(agent, Campus);
        await FixAsync(agent, Campus);
    }

    public async Task<Guid> OpenAlertIdAsync(Guid deviceId)
    {
        var items = (await Host.GetJsonAsync<JsonElement>($"/api/alerts?state=open&deviceId={deviceId}")).GetProperty("items");
        return items[0].GetProperty("id").GetGuid();
    }
}
