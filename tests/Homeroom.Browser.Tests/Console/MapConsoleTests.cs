using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// The console's maps in Chromium: zones drawn, exported and imported on /zones, an alert acknowledged
/// with its track drawn, and the device page's track only for staff who read locations. Tiles are off
/// (the test host's empty <c>Homeroom:Maps:TileUrl</c>): every map draws on a blank background.
/// </summary>
public sealed class MapConsoleTests(MapDistrict district) : IClassFixture<MapDistrict>
{
    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static readonly LocatorAssertionsToHaveCountOptions Soon = new() { Timeout = 15_000 };

    [Fact]
    public async Task DistrictAdmin_DrawsAPolygonAndACircle_ExportsAndReimports_AndSeesTheDeviceInside()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GetByRole(AriaRole.Link, new() { Name = "Zones" }).ClickAsync();
        var map = page.GetByTestId("zones-map");
        await Expect(map).ToHaveClassAsync(new Regex("leaflet-container"));
        await Expect(map).ToHaveClassAsync(new Regex("blank"));
        await map.EvaluateAsync("(el, at) => el.leafletMap.setView(at, 16, { animate: false })", new[] { MapDistrict.Campus.Lat, MapDistrict.Campus.Lon });
        var (x, y) = await PixelAsync(map, MapDistrict.Campus);
        var start = (await district.ZonesAsync()).Count;

        // A polygon round the campus, corner by corner.
        await page.GetByTestId("draw-polygon").ClickAsync();
        await Expect(page.GetByTestId("drawing-state")).ToContainTextAsync("0 points");
        foreach (var (dx, dy) in new[] { (-60, -60), (60, -60), (60, 60), (-60, 60) })
        {
            await map.ClickAsync(new() { Position = new() { X = x + dx, Y = y + dy } });
        }

        await Expect(page.GetByTestId("drawing-state")).ToContainTextAsync("4 points");
        await page.GetByTestId("zone-name").FillAsync("Lincoln campus");
        await page.GetByTestId("zone-kind").SelectOptionAsync("campus");
        await page.GetByTestId("save-zone").ClickAsync();
        await Expect(page.GetByTestId("zone-status")).ToHaveTextAsync("Saved Lincoln campus.");

        // A circle east of it: the centre, then a point on the edge.
        await page.GetByTestId("draw-circle").ClickAsync();
        await Expect(page.GetByTestId("drawing-state")).ToContainTextAsync("0 of 2 points");
        await map.ClickAsync(new() { Position = new() { X = x + 180, Y = y } });
        await Expect(page.GetByTestId("drawing-state")).ToContainTextAsync("1 of 2 points");
        await map.ClickAsync(new() { Position = new() { X = x + 220, Y = y } });
        await Expect(page.GetByTestId("drawing-state")).ToContainTextAsync("2 of 2 points");
        await page.GetByTestId("zone-name").FillAsync("Sports field");
        await page.GetByTestId("zone-kind").SelectOptionAsync("other");
        await page.GetByTestId("save-zone").ClickAsync();
        await Expect(page.GetByTestId("zone-status")).ToHaveTextAsync("Saved Sports field.");
        await Expect(page.GetByTestId("zone-row")).ToHaveCountAsync(start + 2);
        await Expect(page.GetByTestId("zone-row").Filter(new() { HasText = "Sports field" })).ToContainTextAsync("circle");
        // Leaflet draws each zone as an SVG path.
        await Expect(map.Locator("path.leaflet-interactive")).ToHaveCountAsync(start + 2);

        var zones = await district.ZonesAsync();
        var campus = zones.Single(z => Name(z) == "Lincoln campus");
        campus.GetProperty("geometry").GetProperty("type").GetString().ShouldBe("Polygon");
        var circle = zones.Single(z => Name(z) == "Sports field");
        // 40 px at zoom 16 at this latitude is about 64 m.
        circle.GetProperty("properties").GetProperty("radius").GetDouble().ShouldBeInRange(45, 85);

        // The device reports a position on campus: it is inside the drawn polygon and not the circle.
        var campusId = campus.GetProperty("id").GetString();
        await district.FixAsync(MapDistrict.Campus);
        await Poll.UntilAsync(async () => (await district.Host.GetJsonAsync<JsonElement>($"/api/zones/{campusId}/devices")).GetArrayLength() == 1);
        await page.GetByTestId("zone-row").Filter(new() { HasText = "Lincoln campus" }).GetByRole(AriaRole.Button, new() { Name = "Lincoln campus" }).ClickAsync();
        await Expect(page.GetByTestId("zone-devices")).ToContainTextAsync(MapDistrict.DeviceName);
        await Expect(page.GetByTestId("zone-devices")).ToContainTextAsync("Ada Lovelace");
        await page.GetByTestId("zone-row").Filter(new() { HasText = "Sports field" }).GetByRole(AriaRole.Button, new() { Name = "Sports field" }).ClickAsync();
        await Expect(page.GetByTestId("zone-devices")).ToHaveTextAsync("No device is inside now.");
        await Browsers.ScreenshotAsync(page, "zones");

        // Export, delete the circle, import the export: the circle is back and the campus is the same zone.
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("export-zones").ClickAsync());
        download.SuggestedFilename.ShouldBe("zones.geojson");
        var exported = await File.ReadAllTextAsync((await download.PathAsync())!);
        JsonDocument.Parse(exported).RootElement.GetProperty("features").GetArrayLength().ShouldBe(start + 2);
        await page.GetByTestId("zone-row").Filter(new() { HasText = "Sports field" }).GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await Expect(page.GetByTestId("zone-row")).ToHaveCountAsync(start + 1);

        await page.GetByTestId("import-zones").SetInputFilesAsync(new FilePayload { Name = "zones.geojson", MimeType = "application/geo+json", Buffer = System.Text.Encoding.UTF8.GetBytes(exported) });
        await Expect(page.GetByTestId("zone-status")).ToHaveTextAsync($"Imported {start + 2} zones from zones.geojson.");
        await Expect(page.GetByTestId("zone-row")).ToHaveCountAsync(start + 2);
        var after = await district.ZonesAsync();
        after.Count.ShouldBe(start + 2);
        after.Single(z => Name(z) == "Lincoln campus").GetProperty("id").GetString().ShouldBe(campusId);
        after.Single(z => Name(z) == "Sports field").GetProperty("properties").GetProperty("radius").GetDouble()
            .ShouldBe(circle.GetProperty("properties").GetProperty("radius").GetDouble());
        district.ConsoleErrors[page].ShouldBeEmpty();

        // Tidy up for the other tests of this class.
        foreach (var zone in after.Where(z => Name(z) is "Lincoln campus" or "Sports field"))
        {
            (await district.Host.Client.DeleteAsync(new Uri($"/api/zones/{zone.GetProperty("id").GetString()}", UriKind.Relative))).EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task InvalidGeoJson_ImportedOrDrawn_ShowsWhy_AndSavesNothing()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GotoAsync("/zones");
        var map = page.GetByTestId("zones-map");
        await Expect(map).ToHaveClassAsync(new Regex("leaflet-container"));
        var before = (await district.ZonesAsync()).Count;

        // A collection with one good zone and one bow tie: neither is saved.
        const string bowTie = """
            {"type":"FeatureCollection","features":[
              {"type":"Feature","properties":{"name":"Fine","kind":"campus","radius":100},"geometry":{"type":"Point","coordinates":[-122.3,47.6]}},
              {"type":"Feature","properties":{"name":"Bow tie","kind":"campus"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}]}
            """;
        await page.GetByTestId("import-zones").SetInputFilesAsync(new FilePayload { Name = "bow-tie.geojson", MimeType = "application/geo+json", Buffer = System.Text.Encoding.UTF8.GetBytes(bowTie) });
        var errors = page.GetByTestId("zone-errors");
        await Expect(errors).ToContainTextAsync("bow-tie.geojson is not a valid zone import. Nothing was saved.");
        await Expect(errors).ToContainTextAsync("features[1].geometry.coordinates[0]");
        await Browsers.ScreenshotAsync(page, "zones-invalid-import");

        // Not JSON, out of range, and too large.
        await page.GetByTestId("import-zones").SetInputFilesAsync(new FilePayload { Name = "notes.txt", MimeType = "text/plain", Buffer = "campus: somewhere"u8.ToArray() });
        await Expect(errors).ToContainTextAsync("notes.txt is not JSON.");
        const string farAway = """{"type":"Feature","properties":{"name":"Far","kind":"campus"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,95],[0,0]]]}}""";
        await page.GetByTestId("import-zones").SetInputFilesAsync(new FilePayload { Name = "far.geojson", MimeType = "application/geo+json", Buffer = System.Text.Encoding.UTF8.GetBytes(farAway) });
        await Expect(errors).ToContainTextAsync("latitude 95 is outside [-90, 90]");
        await page.GetByTestId("import-zones").SetInputFilesAsync(new FilePayload { Name = "huge.geojson", MimeType = "application/geo+json", Buffer = new byte[(1024 * 1024) + 1] });
        await Expect(errors).ToContainTextAsync("huge.geojson is too large");

        // Drawn: a bow tie (corners clicked crosswise), then too few corners.
        await map.EvaluateAsync("(el, at) => el.leafletMap.setView(at, 16, { animate: false })", new[] { MapDistrict.Campus.Lat, MapDistrict.Campus.Lon });
        var (x, y) = await PixelAsync(map, MapDistrict.Campus);
        await page.GetByTestId("draw-polygon").ClickAsync();
        await Expect(page.GetByTestId("drawing-state")).ToContainTextAsync("0 points");
        foreach (var (dx, dy) in new[] { (-50, -50), (50, 50), (50, -50), (-50, 50) })
        {
            await map.ClickAsync(new() { Position = new() { X = x + dx, Y = y + dy } });
        }

        await page.GetByTestId("zone-name").FillAsync("Crossed");
        await page.GetByTestId("save-zone").ClickAsync();
        await Expect(errors).ToContainTextAsync("The zone is not valid. Nothing was saved.");
        await Expect(errors).ToContainTextAsync("geometry.coordinates[0]: the ring crosses or touches itself");
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await page.GetByTestId("draw-polygon").ClickAsync();
        await Expect(page.GetByTestId("drawing-state")).ToContainTextAsync("0 points");
        await map.ClickAsync(new() { Position = new() { X = x, Y = y } });
        await map.ClickAsync(new() { Position = new() { X = x + 40, Y = y } });
        await page.GetByTestId("zone-name").FillAsync("Line");
        await page.GetByTestId("save-zone").ClickAsync();
        await Expect(errors).ToContainTextAsync("a linear ring needs at least 4 positions, got 3");

        (await district.ZonesAsync()).Count.ShouldBe(before);
        (await district.Host.GetJsonAsync<JsonElement>("/api/audit?action=zone.create")).GetProperty("items").EnumerateArray()
            .ShouldNotContain(e => e.GetProperty("details").GetString()!.Contains("Fine", StringComparison.Ordinal));
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task Alert_IsAcknowledgedWithANote_AndItsTrackIsDrawn()
    {
        var alert = await district.RaiseAlertAsync();
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);

        // The overview links to the alerts and to the open alert.
        await Expect(page.GetByTestId("overview-alert")).ToHaveCountAsync(1, Soon);
        await page.GetByTestId("overview-alerts").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"/alerts(\?|$)"));
        var row = page.GetByTestId("alert-row");
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row).ToContainTextAsync(MapDistrict.DeviceName);
        await Expect(row).ToContainTextAsync("Ada Lovelace");
        await Expect(row).ToContainTextAsync("out of bounds");
        // In the school's time (Chicago), not UTC.
        await Expect(row).ToContainTextAsync(district.SchoolTime(alert.RaisedAt));
        await page.GotoAsync("/");
        await page.GetByTestId("overview-alert").Locator("a[href^='/alerts/']").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex($@"/alerts/{alert.Id}(\?|$)"));

        // The track: a line through the positions, a dot for each, and the alert's position.
        var map = page.GetByTestId("alert-map");
        await Expect(map.Locator("path.track-line")).ToHaveCountAsync(1, Soon);
        await Expect(map.Locator("path.track-point")).ToHaveCountAsync(alert.TrackPoints);
        await Expect(map.Locator("path.track-alert")).ToHaveCountAsync(1);
        await Expect(map.Locator(".leaflet-tile")).ToHaveCountAsync(0);

        await page.GetByTestId("ack-note").FillAsync("Called home: at the dentist with a parent.");
        await page.GetByTestId("acknowledge").ClickAsync();
        await Expect(page.GetByTestId("alert-acknowledged")).ToContainTextAsync("by admin");
        await Expect(page.GetByTestId("alert-acknowledged")).ToContainTextAsync("Called home: at the dentist with a parent.");
        await Expect(page.GetByTestId("acknowledge")).ToHaveCountAsync(0);
        await Browsers.ScreenshotAsync(page, "alert-detail");

        var stored = await district.Host.GetJsonAsync<JsonElement>($"/api/alerts/{alert.Id}");
        stored.GetProperty("alert").GetProperty("acknowledgementNote").GetString().ShouldBe("Called home: at the dentist with a parent.");
        district.ConsoleErrors[page].ShouldBeEmpty();

        // An IT technician reads alerts but not locations: no position, no map.
        var technician = await district.SignInAsync(MapDistrict.Technician, MapDistrict.Password);
        await technician.GotoAsync($"/alerts/{alert.Id}");
        await Expect(technician.GetByTestId("alert-facts")).ToContainTextAsync("Called home");
        await Expect(technician.GetByTestId("alert-map")).ToHaveCountAsync(0);
        await Expect(technician.GetByTestId("acknowledge")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task DevicePage_ShowsTheTrack_OnlyToRolesThatReadLocations()
    {
        await district.FixAsync(MapDistrict.Campus);
        await district.FixAsync((MapDistrict.Campus.Lat + 0.001, MapDistrict.Campus.Lon + 0.001));
        await Poll.UntilAsync(async () => (await district.Host.GetJsonAsync<JsonElement>($"/api/devices/{district.Agent.DeviceId}/locations")).GetArrayLength() >= 2);

        var admin = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await admin.GotoAsync($"/devices/{district.Agent.DeviceId}");
        var map = admin.GetByTestId("device-map");
        await Expect(map.Locator("path.track-line")).ToHaveCountAsync(1, Soon);
        (await map.Locator("path.track-point").CountAsync()).ShouldBeGreaterThanOrEqualTo(2);
        await Expect(map).ToHaveClassAsync(new Regex("blank"));
        await Browsers.ScreenshotAsync(admin, "device-location");
        district.ConsoleErrors[admin].ShouldBeEmpty();

        var technician = await district.SignInAsync(MapDistrict.Technician, MapDistrict.Password);
        await technician.GotoAsync($"/devices/{district.Agent.DeviceId}");
        await Expect(technician.GetByTestId("device-online")).ToBeVisibleAsync();
        await Expect(technician.GetByTestId("device-location")).ToHaveCountAsync(0);
        await Expect(technician.Locator(".leaflet-container")).ToHaveCountAsync(0);
    }

    private static string? Name(JsonElement zone) => zone.GetProperty("properties").GetProperty("name").GetString();

    private static async Task<(float X, float Y)> PixelAsync(ILocator map, (double Lat, double Lon) at)
    {
        var point = await map.EvaluateAsync<JsonElement>("(el, at) => el.leafletMap.latLngToContainerPoint(at)", new[] { at.Lat, at.Lon });
        return ((float)point.GetProperty("x").GetDouble(), (float)point.GetProperty("y").GetDouble());
    }
}

/// <summary>
/// A real server on SQLite with one school in Chicago's time zone, one student (Ada Lovelace) with a
/// test agent's device, an IT technician, and Chromium.
/// </summary>
public sealed class MapDistrict : BrowserDistrict
{
    public const string DeviceName = "Ada's Chromebook";
    public const string Technician = "tech";
    public static readonly (double Lat, double Lon) Campus = (47.600, -122.300);
    public static readonly (double Lat, double Lon) FarAway = (47.640, -122.300);

    public TestAgent Agent { get; private set; } = null!;

    protected override string[] Settings => [];

    protected override int WindowHeight => 900;

    protected override async Task SeedAsync()
    {
        var school = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Lincoln Middle", timeZone = "America/Chicago" })).GetProperty("id").GetGuid();
        var student = (await Host.PostJsonAsync<JsonElement>("/api/people", new { kind = "student", givenName = "Ada", familyName = "Lovelace", schoolId = school, gradeLevel = 7 })).GetProperty("id").GetGuid();
        // Reporting hours "always": the server refuses fixes outside them, and these tests are not about the time of day.
        var anyHour = (await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Location at any hour", settings = new { location = new { reportingHours = "always" } } })).GetProperty("id").GetGuid();
        (await Host.PostJsonAsync("/api/assignments", new { profileId = anyHour, level = "district" })).EnsureSuccessStatusCode();
        Agent = Own(await Host.ConnectNewAgentAsync(serial: "SN-MAP-1"));
        (await Host.Client.PatchAsJsonAsync($"/api/devices/{Agent.DeviceId}", new { name = DeviceName, assignedPersonId = student, schoolId = school })).EnsureSuccessStatusCode();
        await AccountAsync(Technician, "itTechnician", displayName: "IT Tech");
    }

    // The server takes at most one fix per device every 10 s (Homeroom:Locations:MinFixInterval): each fix comes a little later.
    public Task FixAsync((double Lat, double Lon) at)
    {
        Host.Clock.Advance(TimeSpan.FromSeconds(11));
        return Agent.SendAsync(new HeartbeatFrame(null, null, new LocationFix(at.Lat, at.Lon, 20, Host.Clock.GetUtcNow())));
    }

    public async Task<List<JsonElement>> ZonesAsync() =>
        [.. (await Host.GetJsonAsync<JsonElement>("/api/zones")).GetProperty("features").EnumerateArray()];

    public string SchoolTime(DateTime utc) =>
        TimeZoneInfo.ConvertTimeFromUtc(utc, TimeZoneInfo.FindSystemTimeZoneById("America/Chicago")).ToString("MMM d HH:mm", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A campus zone the district's policy keeps the device in; the device leaves it. Returns the open alert.</summary>
    public async Task<(Guid Id, DateTime RaisedAt, int TrackPoints)> RaiseAlertAsync()
    {
        var zone = (await Host.PostJsonAsync<JsonElement>("/api/zones", new
        {
            type = "Feature",
            properties = new { name = "Alert campus", kind = "campus", radius = 500 },
            geometry = new { type = "Point", coordinates = new[] { Campus.Lon, Campus.Lat } },
        })).GetProperty("id").GetString();
        var profile = (await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Stay on campus", settings = new { location = new { allowedZones = new[] { zone } } } })).GetProperty("id").GetGuid();
        await Host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId = profile, level = "district" });
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{Agent.DeviceId}/policy")).GetRawText().Contains(zone!, StringComparison.OrdinalIgnoreCase));

        (double Lat, double Lon)[] walk = [Campus, Campus, (Campus.Lat + 0.02, Campus.Lon), FarAway, FarAway];
        foreach (var at in walk)
        {
            await FixAsync(at);
            Host.Clock.Advance(TimeSpan.FromMinutes(1));
        }

        JsonElement alert = default;
        await Poll.UntilAsync(async () =>
        {
            var items = (await Host.GetJsonAsync<JsonElement>("/api/alerts?state=open")).GetProperty("items");
            alert = items.GetArrayLength() == 1 ? items[0] : default;
            return items.GetArrayLength() == 1;
        });
        var id = alert.GetProperty("id").GetGuid();
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/alerts/{id}")).GetProperty("track").GetArrayLength() >= walk.Length);
        var track = (await Host.GetJsonAsync<JsonElement>($"/api/alerts/{id}")).GetProperty("track").GetArrayLength();
        return (id, alert.GetProperty("raisedAt").GetDateTime(), track);
    }
}
