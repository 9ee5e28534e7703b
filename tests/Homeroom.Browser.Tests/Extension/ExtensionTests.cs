using System.Text;
using System.Text.Json;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Browser.Tests.Extension;

/// <summary>The Chromebook agent (extension/) in real Chromium against a real server.</summary>
public sealed class ExtensionTests
{
    private static async Task BlockGamesAsync(HomeroomHost host)
    {
        using var list = new StringContent("poki.test\narcade.test/play\n", Encoding.UTF8, "text/plain");
        using var uploaded = await host.Client.PostAsync(new Uri("/api/filter-lists?name=Games&format=plain&category=games", UriKind.Relative), list);
        uploaded.EnsureSuccessStatusCode();
        var profile = await host.PostJsonAsync<JsonElement>("/api/profiles", new
        {
            name = "District filter",
            settings = new { webFilter = new { blockedCategories = new[] { "games" }, blockedSites = new[] { "blocked.test/secret" }, safeSearch = true, youTube = "strict" } },
        });
        (await host.PostJsonAsync("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" })).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Enroll_WithToken_ShowsOnlineAndAppliesThePolicy()
    {
        await using var harness = await ExtensionHarness.StartAsync(BlockGamesAsync);

        await Poll.UntilAsync(harness.IsOnlineAsync, ExtensionHarness.Timeout);
        var device = await harness.DeviceAsync();
        device.GetProperty("platform").GetString().ShouldBe("chromeOS", StringCompareShould.IgnoreCase);
        device.GetProperty("agentVersion").GetString().ShouldBe("homeroom-extension/1.0.0");
        await Poll.UntilAsync(async () =>
        {
            var policy = await harness.Host.GetJsonAsync<JsonElement>($"/api/devices/{harness.DeviceId}/policy");
            return policy.GetProperty("appliedVersion").GetInt64() >= 1 && policy.GetProperty("compliant").GetBoolean();
        }, ExtensionHarness.Timeout);
    }

    [Fact]
    public async Task Navigation_ToABlockedCategory_ShowsTheBlockPageAndIsRecorded()
    {
        await using var harness = await ExtensionHarness.StartAsync(BlockGamesAsync);
        await Poll.UntilAsync(async () => (await harness.StorageAsync("filterList")).ValueKind == JsonValueKind.Object, ExtensionHarness.Timeout);

        var page = await harness.OpenAsync("http://www.poki.test/game/1");
        await page.WaitForURLAsync(url => url.StartsWith(harness.ExtensionUrl("pages/blocked.html"), StringComparison.Ordinal), new() { Timeout = 15_000 });
        await page.Locator("#why").WaitForAsync();
        (await page.Locator("#why").InnerTextAsync()).ShouldContain("games");
        (await page.Locator("#url").InnerTextAsync()).ShouldBe("http://www.poki.test/game/1");
        await harness.ScreenshotAsync(page, "extension-block-page.png");

        // A site rule with a path blocks under the path only.
        await ExtensionHarness.GotoAsync(page, "http://blocked.test/open");
        await page.WaitForURLAsync("http://blocked.test/open");
        await ExtensionHarness.GotoAsync(page, "http://blocked.test/secret/plans");
        await page.WaitForURLAsync(url => url.StartsWith(harness.ExtensionUrl("pages/blocked.html"), StringComparison.Ordinal), new() { Timeout = 15_000 });
        (await page.Locator("#rule").InnerTextAsync()).ShouldContain("blocked.test/secret");

        JsonElement[] blocked = [];
        await Poll.UntilAsync(async () =>
        {
            var activity = await harness.Host.GetJsonAsync<JsonElement>($"/api/activity?deviceId={harness.DeviceId}&kind=web.blocked");
            blocked = [.. activity.GetProperty("items").EnumerateArray()];
            return blocked.Length >= 2;
        }, ExtensionHarness.Timeout);
        blocked.ShouldContain(e => e.GetProperty("url").GetString() == "http://www.poki.test/game/1" && e.GetProperty("detail").GetString() == "category:games");
        blocked.ShouldContain(e => e.GetProperty("url").GetString() == "http://blocked.test/secret/plans" && e.GetProperty("detail").GetString() == "rule:blocked.test/secret");
        blocked.Length.ShouldBe(2);
    }
}
