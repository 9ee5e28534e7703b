using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Homeroom.Browser.Tests.Infrastructure;
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
        await harness.UntilPolicyAppliedAsync();
        (await harness.StorageAsync("filterList")).GetProperty("text").GetString()!.ShouldContain("poki.test");
    }

    [Fact]
    public async Task Navigation_ToABlockedCategory_ShowsTheBlockPageAndIsRecorded()
    {
        await using var harness = await ExtensionHarness.StartAsync(BlockGamesAsync);
        await harness.UntilPolicyAppliedAsync();

        var page = await harness.OpenAsync("http://www.poki.test/game/1");
        var blockPage = harness.ExtensionUrl("pages/blocked.html");
        await harness.UntilAsync(() => page.Url.StartsWith(blockPage, StringComparison.Ordinal));
        await page.Locator("#why").Filter(new() { HasText = "games" }).WaitForAsync();
        (await page.Locator("#why").InnerTextAsync()).ShouldContain("games");
        (await page.Locator("#url").InnerTextAsync()).ShouldBe("http://www.poki.test/game/1");
        await Browsers.ScreenshotAsync(page, "extension-block-page");

        // A site rule with a path blocks under the path only.
        await ExtensionHarness.GotoAsync(page, "http://blocked.test/open");
        await harness.UntilAsync(() => page.Url == "http://blocked.test/open");
        await ExtensionHarness.GotoAsync(page, "http://blocked.test/secret/plans");
        await harness.UntilAsync(() => page.Url.StartsWith(blockPage, StringComparison.Ordinal));
        await page.Locator("#rule").Filter(new() { HasText = "blocked.test/secret" }).WaitForAsync();

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

    [Fact]
    public async Task Lock_CoversEveryTabAndNewTabs_UnlockRestoresThem()
    {
        await using var harness = await ExtensionHarness.StartAsync();
        await Poll.UntilAsync(harness.IsOnlineAsync, ExtensionHarness.Timeout);
        var first = await harness.OpenAsync("http://school.test/reading");
        var second = await harness.OpenAsync("http://school.test/math?unit=3");
        await harness.CloseControlPageAsync();
        var lockPage = harness.ExtensionUrl("pages/lock.html");

        var locked = await harness.IssueAsync("lock", new { message = "Eyes on me, please" });
        await harness.UntilSucceededAsync(locked);
        await harness.UntilAsync(() => first.Url == lockPage && second.Url == lockPage);
        await first.Locator("#message").Filter(new() { HasText = "Eyes on me, please" }).WaitForAsync();
        await Browsers.ScreenshotAsync(first, "extension-lock-page");

        // A tab opened while locked is locked too, and so is a tab that tries to leave the lock page.
        var third = await harness.OpenAsync("http://school.test/games");
        await harness.UntilAsync(() => third.Url == lockPage);
        await ExtensionHarness.GotoAsync(second, "http://school.test/escape");
        await harness.UntilAsync(() => second.Url == lockPage);
        (await harness.DeliveryAsync(locked)).GetProperty("result").GetString().ShouldBe("locked");

        var unlocked = await harness.IssueAsync("unlock");
        await harness.UntilSucceededAsync(unlocked);
        await harness.UntilAsync(() => first.Url == "http://school.test/reading" && second.Url == "http://school.test/math?unit=3" && third.Url == "http://school.test/games");
        await first.Locator("h1").Filter(new() { HasText = "school.test/reading" }).WaitForAsync();
    }

    [Fact]
    public async Task Diagnose_SendsWhatTheExtensionCanRead_StoredForStaffBeforeItSucceeds()
    {
        await using var harness = await ExtensionHarness.StartAsync();
        await Poll.UntilAsync(harness.IsOnlineAsync, ExtensionHarness.Timeout);

        var diagnose = await harness.IssueAsync("diagnose");
        await harness.UntilSucceededAsync(diagnose);

        (await harness.DeliveryAsync(diagnose)).GetProperty("result").GetString().ShouldBe("report sent");
        // The report came before the final status, so it is there as soon as the command succeeded.
        var latest = (await harness.Host.GetJsonAsync<JsonElement>($"/api/devices/{harness.DeviceId}/diagnostics")).GetProperty("latest");
        latest.GetProperty("commandId").GetGuid().ShouldBe(diagnose);
        var report = latest.GetProperty("report");
        report.GetProperty("agentVersion").GetString().ShouldBe("homeroom-extension/1.0.0");
        report.GetProperty("osVersion").GetString()!.ShouldMatch(@"^\d+\.\d+\.\d+\.\d+$");
        report.GetProperty("memory").GetProperty("totalBytes").GetInt64().ShouldBeGreaterThan(0);
        int.Parse(report.GetProperty("facts").GetProperty("cpuCores").GetString()!, System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThan(0);
        var server = report.GetProperty("connectivity")[0];
        server.GetProperty("target").GetString().ShouldBe("homeroom");
        server.GetProperty("ok").GetBoolean().ShouldBeTrue();
        server.GetProperty("httpStatus").GetInt32().ShouldBe(200);
        var unavailable = report.GetProperty("unavailable").EnumerateArray().Select(n => n.GetString()!).ToList();
        unavailable.ShouldContain(n => n.StartsWith("uptime", StringComparison.Ordinal));
        unavailable.ShouldContain(n => n.StartsWith("batteries", StringComparison.Ordinal));
        // Not a managed Chromebook: no enterprise network details, and it says so.
        unavailable.ShouldContain(n => n.StartsWith("network addresses", StringComparison.Ordinal));
        (!report.TryGetProperty("uptimeSeconds", out var uptime) || uptime.ValueKind == JsonValueKind.Null).ShouldBeTrue();
    }

    [Fact]
    public async Task Message_AppearsInTheActivePage()
    {
        await using var harness = await ExtensionHarness.StartAsync();
        await Poll.UntilAsync(harness.IsOnlineAsync, ExtensionHarness.Timeout);
        await harness.CloseControlPageAsync();
        var page = await harness.OpenAsync("http://school.test/essay");
        await page.BringToFrontAsync();

        var id = await harness.IssueAsync("message", new { title = "Ms. Rivera", text = "Five minutes left" });
        await harness.UntilSucceededAsync(id);
        var notice = page.Locator("#homeroom-message");
        await notice.Filter(new() { HasText = "Five minutes left" }).WaitForAsync();
        (await page.Locator("#homeroom-message h2").InnerTextAsync()).ShouldBe("Ms. Rivera");
        (await notice.IsVisibleAsync()).ShouldBeTrue();
        (await harness.DeliveryAsync(id)).GetProperty("result").GetString().ShouldBe("shown");
    }

    [Fact]
    public async Task ScreenView_SendsThumbnailsOnlyWhileATeacherWatches_AndShowsWhoWatches()
    {
        await using var harness = await ExtensionHarness.StartAsync();
        var host = harness.Host;
        host.Clock.MoveToSchoolDayMorning(); // ad-hoc sessions start only within the school day
        await Poll.UntilAsync(harness.IsOnlineAsync, ExtensionHarness.Timeout);
        var science = (await host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Science", kind = "class" })).GetProperty("id").GetGuid();
        (await host.PostJsonAsync($"/api/groups/{science}/members", new { deviceIds = new[] { harness.DeviceId } })).EnsureSuccessStatusCode();
        var person = await host.PostJsonAsync<JsonElement>("/api/people", new { kind = "staff", givenName = "Rivera", familyName = "Teacher" });
        (await host.PostJsonAsync($"/api/groups/{science}/members", new { personIds = new[] { person.GetProperty("id").GetGuid() } })).EnsureSuccessStatusCode();
        using var rivera = await host.SignInAsNewAccountAsync("rivera", "teacher", person.GetProperty("id").GetGuid(), "Ms. Rivera");
        var page = await harness.OpenAsync("http://school.test/lab-report");
        await page.BringToFrontAsync();

        (await rivera.PostAsJsonAsync($"/api/groups/{science}/session", new { minutes = 10 })).EnsureSuccessStatusCode();
        (await rivera.PostAsync(new Uri($"/api/groups/{science}/screen-view", UriKind.Relative), null)).EnsureSuccessStatusCode();

        await page.Locator("#homeroom-viewing-banner").Filter(new() { HasText = "Ms. Rivera is viewing your screen" }).WaitForAsync();
        byte[] image = [];
        await Poll.UntilAsync(async () =>
        {
            using var response = await rivera.GetAsync(new Uri($"/api/groups/{science}/screens/{harness.DeviceId}", UriKind.Relative));
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }

            response.Content.Headers.ContentType!.MediaType.ShouldBe("image/jpeg");
            image = await response.Content.ReadAsByteArrayAsync();
            return true;
        }, ExtensionHarness.Timeout);
        image[..2].ShouldBe(new byte[] { 0xFF, 0xD8 });
        image.Length.ShouldBeLessThanOrEqualTo(20 * 1024);
        var stats = await harness.StorageAsync("thumbnails", "session");
        stats.GetProperty("width").GetInt32().ShouldBeLessThanOrEqualTo(400);

        (await rivera.DeleteAsync(new Uri($"/api/groups/{science}/screen-view", UriKind.Relative))).EnsureSuccessStatusCode();
        await Poll.UntilAsync(async () => !await page.Locator("#homeroom-viewing-banner").IsVisibleAsync(), ExtensionHarness.Timeout);
        var sentWhenStopped = (await harness.StorageAsync("thumbnails", "session")).GetProperty("sent").GetInt32();
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // several capture intervals: nothing may be sent in them
        (await harness.StorageAsync("thumbnails", "session")).GetProperty("sent").GetInt32().ShouldBe(sentWhenStopped);
    }

    [Fact]
    public async Task Enrollment_OfItsSerialBySomeoneElse_IsRefused_AndAfterLosingItsCredentialItWaitsForApproval()
    {
        await using var harness = await ExtensionHarness.StartAsync();
        var host = harness.Host;
        await Poll.UntilAsync(harness.IsOnlineAsync, ExtensionHarness.Timeout);
        var serial = (await harness.StorageAsync("enrollment")).GetProperty("serial").GetString()!;

        // Someone with another token types this device's serial: refused, and the extension keeps the device.
        using (var client = host.CreateClient())
        {
            using var takeover = await client.PostAsJsonAsync(new Uri("/agent/v1/enroll", UriKind.Relative), new { token = await host.CreateTokenAsync(), platform = "chromeos", serial });
            takeover.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        }

        var ping = await harness.IssueAsync("ping");
        await harness.UntilSucceededAsync(ping);
        (await harness.IsOnlineAsync()).ShouldBeTrue();

        // The extension loses its credential (a reinstall keeping the hardware serial): it may not take
        // the device back by itself, and waits for an administrator.
        var control = await harness.ControlPageAsync();
        await control.EvaluateAsync("() => chrome.storage.local.remove('enrollment')");
        var cdp = await harness.Context.NewCDPSessionAsync(control);
        await cdp.SendAsync("ServiceWorker.enable");
        await cdp.SendAsync("ServiceWorker.stopAllWorkers");
        await Poll.UntilAsync(async () => !await harness.IsOnlineAsync(), ExtensionHarness.Timeout);
        await harness.CloseControlPageAsync();
        await harness.OpenAsync("http://school.test/wake");
        await Poll.UntilAsync(async () => (await harness.StorageAsync("status")).GetProperty("state").GetString() == "awaiting-approval", ExtensionHarness.Timeout);
        (await harness.IsOnlineAsync()).ShouldBeFalse();

        (await host.PostJsonAsync($"/api/devices/{harness.DeviceId}/approve-reenrollment", new { })).EnsureSuccessStatusCode();
        // The technician presses "reconnect" on the options page rather than waiting for the next attempt.
        var options = await harness.ControlPageAsync();
        await options.EvaluateAsync("() => chrome.runtime.sendMessage({ type: 'homeroom.reconnect' })");

        await Poll.UntilAsync(harness.IsOnlineAsync, ExtensionHarness.Timeout);
        (await harness.StorageAsync("enrollment")).GetProperty("deviceId").GetGuid().ShouldBe(harness.DeviceId);
        (await host.GetJsonAsync<JsonElement>("/api/devices")).GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task ServiceWorkerStopped_Reconnects_AndCommandsIssuedMeanwhileRunOnce()
    {
        await using var harness = await ExtensionHarness.StartAsync();
        await Poll.UntilAsync(harness.IsOnlineAsync, ExtensionHarness.Timeout);
        var page = await harness.OpenAsync("http://school.test/before");
        await harness.CloseControlPageAsync();

        var cdp = await harness.Context.NewCDPSessionAsync(page);
        await cdp.SendAsync("ServiceWorker.enable");
        await cdp.SendAsync("ServiceWorker.stopAllWorkers");
        await Poll.UntilAsync(async () => !await harness.IsOnlineAsync(), ExtensionHarness.Timeout);

        // A page on the real server: tabs the extension opens itself are not routed to the test pages.
        var openedUrl = new Uri(harness.Host.BaseAddress, "/healthz?opened=once").AbsoluteUri;
        var opened = await harness.IssueAsync("openUrl", new { url = openedUrl });
        var ping = await harness.IssueAsync("ping");
        var message = await harness.IssueAsync("message", new { text = "Welcome back" });

        // Any browser event wakes the worker; a navigation is what a student would do.
        await ExtensionHarness.GotoAsync(page, "http://school.test/after");
        await Poll.UntilAsync(harness.IsOnlineAsync, ExtensionHarness.Timeout);
        foreach (var id in new[] { opened, ping, message })
        {
            await harness.UntilSucceededAsync(id);
        }

        (await harness.DeliveryAsync(ping)).GetProperty("result").GetString().ShouldBe("pong");
        var ledger = await harness.StorageAsync("ledger");
        ledger.TryGetProperty(opened.ToString(), out _).ShouldBeTrue();

        // Stop and wake it once more: nothing is carried out again.
        await cdp.SendAsync("ServiceWorker.stopAllWorkers");
        await Poll.UntilAsync(async () => !await harness.IsOnlineAsync(), ExtensionHarness.Timeout);
        await ExtensionHarness.GotoAsync(page, "http://school.test/again");
        await Poll.UntilAsync(harness.IsOnlineAsync, ExtensionHarness.Timeout);
        await harness.UntilAsync(() => harness.Context.Pages.Any(p => p.Url == openedUrl));
        harness.Context.Pages.Count(p => p.Url == openedUrl).ShouldBe(1);
        (await harness.CountAsync(opened, "succeeded")).ShouldBe(1);
    }
}
