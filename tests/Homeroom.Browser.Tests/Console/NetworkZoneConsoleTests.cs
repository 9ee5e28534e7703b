using System.Text.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// School-network zones in Chromium: the networks list editor on /zones (saved, and refused when
/// malformed with nothing saved), and the device page's location panel saying which signal placed
/// the device in a zone.
/// </summary>
public sealed class NetworkZoneConsoleTests(NetworkZoneDistrict district) : IClassFixture<NetworkZoneDistrict>
{
    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task ZonesPage_EditsTheNetworks_AndRefusesAMalformedOne()
    {
        var page = await district.SignInAsync();
        await page.GotoAsync("/zones");
        await page.GetByTestId("zone-row").Filter(new() { HasText = NetworkZoneDistrict.ZoneName }).GetByRole(AriaRole.Button, new() { Name = NetworkZoneDistrict.ZoneName }).ClickAsync();
        await Expect(page.GetByTestId("zone-public-ranges")).ToHaveValueAsync("127.0.0.0/8");

        await page.GetByTestId("zone-local-ranges").FillAsync("10.0.0.1/8");
        await page.GetByTestId("save-networks").ClickAsync();
        await Expect(page.GetByTestId("zone-errors")).ToContainTextAsync("properties.localRanges");
        (await district.ZoneAsync()).GetProperty("properties").GetProperty("localRanges").GetArrayLength().ShouldBe(0);

        await page.GetByTestId("zone-local-ranges").FillAsync("10.12.0.0/16\n10.13.0.0/16");
        await page.GetByTestId("save-networks").ClickAsync();
        await Expect(page.GetByTestId("zone-status")).ToContainTextAsync("Saved the networks");
        var local = (await district.ZoneAsync()).GetProperty("properties").GetProperty("localRanges");
        local.EnumerateArray().Select(r => r.GetString()).ShouldBe(["10.12.0.0/16", "10.13.0.0/16"]);
        (await district.ZoneAsync()).GetProperty("properties").GetProperty("publicRanges")[0].GetString().ShouldBe("127.0.0.0/8");
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task DevicePage_SaysWhichSignalPlacedTheDevice()
    {
        var page = await district.SignInAsync();
        await page.GotoAsync($"/devices/{district.Agent.DeviceId}");

        var row = page.GetByTestId("device-zone-row").Filter(new() { HasText = NetworkZoneDistrict.ZoneName });
        await Expect(row).ToContainTextAsync("inside");
        await Expect(row).ToContainTextAsync("Network range 127.0.0.0/8 matched");
        await Browsers.ScreenshotAsync(page, "device-zones");
        district.ConsoleErrors[page].ShouldBeEmpty();
    }
}

/// <summary>One district with a campus whose public range is loopback, and a device connected from it.</summary>
public sealed class NetworkZoneDistrict : BrowserDistrict
{
    public const string ZoneName = "Network campus";

    public TestAgent Agent { get; private set; } = null!;
    public Guid ZoneId { get; private set; }

    protected override string[] Settings => [];

    protected override int WindowHeight => 900;

    protected override async Task SeedAsync()
    {
        var zone = await Host.PostJsonAsync<JsonElement>("/api/zones", new
        {
            type = "Feature",
            properties = new { name = ZoneName, kind = "campus", radius = 300, publicRanges = new[] { "127.0.0.0/8" } },
            geometry = new { type = "Point", coordinates = new[] { -122.3, 47.6 } },
        });
        ZoneId = Guid.Parse(zone.GetProperty("id").GetString()!);
        Agent = Own(await Host.ConnectNewAgentAsync());
        await Agent.SendAsync(new HeartbeatFrame(null, null, null));
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/zones/{ZoneId}/devices")).GetArrayLength() == 1);
    }

    public Task<JsonElement> ZoneAsync() => Host.GetJsonAsync<JsonElement>($"/api/zones/{ZoneId}");

    public Task<IPage> SignInAsync() => SignInAsync("admin", HomeroomHost.AdminPassword);
}
