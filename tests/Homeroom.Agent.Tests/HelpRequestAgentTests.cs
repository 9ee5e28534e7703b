using System.Text.Json;
using Homeroom.Agent.Session;
using Homeroom.Agent.Session.X11;
using Homeroom.Agent.Tests.Support;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Tests.Infrastructure;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Homeroom.Agent.Tests;

/// <summary>
/// "I need help" on a Linux desktop, end to end: an Xvfb display, the real server, the real agent (service) and its
/// user-session helper. The student opens the help window as the applications menu does (<c>homeroom-agent help</c>),
/// types with XTest key presses and clicks with XTest, as a person would; what arrives is read from the server's API, and
/// what the student is told from the helper.
/// </summary>
public sealed class HelpRequestAgentTests() : DesktopSessionTest(1024, 768)
{
    [Fact]
    public async Task NoteAndTickedScreenshot_ReachTheServer_TheScreenshotIsTheScreen_AndTheStudentSeesWhereItGoes()
    {
        var (_, agent, helper) = await ReadyAsync();
        await using var _ = agent;
        using var desktop = X11Session.Open(Display.Name);
        // A desktop of two applications, one on each half; the help window opens over both.
        await desktop.OpenAppWindowAsync("Gedit", "Essay", 0, 0, 512, 768, 0xC03030);
        await desktop.OpenAppWindowAsync("Firefox", "Maths", 512, 0, 512, 768, 0x3060C0);
        var before = await ScreenshotAsync();

        await OpenHelpWindowAsync();
        await TypeAsync(desktop, "my printer is broken");
        await ClickAsync(desktop, X11Session.HelpAttachBox);
        await ClickAsync(desktop, X11Session.HelpSendButton);

        var request = await StoredRequestAsync();
        request.GetProperty("note").GetString().ShouldBe("my printer is broken");
        request.GetProperty("hasScreenshot").GetBoolean().ShouldBeTrue();
        request.GetProperty("status").GetString().ShouldBe(HelpStatuses.ItQueue); // no class in session
        var id = request.GetProperty("id").GetGuid();

        // The picture is the student's screen as it was, without the help window (scaled to 800 pixels wide).
        using var shot = await Host.Client.GetAsync($"/api/support/requests/{id}/screenshot");
        shot.IsSuccessStatusCode.ShouldBeTrue();
        var jpeg = await shot.Content.ReadAsByteArrayAsync();
        jpeg.Length.ShouldBeLessThanOrEqualTo(HelpRequestLimits.MaxScreenshotBytes);
        using var image = Image.Load<Rgb24>(jpeg);
        image.Width.ShouldBe(SessionHelper.HelpScreenshotMaxWidth);
        image.Height.ShouldBe(768 * SessionHelper.HelpScreenshotMaxWidth / 1024);
        var (checkedPoints, mismatches) = Compare(image, before);
        checkedPoints.ShouldBeGreaterThan(1000);
        mismatches.ShouldBeEmpty();

        // The student is told where it went, and again when IT resolves it.
        var requestId = helper.HelpSent.ShouldHaveSingleItem().RequestId;
        await Poll.UntilAsync(() => Task.FromResult(helper.HelpShown.Any(s => s.RequestId == requestId && s.Text == "Sent to IT.")), HomeroomHost.Timeout);
        (await ScreenshotAsync()).Pixels.Count(p => p == X11Session.MessageColour).ShouldBeGreaterThan(X11Session.MessageWidth * X11Session.MessageHeight / 2);
        using (var resolved = await Host.Client.PostAsync($"/api/support/requests/{id}/resolve", null))
        {
            resolved.IsSuccessStatusCode.ShouldBeTrue();
        }

        await Poll.UntilAsync(() => Task.FromResult(helper.HelpShown.Any(s => s.RequestId == requestId && s.Status == HelpStatuses.Resolved && s.Text == "Resolved.")), HomeroomHost.Timeout);
    }

    [Fact]
    public async Task Cancel_SendsNothing_AndWithoutTheBoxTickedNoScreenshotGoes()
    {
        var (_, agent, helper) = await ReadyAsync();
        await using var _ = agent;
        using var desktop = X11Session.Open(Display.Name);

        await OpenHelpWindowAsync();
        await TypeAsync(desktop, "never mind");
        await ClickAsync(desktop, X11Session.HelpAttachBox);
        await ClickAsync(desktop, X11Session.HelpCancelButton);
        await Poll.UntilAsync(() => Task.FromResult(helper.HelpCancelled == 1), HomeroomHost.Timeout);
        (await ScreenshotAsync()).Pixels.ShouldAllBe(p => p != X11Session.HelpColour);
        helper.HelpSent.ShouldBeEmpty();

        // Asked again: a new, empty window; this time sent, the box left as it was (not ticked).
        await OpenHelpWindowAsync();
        await TypeAsync(desktop, "wifi is slow");
        await ClickAsync(desktop, X11Session.HelpSendButton);

        // Only the second request exists: the cancelled one never left the helper (and the answer to the second came after
        // anything sent before it: the channel, the agent and the server each keep a device's order).
        var request = await StoredRequestAsync();
        await Poll.UntilAsync(() => Task.FromResult(helper.HelpShown.Any(s => s.Text == "Sent to IT.")), HomeroomHost.Timeout);
        (await Host.GetJsonAsync<JsonElement>("/api/support/requests?status=all")).GetArrayLength().ShouldBe(1);
        request.GetProperty("note").GetString().ShouldBe("wifi is slow");
        request.GetProperty("hasScreenshot").GetBoolean().ShouldBeFalse();
        using var shot = await Host.Client.GetAsync($"/api/support/requests/{request.GetProperty("id").GetGuid()}/screenshot");
        shot.StatusCode.ShouldBe(System.Net.HttpStatusCode.NotFound);
        helper.HelpSent.ShouldHaveSingleItem().Screenshot.ShouldBeNull();
    }

    [Fact]
    public async Task RequestsMadeOffline_AreKeptBoundedAndTheStudentTold_ThenGoWhenTheDeviceIsBackOnline()
    {
        var (_, agent, helper) = await ReadyAsync();
        await using var _ = agent;
        using var desktop = X11Session.Open(Display.Name);
        var desk = (HelpDesk)agent.Services.GetService(typeof(HelpDesk))!;
        Network.Down = true;
        Network.CutAll();
        await Poll.UntilAsync(() => Task.FromResult(!agent.Status.Connected), HomeroomHost.Timeout);

        await SendAsync("cannot log in");
        helper.HelpShown.ShouldHaveSingleItem().Text.ShouldBe("Saved: it goes as soon as this device is back online.");
        desk.WaitingCount.ShouldBe(1);
        for (var i = 2; i <= HelpDesk.MaxWaiting; i++)
        {
            await SendAsync($"still cannot log in {i}");
        }

        // One more than the service keeps: refused at once, and the student told.
        await SendAsync("please");
        helper.HelpShown[^1].Status.ShouldBe(HelpDeskStatuses.TooManyWaiting);
        helper.HelpShown[^1].Text.ShouldStartWith("Not sent");
        desk.WaitingCount.ShouldBe(HelpDesk.MaxWaiting);

        Network.Down = false;
        await agent.WaitConnectedAsync(connections: 2);
        JsonElement requests = default;
        await Poll.UntilAsync(async () =>
        {
            requests = await Host.GetJsonAsync<JsonElement>("/api/support/requests?status=all");
            return requests.GetArrayLength() >= HelpDesk.MaxWaiting;
        }, HomeroomHost.Timeout);
        requests.EnumerateArray().Select(r => r.GetProperty("note").GetString()).Order(StringComparer.Ordinal)
            .ShouldBe(["cannot log in", "still cannot log in 2", "still cannot log in 3", "still cannot log in 4", "still cannot log in 5"]);
        await Poll.UntilAsync(() => Task.FromResult(helper.HelpShown.Count(s => s.Text == "Sent to IT.") == HelpDesk.MaxWaiting), HomeroomHost.Timeout);
        desk.WaitingCount.ShouldBe(0);

        async Task SendAsync(string note)
        {
            var shown = helper.HelpShown.Count;
            await OpenHelpWindowAsync();
            await TypeAsync(desktop, note);
            await ClickAsync(desktop, X11Session.HelpSendButton);
            await Poll.UntilAsync(() => Task.FromResult(helper.HelpShown.Count > shown), HomeroomHost.Timeout);
        }
    }

    [Fact]
    public async Task RequestMadeWhileTheServerIsDown_SurvivesAnAgentRestart_AndArrivesOnceWhenTheServerIsBack()
    {
        var (_, agent, helper) = await ReadyAsync();
        using var desktop = X11Session.Open(Display.Name);
        Network.Down = true;
        Network.CutAll();
        await Poll.UntilAsync(() => Task.FromResult(!agent.Status.Connected), HomeroomHost.Timeout);

        var shown = helper.HelpShown.Count;
        await OpenHelpWindowAsync();
        await TypeAsync(desktop, "projector will not start");
        await ClickAsync(desktop, X11Session.HelpSendButton);
        await Poll.UntilAsync(() => Task.FromResult(helper.HelpShown.Count > shown), HomeroomHost.Timeout);
        helper.HelpShown[^1].Text.ShouldBe("Saved: it goes as soon as this device is back online.");
        var requestId = helper.HelpSent.ShouldHaveSingleItem().RequestId;

        // The service restarts while the server is still out of reach: the request is on disk, for the service user only.
        await agent.DisposeAsync();
        var kept = Path.Combine(StateDirectory, "help-requests.json");
        File.GetUnixFileMode(kept).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        (await File.ReadAllTextAsync(kept)).ShouldContain("projector will not start");
        await using var restarted = await StartDesktopAgentAsync();
        var desk = (HelpDesk)restarted.Services.GetService(typeof(HelpDesk))!;
        desk.WaitingCount.ShouldBe(1);
        // The student's helper finds the restarted service, which tells it again that the request waits to be sent.
        await Poll.UntilAsync(() => Task.FromResult(helper.HelpShown.Count(s => s.RequestId == requestId && s.Status == HelpDeskStatuses.Waiting) == 2), HomeroomHost.Timeout);

        // The server is back: the request arrives, once, and the student (whose helper found the new service) is told.
        Network.Down = false;
        await restarted.WaitConnectedAsync();
        var request = await StoredRequestAsync();
        request.GetProperty("note").GetString().ShouldBe("projector will not start");
        await Poll.UntilAsync(() => Task.FromResult(helper.HelpShown.Any(s => s.RequestId == requestId && s.Text == "Sent to IT.")), HomeroomHost.Timeout);
        desk.WaitingCount.ShouldBe(0);

        // Acknowledged: no longer kept, so no later connection or restart sends it again.
        (await File.ReadAllTextAsync(kept)).ShouldNotContain("projector");
    }

    [Fact]
    public async Task TrayIcon_DocksInTheDesktopsSystemTray_AndAClickOpensTheHelpWindow()
    {
        var (_, agent, helper) = await ReadyAsync();
        await using var _ = agent;
        using var desktop = X11Session.Open(Display.Name);
        // The panel's tray starts after the helper, as it may at login: the helper finds it and docks.
        using var tray = TestTray.Start(Display.Name, 880, 0, 144, 32);
        await tray.EmbedNextAsync(HomeroomHost.Timeout);
        await Poll.UntilAsync(async () => (await ScreenshotAsync()).Pixels.Count(p => p == X11Session.HelpIconColour) > X11Session.HelpIconSize * X11Session.HelpIconSize / 2, HomeroomHost.Timeout);

        var (x, y) = (tray.X + 4 + (X11Session.HelpIconSize / 2), tray.Y + 4 + (X11Session.HelpIconSize / 2));
        await desktop.InjectAsync([new RemoteInputEvent("move", x, y), new RemoteInputEvent("down", x, y, 1), new RemoteInputEvent("up", x, y, 1)]);
        await Poll.UntilAsync(async () => (await ScreenshotAsync()).Pixels.Count(p => p == X11Session.HelpColour) > 10_000, HomeroomHost.Timeout);
        await TypeAsync(desktop, "from the tray");
        await ClickAsync(desktop, X11Session.HelpSendButton);
        (await StoredRequestAsync()).GetProperty("note").GetString().ShouldBe("from the tray");
        helper.HelpSent.ShouldHaveSingleItem();
    }

    [Fact]
    public async Task HelpCommand_WithNoHelperRunning_SaysSo()
    {
        var (code, _, error) = await CliAsync("help", "--display", Display.Name, "--session-socket", SessionSocket);
        code.ShouldBe(AgentCli.HelpUnavailable);
        error.ShouldContain("session helper is not running");
    }

    [Theory]
    [InlineData(HelpRequestLimits.MaxNoteLength + 1, false, "helpRequest note too long")]
    [InlineData(10, true, "helpRequest screenshot must be a JPEG of at most 40,000 bytes")]
    public void Channel_RefusesAHelpRequestBeyondTheProtocolsLimits(int noteLength, bool notJpeg, string reason)
    {
        var message = new SessionMessage(SessionMessages.HelpRequest, Guid.NewGuid(), CapturedAt: DateTimeOffset.UtcNow,
            Text: new string('a', noteLength), Image: notJpeg ? [1, 2, 3, 4, 5, 6, 7, 8, 9] : null);
        SessionMessages.Validate(message, fromHelper: true).ShouldBe(reason);
        // A helper's message the service never sends, and the other way round.
        SessionMessages.Validate(message with { Text = "ok", Image = null }, fromHelper: false).ShouldNotBeNull();
        SessionMessages.Validate(message with { Text = "ok", Image = null }, fromHelper: true).ShouldBeNull();
    }

    private async Task<(Guid DeviceId, AgentUnderTest Agent, SessionHelper Helper)> ReadyAsync()
    {
        var deviceId = await EnrollAsync();
        var agent = await StartDesktopAgentAsync();
        await agent.WaitConnectedAsync();
        var helper = StartHelper().Helper;
        await helper.Welcomed.WaitAsync(HomeroomHost.Timeout);
        return (deviceId, agent, helper);
    }

    /// <summary>What the applications menu's "I need help" runs, as the student; the window then shows.</summary>
    private async Task OpenHelpWindowAsync()
    {
        var (code, output, error) = await CliAsync("help", "--display", Display.Name, "--session-socket", SessionSocket);
        code.ShouldBe(AgentCli.Ok, error);
        output.ShouldContain("help window is open");
        await Poll.UntilAsync(async () => (await ScreenshotAsync()).Pixels.Count(p => p == X11Session.HelpColour) > 10_000, HomeroomHost.Timeout);
    }

    /// <summary>Key presses through XTest, as a keyboard would send them (lowercase letters and spaces: their keysyms are their codes).</summary>
    private static async Task TypeAsync(X11Session desktop, string text)
    {
        foreach (var c in text)
        {
            await desktop.InjectAsync([new RemoteInputEvent("keyDown", Keysym: c), new RemoteInputEvent("keyUp", Keysym: c)]);
        }
    }

    /// <summary>The student clicks a part of the help window (centred on the screen).</summary>
    private async Task ClickAsync(X11Session desktop, (int X, int Y, int Width, int Height) part)
    {
        var x = ((Display.Width - X11Session.HelpWidth) / 2) + part.X + (part.Width / 2);
        var y = ((Display.Height - X11Session.HelpHeight) / 2) + part.Y + (part.Height / 2);
        await desktop.InjectAsync([new RemoteInputEvent("move", x, y), new RemoteInputEvent("down", x, y, 1), new RemoteInputEvent("up", x, y, 1)]);
    }

    /// <summary>The device's one help request on the server, once there.</summary>
    private async Task<JsonElement> StoredRequestAsync()
    {
        JsonElement requests = default;
        await Poll.UntilAsync(async () =>
        {
            requests = await Host.GetJsonAsync<JsonElement>("/api/support/requests?status=all");
            return requests.GetArrayLength() > 0;
        }, HomeroomHost.Timeout);
        requests.GetArrayLength().ShouldBe(1, requests.ToString());
        return requests[0];
    }

    private async Task<(uint[] Pixels, int Width, int Height)> ScreenshotAsync()
    {
        using var viewer = X11Session.Open(Display.Name);
        return await viewer.CaptureAsync().WaitAsync(HomeroomHost.Timeout);
    }

    /// <summary>
    /// Every 8th pixel of the picture against the screen at the same place, where the screen is one colour around it (a JPEG
    /// blurs edges): how many were compared, and those more than 24 apart in a channel.
    /// </summary>
    private static (int Checked, List<string> Mismatches) Compare(Image<Rgb24> image, (uint[] Pixels, int Width, int Height) screen)
    {
        var mismatches = new List<string>();
        var compared = 0;
        for (var y = 4; y < image.Height - 4; y += 8)
        {
            for (var x = 4; x < image.Width - 4; x += 8)
            {
                var (sx, sy) = (x * screen.Width / image.Width, y * screen.Height / image.Height);
                var expected = screen.Pixels[(sy * screen.Width) + sx];
                var uniform = true;
                for (var dy = -6; dy <= 6 && uniform; dy++)
                {
                    for (var dx = -6; dx <= 6 && uniform; dx++)
                    {
                        var (nx, ny) = (Math.Clamp(sx + dx, 0, screen.Width - 1), Math.Clamp(sy + dy, 0, screen.Height - 1));
                        uniform = screen.Pixels[(ny * screen.Width) + nx] == expected;
                    }
                }

                if (!uniform)
                {
                    continue;
                }

                compared++;
                var actual = image[x, y];
                if (Math.Abs(actual.R - (int)(expected >> 16 & 0xFF)) > 24 || Math.Abs(actual.G - (int)(expected >> 8 & 0xFF)) > 24 || Math.Abs(actual.B - (int)(expected & 0xFF)) > 24)
                {
                    mismatches.Add($"({x},{y}): {actual} vs #{expected:X6}");
                }
            }
        }

        return (compared, mismatches.Take(20).ToList());
    }
}
