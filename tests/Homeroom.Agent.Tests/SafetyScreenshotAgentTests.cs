using System.Text.Json;
using Homeroom.Agent.Session;
using Homeroom.Agent.Session.X11;
using Homeroom.Agent.Tests.Support;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Safety;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Homeroom.Agent.Tests;

/// <summary>
/// Safety screenshots from the Linux desktop (issue 17), for real: an Xvfb display wider than the largest screenshot
/// (1,600 × 900, so the helper scales it to 1,280 × 720), the real server, the agent and its user-session helper. A
/// window whose title matches the lexicon raises an alert; with <c>safety.screenshots</c> on its evidence carries the
/// screen, fetched through the API. Where the server is made to ask anyway (a capture it expects, sent on the device's
/// connection), the agent's own gates are shown: the policy, no helper, and each capture id answered once.
/// </summary>
public sealed class SafetyScreenshotAgentTests() : DesktopSessionTest(1600, 900)
{
    private const string TroublingTitle = "i want to kill myself tonight.txt - gedit";
    private const uint WindowColour = 0xC02020;

    private async Task<AgentUnderTest> MonitoredAgentAsync(Guid deviceId, bool screenshots)
    {
        // Safety monitoring also away from school zones (this device reports no location).
        var profile = await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Safety everywhere", settings = new { safety = new { atHome = true, screenshots } } });
        (await Host.PostJsonAsync("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "device", scopeId = deviceId.ToString() })).EnsureSuccessStatusCode();
        var agent = await StartDesktopAgentAsync();
        await agent.WaitConnectedAsync();
        await Poll.UntilAsync(() => Task.FromResult(agent.Status.PolicyVersion > 0), HomeroomHost.Timeout);
        return agent;
    }

    private async Task WaitForCapabilityAsync(Guid deviceId, bool available)
    {
        var live = Host.GetService<DeviceLiveState>();
        await Poll.UntilAsync(() => Task.FromResult(live.Capabilities(deviceId)?.Any(c => c.Name == CapabilityNames.SafetyScreenshot && c.Available == available) == true), HomeroomHost.Timeout);
    }

    /// <summary>
    /// Opens the troubling window (red, most of the screen) on <paramref name="desktop"/> and waits for its alert: the case as
    /// the API shows it. The window lives as long as the caller keeps <paramref name="desktop"/> open (its X connection).
    /// </summary>
    private async Task<(Guid AlertId, JsonElement Evidence)> RaiseAlertAsync(X11Session desktop, Guid deviceId)
    {
        await desktop.OpenAppWindowAsync("Gedit", TroublingTitle, 200, 150, 1200, 600, WindowColour);
        var factory = Host.GetService<IDbContextFactory<HomeroomDbContext>>();
        Guid alertId = default;
        await Poll.UntilAsync(async () =>
        {
            await using var db = await factory.CreateDbContextAsync();
            alertId = await db.Set<SafetyAlert>().AsNoTracking().Where(a => a.DeviceId == deviceId).Select(a => a.Id).FirstOrDefaultAsync();
            return alertId != default;
        }, HomeroomHost.Timeout);
        var found = await Host.GetJsonAsync<JsonElement>($"/api/safety/alerts/{alertId}");
        return (alertId, found.GetProperty("evidence").EnumerateArray().Single());
    }

    private async Task<bool> StoredAsync(Guid captureId)
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.Set<SafetyScreenshot>().AnyAsync(s => s.Id == captureId);
    }

    /// <summary>The server asks the device for a screenshot of the case's evidence, as its ingestion does.</summary>
    private async Task AskAsync(Guid deviceId, Guid alertId, Guid evidenceId, Guid captureId)
    {
        Host.GetService<SafetyCaptures>().Expect(captureId, deviceId, alertId, evidenceId);
        (await Host.GetService<ConnectionRegistry>().Get(deviceId)!.SendAsync(new SafetyCaptureFrame(captureId))).ShouldBeTrue();
    }

    private static async Task<SafetyCaptureOutcome[]> OutcomesAsync(SafetyScreenshots screenshots, Guid captureId, int count)
    {
        await Poll.UntilAsync(() => Task.FromResult(screenshots.Outcomes.Count(o => o.CaptureId == captureId) >= count), HomeroomHost.Timeout);
        return [.. screenshots.Outcomes.Where(o => o.CaptureId == captureId).Select(o => o.Outcome)];
    }

    [Fact]
    public async Task TroublingWindowTitle_WithScreenshotsOn_GetsTheScreenAsEvidence_AJpegAt1280Wide()
    {
        var deviceId = await EnrollAsync();
        await using var agent = await MonitoredAgentAsync(deviceId, screenshots: true);
        // No helper yet: nothing can be captured, and the console says why.
        await WaitForCapabilityAsync(deviceId, available: false);
        Host.GetService<DeviceLiveState>().Capabilities(deviceId)!.Single(c => c.Name == CapabilityNames.SafetyScreenshot).Reason!.ShouldContain("no user-session helper is connected");
        var (helper, _, _, _) = StartHelper();
        await helper.Welcomed.WaitAsync(HomeroomHost.Timeout);
        await WaitForCapabilityAsync(deviceId, available: true);

        using var desktop = X11Session.Open(Display.Name);
        var (alertId, evidence) = await RaiseAlertAsync(desktop, deviceId);
        evidence.GetProperty("source").GetString().ShouldBe(SignalSources.Window);

        Guid? screenshotId = null;
        await Poll.UntilAsync(async () =>
        {
            var found = await Host.GetJsonAsync<JsonElement>($"/api/safety/alerts/{alertId}");
            var shot = found.GetProperty("evidence")[0].GetProperty("screenshotId");
            screenshotId = shot.ValueKind == JsonValueKind.String ? shot.GetGuid() : null;
            return screenshotId is not null;
        }, HomeroomHost.Timeout);
        using var response = await Host.Client.GetAsync(new Uri($"/api/safety/alerts/{alertId}/screenshots/{screenshotId}", UriKind.Relative));
        response.EnsureSuccessStatusCode();
        response.Content.Headers.ContentType!.MediaType.ShouldBe("image/jpeg");
        var jpeg = await response.Content.ReadAsByteArrayAsync();
        jpeg[..3].ShouldBe(new byte[] { 0xFF, 0xD8, 0xFF });
        jpeg.Length.ShouldBeLessThanOrEqualTo(SessionMessages.MaxSafetyScreenshotBytes);
        using (var image = Image.Load<Rgb24>(jpeg))
        {
            // 1,600 × 900 scaled to the largest width, as the thumbnails are scaled.
            (image.Width, image.Height).ShouldBe((1280, 720));
            var inside = image[640, 360]; // the red window spans 160-1120 × 120-600 once scaled
            (inside.R > 150 && inside.G < 80 && inside.B < 80).ShouldBeTrue(inside.ToString());
            var outside = image[40, 680]; // the empty (black) root window
            (outside.R < 60 && outside.G < 60 && outside.B < 60).ShouldBeTrue(outside.ToString());
        }

        // Each side records after it passed the image on: by now, or in a moment.
        await Poll.UntilAsync(() => Task.FromResult(helper.SafetyScreenshotsSent.Count > 0), HomeroomHost.Timeout);
        helper.SafetyScreenshotsSent.ShouldHaveSingleItem().CaptureId.ShouldBe(screenshotId!.Value);
        var screenshots = agent.Services.GetRequiredService<SafetyScreenshots>();
        (await OutcomesAsync(screenshots, screenshotId.Value, 1)).ShouldBe([SafetyCaptureOutcome.Sent]);
        screenshots.Outcomes.Count.ShouldBe(1);
    }

    [Fact]
    public async Task WithScreenshotsOff_NoImageIsTaken_EvenWhenTheServerAsks()
    {
        var deviceId = await EnrollAsync();
        await using var agent = await MonitoredAgentAsync(deviceId, screenshots: false);
        var (helper, _, _, _) = StartHelper();
        await helper.Welcomed.WaitAsync(HomeroomHost.Timeout);
        // The device could take one: only the policy stops it.
        await WaitForCapabilityAsync(deviceId, available: true);

        using var desktop = X11Session.Open(Display.Name);
        var (alertId, evidence) = await RaiseAlertAsync(desktop, deviceId);
        evidence.GetProperty("screenshotId").ValueKind.ShouldBe(JsonValueKind.Null);

        // A server that still asks (its view of the policy a moment old) gets nothing: the agent checks its applied policy.
        var captureId = Guid.NewGuid();
        await AskAsync(deviceId, alertId, evidence.GetProperty("id").GetGuid(), captureId);
        var screenshots = agent.Services.GetRequiredService<SafetyScreenshots>();
        (await OutcomesAsync(screenshots, captureId, 1)).ShouldBe([SafetyCaptureOutcome.PolicyOff]);
        helper.SafetyScreenshotsSent.ShouldBeEmpty();
        (await StoredAsync(captureId)).ShouldBeFalse();
        var found = await Host.GetJsonAsync<JsonElement>($"/api/safety/alerts/{alertId}");
        found.GetProperty("evidence")[0].GetProperty("screenshotId").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task ACaptureId_IsAnsweredAtMostOnce_AndWithoutAHelperNothingIsSent()
    {
        var deviceId = await EnrollAsync();
        await using var agent = await MonitoredAgentAsync(deviceId, screenshots: true);
        var screenshots = agent.Services.GetRequiredService<SafetyScreenshots>();
        var (first, _, stop, run) = StartHelper();
        await first.Welcomed.WaitAsync(HomeroomHost.Timeout);
        // The server asks for a screenshot only where the device says it can take one: wait until it has said so.
        await WaitForCapabilityAsync(deviceId, available: true);
        using var desktop = X11Session.Open(Display.Name);
        var (alertId, evidence) = await RaiseAlertAsync(desktop, deviceId);
        var evidenceId = evidence.GetProperty("id").GetGuid();
        await Poll.UntilAsync(() => Task.FromResult(first.SafetyScreenshotsSent.Count == 1), HomeroomHost.Timeout);

        // Asked twice at once, then again once answered: one screenshot, stored once.
        var twice = Guid.NewGuid();
        await AskAsync(deviceId, alertId, evidenceId, twice);
        await AskAsync(deviceId, alertId, evidenceId, twice);
        (await OutcomesAsync(screenshots, twice, 2)).Order().ShouldBe([SafetyCaptureOutcome.Sent, SafetyCaptureOutcome.Repeated]);
        await Poll.UntilAsync(() => StoredAsync(twice), HomeroomHost.Timeout);
        await AskAsync(deviceId, alertId, evidenceId, twice);
        (await OutcomesAsync(screenshots, twice, 3)).ShouldBe([SafetyCaptureOutcome.Sent, SafetyCaptureOutcome.Repeated, SafetyCaptureOutcome.Repeated], ignoreOrder: true);
        await Poll.UntilAsync(() => Task.FromResult(first.SafetyScreenshotsSent.Any(s => s.CaptureId == twice)), HomeroomHost.Timeout);
        first.SafetyScreenshotsSent.Count(s => s.CaptureId == twice).ShouldBe(1);

        // The helper goes away (the student signed out): nothing can be captured, and the capability says so.
        await stop.CancelAsync();
        (await run.WaitAsync(HomeroomHost.Timeout)).ShouldBe(SessionHelperOutcome.Stopped);
        await WaitForCapabilityAsync(deviceId, available: false);
        var alone = Guid.NewGuid();
        await AskAsync(deviceId, alertId, evidenceId, alone);
        (await OutcomesAsync(screenshots, alone, 1)).ShouldBe([SafetyCaptureOutcome.NoHelper]);
        (await StoredAsync(alone)).ShouldBeFalse();
    }
}
