using System.Text.Json;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Browser.Tests.Extension;

/// <summary>Usage data from the extension in real Chromium: time per site (origin only) and the installed extensions, stored on a real server.</summary>
public sealed class ExtensionUsageTests
{
    private static async Task<JsonElement[]> ActivityAsync(ExtensionHarness harness, string kind) =>
        [.. (await harness.Host.GetJsonAsync<JsonElement>($"/api/activity?deviceId={harness.DeviceId}&kind={kind}&pageSize=500")).GetProperty("items").EnumerateArray()];

    [Fact]
    public async Task VisitedSite_IsStoredAsWebUsageOfItsOriginOnly_AndTheInstalledExtensionsAsAppInventory()
    {
        await using var harness = await ExtensionHarness.StartAsync();
        await harness.UntilPolicyAppliedAsync();

        var page = await harness.OpenAsync("http://www.khanacademy.test/math/algebra?student=42");
        // Time passes on the site; leaving it ends the stretch, which is queued and sent.
        await Task.Delay(TimeSpan.FromSeconds(3));
        await ExtensionHarness.GotoAsync(page, "http://docs.test/document/private-notes");

        JsonElement[] usage = [];
        await Poll.UntilAsync(async () =>
        {
            usage = await ActivityAsync(harness, "web.usage");
            return usage.Any(e => e.GetProperty("url").GetString() == "http://www.khanacademy.test/");
        }, ExtensionHarness.Timeout);
        var khan = usage.Where(e => e.GetProperty("url").GetString() == "http://www.khanacademy.test/").ToList();
        khan.Sum(e => e.GetProperty("durationSeconds").GetInt32()).ShouldBeInRange(2, 60);
        khan.ShouldAllBe(e => e.GetProperty("detail").GetString() == "focused" || e.GetProperty("detail").GetString() == "unfocused");
        // Privacy: no path or query ever leaves the device in a usage event.
        usage.ShouldAllBe(e => !e.GetProperty("url").GetString()!.Contains("algebra") && !e.GetProperty("url").GetString()!.Contains("private-notes")
            && !e.GetProperty("url").GetString()!.Contains('?'));

        JsonElement[] apps = [];
        await Poll.UntilAsync(async () =>
        {
            apps = await ActivityAsync(harness, "app.inventory");
            return apps.Length > 0;
        }, ExtensionHarness.Timeout);
        var self = apps.Where(e => e.GetProperty("appId").GetString() == harness.ExtensionId).ShouldHaveSingleItem();
        self.GetProperty("title").GetString().ShouldBe("Homeroom");
        self.GetProperty("detail").GetString().ShouldBe("1.0.0 enabled");

        // The snapshot is the device's Chrome app list too.
        await Poll.UntilAsync(async () =>
        {
            var list = await harness.Host.GetJsonAsync<JsonElement>($"/api/devices/{harness.DeviceId}/apps");
            return list.GetProperty("items").EnumerateArray().Any(a => a.GetProperty("appId").GetString() == harness.ExtensionId && a.GetProperty("source").GetString() == "chrome");
        }, ExtensionHarness.Timeout);
    }

    [Fact]
    public async Task MonitoringActivityOff_SendsNoUsageAndNoAppInventory()
    {
        await using var harness = await ExtensionHarness.StartAsync(async host =>
        {
            var profile = await host.PostJsonAsync<JsonElement>("/api/profiles", new
            {
                name = "No activity",
                settings = new { monitoring = new { activity = false }, webFilter = new { blockedSites = new[] { "poki.test" } } },
            });
            (await host.PostJsonAsync("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" })).EnsureSuccessStatusCode();
        });
        await harness.UntilPolicyAppliedAsync();

        var page = await harness.OpenAsync("http://www.khanacademy.test/math");
        await Task.Delay(TimeSpan.FromSeconds(2));
        await ExtensionHarness.GotoAsync(page, "http://docs.test/document");
        await Task.Delay(TimeSpan.FromSeconds(1));
        // A block is recorded whatever monitoring.activity says; once it is stored, anything queued before it is too.
        await ExtensionHarness.GotoAsync(page, "http://poki.test/game");
        await Poll.UntilAsync(async () => (await ActivityAsync(harness, "web.blocked")).Length == 1, ExtensionHarness.Timeout);

        (await ActivityAsync(harness, "web.usage")).ShouldBeEmpty();
        (await ActivityAsync(harness, "app.inventory")).ShouldBeEmpty();
    }
}
