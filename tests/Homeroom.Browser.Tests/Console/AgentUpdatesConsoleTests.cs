using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Contracts.Enrollment;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// A school with a group of two Linux laptops (enrolled, never connected) and another Linux laptop outside it; two
/// linux-x64 builds, the older one current; a district administrator.
/// </summary>
public sealed class AgentUpdatesDistrict : BrowserDistrict
{
    public Guid Current { get; private set; }
    public Guid Next { get; private set; }

    protected override async Task SeedAsync()
    {
        var school = await IdAsync("/api/schools", new { name = "Lincoln Middle", timeZone = "UTC" });
        var group = await IdAsync("/api/groups", new { name = "Pilot laptops", kind = "custom", schoolId = school });
        await IdAsync("/api/groups", new { name = "Library carts", kind = "cart", schoolId = school });
        var token = await Host.CreateTokenAsync(groupId: group, schoolId: school);
        await Host.EnrollAsync(token, "SN-PILOT-1", DevicePlatform.Linux);
        await Host.EnrollAsync(token, "SN-PILOT-2", DevicePlatform.Linux);
        await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: school), "SN-OTHER-1", DevicePlatform.Linux);
        Current = await UploadAsync("2.0.0", 1);
        (await Host.Client.PostAsync($"/api/agent-updates/{Current}/current", null)).EnsureSuccessStatusCode();
        Next = await UploadAsync("2.1.0", 2);
        await AccountAsync("boss", "districtAdmin");
    }

    private async Task<Guid> UploadAsync(string version, byte fill)
    {
        var elf = new byte[512];
        Array.Fill(elf, fill);
        "\u007fELF"u8.CopyTo(elf);
        elf[4] = 2;
        elf[18] = 0x3E;
        elf[19] = 0;
        using var content = new ByteArrayContent(elf);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await Host.Client.PostAsync($"/api/agent-updates?rid=linux-x64&version={version}", content);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }
}

/// <summary>The Agent updates page in Chromium: a district administrator pilots a build with a group, reads its results, promotes it.</summary>
public sealed class AgentUpdatesConsoleTests(AgentUpdatesDistrict district) : IClassFixture<AgentUpdatesDistrict>
{
    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task Admin_StartsAPilot_SeesItsDevices_ThenPromotesIt()
    {
        var admin = await district.SignInAsync("boss");
        await admin.GotoAsync("/agent-updates");
        await Expect(admin.GetByTestId("agent-pilot-none")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Expect(admin.GetByTestId("agent-pilot-submit")).ToBeDisabledAsync();

        // Only builds that are neither current nor piloting can be piloted.
        (await admin.GetByTestId("agent-pilot-build").Locator("option").AllTextContentsAsync()).ShouldBe(["Choose a build", "linux-x64 2.1.0"]);
        await admin.GetByTestId("agent-pilot-build").SelectOptionAsync(new SelectOptionValue { Label = "linux-x64 2.1.0" });
        await admin.GetByTestId("agent-pilot-group").SelectOptionAsync(new SelectOptionValue { Label = "Pilot laptops (Lincoln Middle)" });
        await admin.GetByTestId("agent-pilot-submit").ClickAsync();

        await Expect(admin.GetByTestId("agent-updates-status")).ToHaveTextAsync("linux-x64 2.1.0 is piloting with Pilot laptops: only its devices are offered it.", new() { Timeout = 15_000 });
        var pilot = admin.Locator($"[data-testid=agent-pilot][data-build='{district.Next}']");
        await Expect(pilot.GetByRole(AriaRole.Heading)).ToHaveTextAsync("linux-x64 2.1.0: pilot Pilot laptops");
        await Expect(pilot.GetByTestId("agent-pilot-devices")).ToHaveTextAsync("2");
        await Expect(pilot.GetByTestId("agent-pilot-offered")).ToHaveTextAsync("0");
        await Expect(pilot.GetByTestId("agent-pilot-updated")).ToHaveTextAsync("0");
        await Expect(pilot.GetByTestId("agent-pilot-failed")).ToHaveTextAsync("0");
        await Expect(pilot.GetByTestId("agent-pilot-older")).ToHaveTextAsync("2");
        await Expect(admin.Locator($"[data-testid=agent-updates-row][data-build='{district.Next}']").GetByTestId("agent-updates-piloting")).ToHaveTextAsync("piloting: Pilot laptops");
        (await Axe.SeriousViolationsAsync(admin)).ShouldBeEmpty();
        await Browsers.ScreenshotAsync(admin, "agent-updates-pilot");

        await pilot.GetByTestId("agent-pilot-promote").ClickAsync();
        await Expect(admin.GetByTestId("agent-updates-status")).ToHaveTextAsync("linux-x64 2.1.0 is promoted: it is current, and older agents everywhere are offered it.", new() { Timeout = 15_000 });
        await Expect(admin.GetByTestId("agent-pilot")).ToHaveCountAsync(0);
        await Expect(admin.GetByTestId("agent-pilot-none")).ToBeVisibleAsync();
        var promoted = admin.Locator($"[data-testid=agent-updates-row][data-build='{district.Next}']");
        await Expect(promoted.GetByRole(AriaRole.Cell).Nth(4)).ToHaveTextAsync("current");
        await Expect(admin.Locator($"[data-testid=agent-updates-row][data-build='{district.Current}']").GetByTestId("agent-updates-current")).ToBeVisibleAsync();
    }
}
