using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Extension;

/// <summary>
/// The extension reporting its location by itself (extension/lib/reporter.js) in real Chromium, with
/// the browser's geolocation overridden. The interval is the policy's minimum (15 s) and the
/// reporting hours are "always", so the tests do not depend on the time of day they run at.
/// </summary>
public sealed class ExtensionLocationTests
{
    private const double Latitude = 41.8781;
    private const double Longitude = -87.6298;
    private const int IntervalSeconds = 15;

    private static Func<HomeroomHost, Task> LocationProfileAsync(bool on) => async host =>
    {
        var profile = await host.PostJsonAsync<JsonElement>("/api/profiles", new
        {
            name = "Location",
            settings = new
            {
                monitoring = new { location = on },
                location = new { reportIntervalSeconds = IntervalSeconds, reportingHours = "always" },
            },
        });
        (await host.PostJsonAsync("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" })).EnsureSuccessStatusCode();
    };

    private static async Task<List<JsonElement>> TrackAsync(ExtensionHarness harness) =>
        [.. (await harness.Host.GetJsonAsync<JsonElement>($"/api/devices/{harness.DeviceId}/locations?hours=1")).EnumerateArray()];

    [Fact]
    public async Task Reporting_On_SendsFixesAtTheIntervalToTheTrack_AndSurvivesAServiceWorkerStop()
    {
        await using var harness = await ExtensionHarness.StartAsync(LocationProfileAsync(on: true));
        await using var geolocation = await OffscreenGeolocation.StartAsync(harness, Latitude, Longitude);
        await harness.UntilPolicyAppliedAsync();

        // Two fixes, an interval apart (the extension's clock: the fixes' capture times).
        await Poll.UntilAsync(async () => (await TrackAsync(harness)).Count >= 2, TimeSpan.FromSeconds(60));
        var track = await TrackAsync(harness);
        track[0].GetProperty("latitude").GetDouble().ShouldBe(Latitude, 0.001);
        track[0].GetProperty("longitude").GetDouble().ShouldBe(Longitude, 0.001);
        track[0].GetProperty("accuracyMeters").GetDouble().ShouldBe(12, 1);
        var apart = track[1].GetProperty("at").GetDateTime() - track[0].GetProperty("at").GetDateTime();
        apart.TotalSeconds.ShouldBeInRange(IntervalSeconds - 2, IntervalSeconds + 10);

        // The student's page says so.
        var page = await harness.ControlPageAsync();
        await Assertions.Expect(page.GetByTestId("location-now")).ToContainTextAsync($"being reported to your school now, about every {IntervalSeconds} seconds");
        await Assertions.Expect(page.GetByTestId("location-last")).ToContainTextAsync("The last location was sent at");

        // The worker stops; nothing else happens in the browser. Its alarm brings it back and the fixes go on.
        await harness.CloseControlPageAsync();
        var blank = await harness.Context.NewPageAsync();
        var cdp = await harness.Context.NewCDPSessionAsync(blank);
        await cdp.SendAsync("ServiceWorker.enable");
        await cdp.SendAsync("ServiceWorker.stopAllWorkers");
        await Poll.UntilAsync(async () => !await harness.IsOnlineAsync(), ExtensionHarness.Timeout);
        var before = (await TrackAsync(harness)).Count;
        await Poll.UntilAsync(async () => (await TrackAsync(harness)).Count > before, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Reporting_Off_NoFixLeavesTheDevice_NorForTheLocateCommand_UntilSwitchedOn()
    {
        await using var harness = await ExtensionHarness.StartAsync(LocationProfileAsync(on: false));
        await using var geolocation = await OffscreenGeolocation.StartAsync(harness, Latitude, Longitude);
        await harness.UntilPolicyAppliedAsync();
        await Poll.UntilAsync(async () => (await harness.StorageAsync("location")) is { ValueKind: JsonValueKind.Object } state
            && state.GetProperty("reason").GetString() == "off", ExtensionHarness.Timeout);
        var page = await harness.ControlPageAsync();
        await Assertions.Expect(page.GetByTestId("location-now")).ToContainTextAsync("switched location reporting off");

        // The school asks anyway: refused on the device.
        var locate = await harness.IssueAsync("locate");
        await Poll.UntilAsync(async () => await harness.CountAsync(locate, "failed") == 1, ExtensionHarness.Timeout);
        (await harness.DeliveryAsync(locate)).GetProperty("error").GetString()!.ShouldContain("switched off");

        // A whole interval goes by on the extension's clock, then a command travels the same socket
        // after anything the extension could have sent meanwhile: still no fix on the server.
        var offSince = await page.EvaluateAsync<double>("() => Date.now()");
        await Poll.UntilAsync(async () => await page.EvaluateAsync<double>("() => Date.now()") > offSince + ((IntervalSeconds + 1) * 1000), TimeSpan.FromSeconds(IntervalSeconds + 10));
        var ping = await harness.IssueAsync("ping");
        await harness.UntilSucceededAsync(ping);
        (await TrackAsync(harness)).ShouldBeEmpty();
        (await page.EvaluateAsync<int>("() => chrome.runtime.getContexts({ contextTypes: ['OFFSCREEN_DOCUMENT'] }).then(c => c.length)")).ShouldBe(0);

        // Switched on: the same device, the same browser, now reports (so the silence above was the policy's).
        var profiles = await harness.Host.GetJsonAsync<JsonElement>("/api/profiles");
        var id = profiles.EnumerateArray().Single().GetProperty("id").GetGuid();
        using (var update = await harness.Host.Client.PutAsJsonAsync(new Uri($"/api/profiles/{id}", UriKind.Relative), new
        {
            name = "Location",
            settings = new { monitoring = new { location = true }, location = new { reportIntervalSeconds = IntervalSeconds, reportingHours = "always" } },
        }))
        {
            update.EnsureSuccessStatusCode();
        }

        await Poll.UntilAsync(async () => (await TrackAsync(harness)).Count >= 1, TimeSpan.FromSeconds(45));
    }
}

/// <summary>
/// Overrides the geolocation the extension's offscreen document sees. Playwright's
/// <c>SetGeolocationAsync</c> only reaches pages it tracks, and an offscreen document is not one (it
/// kept getting Chromium's network provider, which fails offline); <c>GrantPermissionsAsync</c> for
/// the <c>chrome-extension://</c> origin is refused ("opaque origins") and not needed, since the
/// manifest's geolocation permission covers it. What works: from an ordinary page's DevTools session,
/// find the offscreen target (<c>Target.getTargets</c>), attach without flattening and send it
/// <c>Emulation.setGeolocationOverride</c> through <c>Target.sendMessageToTarget</c>. Chromium stamps
/// an overridden position with the time the override was set, so it is set again every second to
/// give each fix its real capture time; a recreated document is found and attached again.
/// </summary>
internal sealed class OffscreenGeolocation : IAsyncDisposable
{
    private readonly ICDPSession _cdp;
    private readonly string _offscreenUrl;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private (string TargetId, string SessionId)? _attached;
    private int _messageId;

    private OffscreenGeolocation(ICDPSession cdp, string offscreenUrl, double latitude, double longitude)
    {
        _cdp = cdp;
        _offscreenUrl = offscreenUrl;
        Latitude = latitude;
        Longitude = longitude;
        _loop = Task.Run(LoopAsync);
    }

    public double Latitude { get; set; }

    public double Longitude { get; set; }

    public static async Task<OffscreenGeolocation> StartAsync(ExtensionHarness harness, double latitude, double longitude)
    {
        var page = await harness.Context.NewPageAsync();
        var cdp = await harness.Context.NewCDPSessionAsync(page);
        return new OffscreenGeolocation(cdp, harness.ExtensionUrl("pages/offscreen.html"), latitude, longitude);
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await OverrideAsync();
            }
            catch (PlaywrightException)
            {
                _attached = null; // the document closed, or the browser is closing
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task OverrideAsync()
    {
        var targets = await _cdp.SendAsync("Target.getTargets");
        var target = targets!.Value.GetProperty("targetInfos").EnumerateArray()
            .Where(t => t.GetProperty("url").GetString() == _offscreenUrl)
            .Select(t => t.GetProperty("targetId").GetString()!)
            .FirstOrDefault();
        if (target is null)
        {
            _attached = null;
            return;
        }

        if (_attached?.TargetId != target)
        {
            var attached = await _cdp.SendAsync("Target.attachToTarget", new() { ["targetId"] = target, ["flatten"] = false });
            _attached = (target, attached!.Value.GetProperty("sessionId").GetString()!);
        }

        var message = JsonSerializer.Serialize(new
        {
            id = Interlocked.Increment(ref _messageId),
            method = "Emulation.setGeolocationOverride",
            @params = new { latitude = Latitude, longitude = Longitude, accuracy = 12 },
        });
        await _cdp.SendAsync("Target.sendMessageToTarget", new() { ["sessionId"] = _attached.Value.SessionId, ["message"] = message });
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
