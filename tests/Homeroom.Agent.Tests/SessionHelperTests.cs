using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Homeroom.Agent.Session;
using Homeroom.Agent.Session.X11;
using Homeroom.Agent.Tests.Support;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Homeroom.Agent.Tests;

/// <summary>
/// The user-session helper for real: an Xvfb display started for each test, the real server, the real
/// agent (service) and the helper over the real local channel. What the student sees is checked on
/// screenshots of the X server's root window; impostors run as another user (uid 65534, through setpriv).
/// </summary>
public sealed class SessionHelperTests() : DesktopSessionTest(1024, 768)
{
    private const uint Nobody = 65534;

    private async Task<(uint[] Pixels, int Width, int Height)> ScreenshotAsync()
    {
        using var viewer = X11Session.Open(Display.Name);
        return await viewer.CaptureAsync().WaitAsync(HomeroomHost.Timeout);
    }

    private static double Share(uint[] pixels, Func<uint, bool> match) => pixels.Count(match) / (double)pixels.Length;

    private async Task WaitForCapabilityAsync(Guid deviceId, string name, bool available)
    {
        var live = Host.GetService<DeviceLiveState>();
        await Poll.UntilAsync(() => Task.FromResult(live.Capabilities(deviceId)?.Any(c => c.Name == name && c.Available == available) == true), HomeroomHost.Timeout);
    }

    [Fact]
    public async Task Lock_CoversTheWholeScreen_UnlockClearsIt_AndAMessageAppears()
    {
        var deviceId = await EnrollAsync();
        await using var agent = await StartDesktopAgentAsync();
        await agent.WaitConnectedAsync();
        // No helper yet: lock is greyed out with the reason.
        await WaitForCapabilityAsync(deviceId, CapabilityNames.Lock, available: false);

        var (helper, _, _, _) = StartHelper();
        await helper.Welcomed.WaitAsync(HomeroomHost.Timeout);
        await WaitForCapabilityAsync(deviceId, CapabilityNames.Lock, available: true);
        await WaitForCapabilityAsync(deviceId, CapabilityNames.ScreenView, available: true);

        var lockCommand = await IssueAsync(deviceId, CommandKinds.Lock, new() { ["message"] = "Eyes on Ms. Rivera, please" });
        (await WaitForDeliveryAsync(lockCommand, "succeeded")).GetProperty("result").GetString().ShouldBe("locked");
        var (locked, width, height) = await ScreenshotAsync();
        (width, height).ShouldBe((Display.Width, Display.Height));
        Share(locked, p => p == X11Session.LockColour).ShouldBeGreaterThanOrEqualTo(0.99);
        Share(locked, p => p == 0xFFFFFF).ShouldBeGreaterThan(0); // the school's message is drawn on it

        var unlock = await IssueAsync(deviceId, CommandKinds.Unlock);
        (await WaitForDeliveryAsync(unlock, "succeeded")).GetProperty("result").GetString().ShouldBe("unlocked");
        Share((await ScreenshotAsync()).Pixels, p => p == X11Session.LockColour).ShouldBe(0);

        var message = await IssueAsync(deviceId, CommandKinds.Message, new() { ["text"] = "Five minutes left", ["title"] = "Ms. Rivera" });
        (await WaitForDeliveryAsync(message, "succeeded")).GetProperty("result").GetString().ShouldBe("shown");
        var shown = (await ScreenshotAsync()).Pixels;
        // The pop-up's background, less the text drawn on it.
        shown.Count(p => p == X11Session.MessageColour).ShouldBeInRange((int)(X11Session.MessageWidth * X11Session.MessageHeight * 0.85), X11Session.MessageWidth * X11Session.MessageHeight);

        // The helper goes away: the console greys lock out again with the reason.
        var (_, screen, stop, run) = Helpers[0];
        await stop.CancelAsync();
        (await run.WaitAsync(HomeroomHost.Timeout)).ShouldBe(SessionHelperOutcome.Stopped);
        await WaitForCapabilityAsync(deviceId, CapabilityNames.Lock, available: false);
        Host.GetService<DeviceLiveState>().Capabilities(deviceId)!.Single(c => c.Name == CapabilityNames.Lock).Reason!.ShouldContain("no user-session helper is connected");
        var late = await IssueAsync(deviceId, CommandKinds.Lock);
        (await WaitForDeliveryAsync(late, "failed")).GetProperty("error").GetString()!.ShouldContain("user-session helper");
    }

    [Fact]
    public async Task ForegroundApplicationTime_ReachesTheServerAsAppUsage_WithNoWindowTitle()
    {
        var (deviceId, agent) = await RecordingAgentWithHelperAsync();
        await using var _ = agent;

        using var desktop = X11Session.Open(Display.Name);
        await desktop.OpenAppWindowAsync("Firefox", "Private diary – Mozilla Firefox", 100, 200, 600, 400, 0x3060C0);
        await Poll.UntilAsync(() => Task.FromResult(agent.Sessions.Foreground?.App == "Firefox"), HomeroomHost.Timeout);
        await Task.Delay(TimeSpan.FromSeconds(3));
        await desktop.OpenAppWindowAsync("Gnome-calculator", "Calculator", 50, 50, 300, 300, 0x208040);
        await Poll.UntilAsync(() => Task.FromResult(agent.Sessions.Foreground?.App == "Gnome-calculator"), HomeroomHost.Timeout);

        JsonElement usage = default;
        JsonElement[] events = [];
        await Poll.UntilAsync(async () =>
        {
            events = [.. (await Host.GetJsonAsync<JsonElement>($"/api/activity?deviceId={deviceId}&pageSize=50")).GetProperty("items").EnumerateArray()];
            usage = events.FirstOrDefault(e => e.GetProperty("kind").GetString() == ActivityKinds.AppUsage);
            return usage.ValueKind == JsonValueKind.Object;
        }, HomeroomHost.Timeout);
        usage.GetProperty("appId").GetString().ShouldBe("Firefox");
        usage.GetProperty("title").GetString().ShouldBe("Firefox");
        // At least the 3 s it was surely in front, at most the whole test so far.
        usage.GetProperty("durationSeconds").GetInt32().ShouldBeInRange(3, 60);
        events.ShouldAllBe(e => !e.GetRawText().Contains("Private diary"));
    }

    [Fact]
    public async Task TimeWithNoInput_IsNotCountedAsTheApplicationsUsage()
    {
        var (deviceId, agent) = await RecordingAgentWithHelperAsync(idleAfter: TimeSpan.FromSeconds(3));
        await using var _ = agent;
        using var desktop = X11Session.Open(Display.Name);
        (await desktop.IdleAsync()).ShouldNotBeNull("Xvfb answers MIT-SCREEN-SAVER queries");

        // Nobody has touched this display yet: the student is away from the start, so Firefox in front counts nothing yet.
        var inFront = await FirefoxInFrontAsync(agent, desktop);
        await Task.Delay(TimeSpan.FromSeconds(4));

        // The student works for 5 s, is away for 10 s (away after 3 s without input, dated from the last input), works 5 s more.
        // A return is found at the helper's next 2 s check (later on a busy machine), so each stretch counts a little less.
        await MovePointerForAsync(desktop, TimeSpan.FromSeconds(5));
        await Task.Delay(TimeSpan.FromSeconds(10));
        await MovePointerForAsync(desktop, TimeSpan.FromSeconds(5));
        var (firefox, counted, wall, detail) = await FirefoxStretchesAsync(deviceId, agent, desktop, inFront);
        firefox.Length.ShouldBe(2, detail); // the two stretches of work; nothing for the time away
        // About 10 s of work out of about 24 s in front.
        counted.ShouldBeInRange(3, 14, detail);
        wall.ShouldBeGreaterThan(23);
    }

    [Fact]
    public async Task TimeBehindTheLockScreen_IsNotCountedAsTheApplicationsUsage()
    {
        var (deviceId, agent) = await RecordingAgentWithHelperAsync();
        await using var _ = agent;
        using var desktop = X11Session.Open(Display.Name);
        var inFront = await FirefoxInFrontAsync(agent, desktop);

        // 3 s of work, 8 s locked by the teacher, 2 s of work again.
        await Task.Delay(TimeSpan.FromSeconds(3));
        await WaitForDeliveryAsync(await IssueAsync(deviceId, CommandKinds.Lock), "succeeded");
        await Task.Delay(TimeSpan.FromSeconds(8));
        await WaitForDeliveryAsync(await IssueAsync(deviceId, CommandKinds.Unlock), "succeeded");
        await Task.Delay(TimeSpan.FromSeconds(2));
        var (firefox, counted, wall, detail) = await FirefoxStretchesAsync(deviceId, agent, desktop, inFront);
        firefox.Length.ShouldBe(2, detail); // before the lock and after it
        counted.ShouldBeInRange(4, (int)wall - 7, detail); // the 8 s behind the lock screen are not in it
    }

    /// <summary>
    /// An enrolled agent that applied the server's policy (activity monitoring on by default: nothing is recorded before it)
    /// and its user-session helper, welcomed.
    /// </summary>
    private async Task<(Guid DeviceId, AgentUnderTest Agent)> RecordingAgentWithHelperAsync(TimeSpan? idleAfter = null)
    {
        var deviceId = await EnrollAsync();
        var agent = await StartDesktopAgentAsync();
        try
        {
            await agent.WaitConnectedAsync();
            await Poll.UntilAsync(() => Task.FromResult(agent.Status.PolicyVersion > 0), HomeroomHost.Timeout);
            var (helper, _, _, _) = StartHelper(adjust: o => idleAfter is { } idle ? o with { IdleAfter = idle } : o);
            await helper.Welcomed.WaitAsync(HomeroomHost.Timeout);
            return (deviceId, agent);
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }
    }

    /// <summary>Firefox comes to the front; when the agent knew it.</summary>
    private static async Task<DateTimeOffset> FirefoxInFrontAsync(AgentUnderTest agent, X11Session desktop)
    {
        await desktop.OpenAppWindowAsync("Firefox", "Homework – Mozilla Firefox", 100, 200, 600, 400, 0x3060C0);
        await Poll.UntilAsync(() => Task.FromResult(agent.Sessions.Foreground?.App == "Firefox"), HomeroomHost.Timeout);
        return DateTimeOffset.UtcNow;
    }

    /// <summary>
    /// The calculator comes to the front, which ends Firefox's last stretch; then Firefox's usage events as the server
    /// stored them (at least two), their seconds, the seconds Firefox was in front since <paramref name="inFront"/>, and a
    /// description for failures.
    /// </summary>
    private async Task<(JsonElement[] Firefox, int Counted, double Wall, string Detail)> FirefoxStretchesAsync(
        Guid deviceId, AgentUnderTest agent, X11Session desktop, DateTimeOffset inFront)
    {
        await desktop.OpenAppWindowAsync("Gnome-calculator", "Calculator", 50, 50, 300, 300, 0x208040);
        await Poll.UntilAsync(() => Task.FromResult(agent.Sessions.Foreground?.App == "Gnome-calculator"), HomeroomHost.Timeout);
        var wall = (DateTimeOffset.UtcNow - inFront).TotalSeconds;

        JsonElement[] events = [];
        JsonElement[] firefox = [];
        try
        {
            await Poll.UntilAsync(async () =>
            {
                events = [.. (await Host.GetJsonAsync<JsonElement>($"/api/activity?deviceId={deviceId}&pageSize=50")).GetProperty("items").EnumerateArray()];
                firefox = [.. events.Where(e => e.GetProperty("kind").GetString() == ActivityKinds.AppUsage && e.GetProperty("appId").GetString() == "Firefox")];
                return firefox.Length >= 2;
            }, HomeroomHost.Timeout);
        }
        catch (TimeoutException)
        {
            throw new ShouldAssertException($"Fewer than two Firefox stretches after {wall:0} s in front; the device's events: {string.Join(", ", events.Select(e => e.GetRawText()))}");
        }

        var counted = firefox.Sum(e => e.GetProperty("durationSeconds").GetInt32());
        return (firefox, counted, wall, $"counted {counted} s of {wall:0} s in front: {string.Join(", ", firefox.Select(e => e.GetRawText()))}");
    }

    /// <summary>A pointer move every half second for <paramref name="length"/>, as a student working would make.</summary>
    private static async Task MovePointerForAsync(X11Session desktop, TimeSpan length)
    {
        var until = DateTimeOffset.UtcNow + length;
        for (var i = 0; DateTimeOffset.UtcNow < until; i++)
        {
            await desktop.InjectAsync([new RemoteInputEvent("move", 300 + (i % 2 * 40), 400)]);
            await Task.Delay(500);
        }
    }

    [Fact]
    public async Task WindowTitles_AreScannedAsSafetySignals_AndATroublingOneRaisesAnAlert()
    {
        var deviceId = await EnrollAsync();
        // Safety monitoring also away from school zones (this device reports no location).
        var profile = await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Safety everywhere", settings = new { safety = new { atHome = true } } });
        (await Host.PostJsonAsync("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "device", scopeId = deviceId.ToString() })).EnsureSuccessStatusCode();
        await using var agent = await StartDesktopAgentAsync();
        await agent.WaitConnectedAsync();
        await Poll.UntilAsync(() => Task.FromResult(agent.Status.PolicyVersion > 0), HomeroomHost.Timeout);
        var (helper, _, _, _) = StartHelper();
        await helper.Welcomed.WaitAsync(HomeroomHost.Timeout);

        using var desktop = X11Session.Open(Display.Name);
        await desktop.OpenAppWindowAsync("Gedit", "maths homework.txt - gedit", 100, 100, 500, 300, 0xE0E0E0);
        await Poll.UntilAsync(() => Task.FromResult(agent.Sessions.Foreground?.Title == "maths homework.txt - gedit"), HomeroomHost.Timeout);
        await desktop.OpenAppWindowAsync("Gedit", "i want to kill myself tonight.txt - gedit", 120, 120, 500, 300, 0xE0E0E0);

        var factory = Host.GetService<IDbContextFactory<HomeroomDbContext>>();
        List<Homeroom.Server.Safety.SafetyAlert> alerts = [];
        await Poll.UntilAsync(async () =>
        {
            await using var db = await factory.CreateDbContextAsync();
            alerts = await db.Set<Homeroom.Server.Safety.SafetyAlert>().AsNoTracking().Where(a => a.DeviceId == deviceId).ToListAsync();
            return alerts.Count > 0;
        }, HomeroomHost.Timeout);
        alerts.ShouldHaveSingleItem().Category.ShouldBe("selfHarm");
        await using (var db = await factory.CreateDbContextAsync())
        {
            var evidence = await db.Set<Homeroom.Server.Safety.SafetyEvidence>().AsNoTracking().Where(e => e.AlertId == alerts[0].Id).ToListAsync();
            evidence.ShouldHaveSingleItem().Source.ShouldBe(SignalSources.Window);
        }

        // Acknowledged: nothing waits to be resent.
        await Poll.UntilAsync(() => Task.FromResult(agent.Services.GetRequiredService<WindowSignals>().WaitingCount == 0), HomeroomHost.Timeout);
    }

    [Fact]
    public async Task Thumbnails_ArriveOnlyWhileATeacherWatches_AndShowTheBanner()
    {
        Host.Clock.MoveToSchoolDayMorning();
        var deviceId = await EnrollAsync();
        var (science, teacher) = await ScienceTeacherAsync(deviceId);
        using var rivera = teacher;

        await using var agent = await StartDesktopAgentAsync();
        await agent.WaitConnectedAsync();
        var (helper, _, _, _) = StartHelper();
        await helper.Welcomed.WaitAsync(HomeroomHost.Timeout);

        // A student's window has focus; the helper reports it (checked every 2 s), which also shows time passed with nobody watching.
        using var desktop = X11Session.Open(Display.Name);
        await desktop.OpenAppWindowAsync("Firefox", "Fractions quiz – Mozilla Firefox", 100, 200, 600, 400, 0x3060C0);
        await Poll.UntilAsync(() => Task.FromResult(agent.Sessions.Foreground?.Title == "Fractions quiz – Mozilla Firefox"), HomeroomHost.Timeout);
        agent.Sessions.Foreground!.Value.App.ShouldBe("Firefox");
        helper.SentThumbnailSizes.ShouldBeEmpty();
        Share((await ScreenshotAsync()).Pixels, IsBannerYellow).ShouldBe(0);

        var jpeg = await WatchAsync(rivera, science, deviceId);

        jpeg.Length.ShouldBeLessThanOrEqualTo(15 * 1024);
        using (var thumbnail = Image.Load<Rgb24>(jpeg))
        {
            thumbnail.Width.ShouldBe(400);
            thumbnail.Height.ShouldBe(300);
            // The banner runs along the top (28 of 768 rows, 10 of 300 here); JPEG blurs its text a little.
            var banner = 0;
            var total = 0;
            for (var y = 1; y < 8; y++)
            {
                for (var x = 0; x < thumbnail.Width; x++, total++)
                {
                    var p = thumbnail[x, y];
                    banner += p.R > 200 && p.G > 170 && p.B < 100 ? 1 : 0;
                }
            }

            (banner / (double)total).ShouldBeGreaterThan(0.6);
            var window = thumbnail[150, 160]; // inside the student's blue window
            (window.B > 150 && window.R < 100).ShouldBeTrue(window.ToString());
        }

        var onScreen = await ScreenshotAsync();
        Share(onScreen.Pixels[..(onScreen.Width * X11Session.BannerHeight)], IsBannerYellow).ShouldBeGreaterThan(0.7);

        // The teacher stops watching: the banner goes, and no thumbnail follows.
        (await rivera.DeleteAsync(new Uri($"/api/groups/{science}/screen-view", UriKind.Relative))).EnsureSuccessStatusCode();
        await Poll.UntilAsync(async () => Share((await ScreenshotAsync()).Pixels, IsBannerYellow) == 0, HomeroomHost.Timeout);
        var sent = helper.SentThumbnailSizes.Count;
        sent.ShouldBeGreaterThan(0);
        helper.SentThumbnailSizes.ShouldAllBe(size => size <= SessionMessages.TargetThumbnailBytes);
        // A round trip through the server and the helper: had thumbnails continued, some would have been sent meanwhile (1 a second).
        var message = await IssueAsync(deviceId, CommandKinds.Message, new() { ["text"] = "Thanks" });
        await WaitForDeliveryAsync(message, "succeeded");
        await Poll.UntilAsync(async () => (await ScreenshotAsync()).Pixels.Any(p => p == X11Session.MessageColour), HomeroomHost.Timeout);
        await Task.Delay(1500); // longer than the thumbnail interval
        helper.SentThumbnailSizes.Count.ShouldBe(sent);
    }

    [Fact]
    public async Task PackagedProgramAsTheHelper_SendsThumbnailsOfTheScreen()
    {
        // The shipped build (Native AOT) captures, scales and encodes in its own process; the other tests run the helper's code in theirs.
        Host.Clock.MoveToSchoolDayMorning();
        var deviceId = await EnrollAsync();
        var (science, teacher) = await ScienceTeacherAsync(deviceId);
        using var rivera = teacher;
        await using var agent = await StartDesktopAgentAsync();
        await agent.WaitConnectedAsync();
        await using var helper = await PackagedSessionHelper.StartAsync(Display.Name, SessionSocket);
        await WaitForCapabilityAsync(deviceId, CapabilityNames.ScreenView, available: true);
        using var desktop = X11Session.Open(Display.Name);
        await desktop.OpenAppWindowAsync("Firefox", "Fractions quiz – Mozilla Firefox", 100, 200, 600, 400, 0x3060C0);

        var jpeg = await WatchAsync(rivera, science, deviceId);

        jpeg.Length.ShouldBeLessThanOrEqualTo(SessionMessages.TargetThumbnailBytes, helper.Output);
        using var thumbnail = Image.Load<Rgb24>(jpeg);
        (thumbnail.Width, thumbnail.Height).ShouldBe((400, 300));
        var window = thumbnail[150, 160]; // inside the student's blue window
        (window.B > 150 && window.R < 100).ShouldBeTrue(window.ToString());
        helper.HasExited.ShouldBeFalse(helper.Output);
    }

    /// <summary>A class holding the device, taught by Ms. Rivera, signed in.</summary>
    private async Task<(Guid Science, HttpClient Rivera)> ScienceTeacherAsync(Guid deviceId)
    {
        var science = (await Host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Science", kind = "class" })).GetProperty("id").GetGuid();
        (await Host.PostJsonAsync($"/api/groups/{science}/members", new { deviceIds = new[] { deviceId } })).EnsureSuccessStatusCode();
        var person = await Host.PostJsonAsync<JsonElement>("/api/people", new { kind = "staff", givenName = "Rivera", familyName = "Teacher" });
        (await Host.PostJsonAsync($"/api/groups/{science}/members", new { personIds = new[] { person.GetProperty("id").GetGuid() } })).EnsureSuccessStatusCode();
        return (science, await Host.SignInAsNewAccountAsync("rivera", "teacher", person.GetProperty("id").GetGuid(), "Ms. Rivera"));
    }

    /// <summary>The teacher starts a class session and watches the screens: the device's first thumbnail.</summary>
    private static async Task<byte[]> WatchAsync(HttpClient teacher, Guid group, Guid deviceId)
    {
        (await teacher.PostAsJsonAsync($"/api/groups/{group}/session", new { minutes = 30 })).EnsureSuccessStatusCode();
        (await teacher.PostAsync(new Uri($"/api/groups/{group}/screen-view", UriKind.Relative), null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        byte[] jpeg = [];
        await Poll.UntilAsync(async () =>
        {
            using var response = await teacher.GetAsync(new Uri($"/api/groups/{group}/screens/{deviceId}", UriKind.Relative));
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }

            response.Content.Headers.ContentType!.MediaType.ShouldBe("image/jpeg");
            jpeg = await response.Content.ReadAsByteArrayAsync();
            return true;
        }, HomeroomHost.Timeout);
        return jpeg;
    }

    private static bool IsBannerYellow(uint pixel) => pixel == X11Session.BannerColour;

    [Fact]
    public async Task AHelperRunningAsAnotherUser_IsRefused()
    {
        var deviceId = await EnrollAsync();
        await using var agent = await StartDesktopAgentAsync();
        await agent.Sessions.Listening.WaitAsync(HomeroomHost.Timeout);

        var (code, output) = await AsNobodyAsync(ImpostorHelper, SessionSocket);
        code.ShouldBe(0, output);
        output.ShouldContain("\"type\":\"refused\"");
        output.ShouldContain($"uid {Nobody} is not a session helper user");
        agent.Sessions.Connected.ShouldBeFalse();
        await agent.WaitConnectedAsync();
        await WaitForCapabilityAsync(deviceId, CapabilityNames.Lock, available: false);
    }

    [Fact]
    public async Task AServiceRunningAsAnotherUser_IsRefusedByTheHelper_BeforeItSendsAnything()
    {
        var squatted = $"homeroom-test/{Guid.NewGuid():N}";
        var impostor = StartAsNobody(ImpostorService, squatted);
        try
        {
            (await impostor.StandardOutput.ReadLineAsync().WaitAsync(HomeroomHost.Timeout)).ShouldBe("listening");
            var (helper, _, _, run) = StartHelper(squatted);
            (await run.WaitAsync(HomeroomHost.Timeout)).ShouldBe(SessionHelperOutcome.NotTheService);
            helper.RefusalReason!.ShouldContain($"uid {Nobody}");
            // The impostor heard nothing: not the display, not a hello.
            (await impostor.StandardOutput.ReadLineAsync().WaitAsync(HomeroomHost.Timeout)).ShouldBe("received 0 bytes");
        }
        finally
        {
            await impostor.WaitForExitAsync().WaitAsync(HomeroomHost.Timeout);
            impostor.Dispose();
        }
    }

    [Fact]
    public async Task ASecondHelperForTheSameSession_IsRefused_AndTheFirstKeepsWorking()
    {
        var deviceId = await EnrollAsync();
        await using var agent = await StartDesktopAgentAsync();
        await agent.WaitConnectedAsync();
        var (first, _, _, _) = StartHelper();
        await first.Welcomed.WaitAsync(HomeroomHost.Timeout);

        var (second, _, _, run) = StartHelper();
        (await run.WaitAsync(HomeroomHost.Timeout)).ShouldBe(SessionHelperOutcome.Refused);
        second.RefusalReason.ShouldBe($"a helper is already connected for display {Display.Name}");
        agent.Sessions.Displays.ShouldBe([Display.Name]);

        var message = await IssueAsync(deviceId, CommandKinds.Message, new() { ["text"] = "Still here" });
        (await WaitForDeliveryAsync(message, "succeeded")).GetProperty("result").GetString().ShouldBe("shown");
    }

    [Fact]
    public async Task BadInputOnTheChannel_ClosesThatConnectionOnly()
    {
        await using var agent = await StartDesktopAgentAsync();
        await agent.Sessions.Listening.WaitAsync(HomeroomHost.Timeout);

        // A length past the limit, then one that is not JSON, then a thumbnail that is not a JPEG: each connection is closed unread.
        foreach (var body in (byte[][])[null!, "not json"u8.ToArray(), """{"type":"hello","display":":5"}"""u8.ToArray()])
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(SessionChannel.EndPoint(SessionSocket));
            var header = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(header, body is null ? SessionMessages.MaxMessageBytes + 1 : body.Length);
            await socket.SendAsync(header);
            if (body is not null)
            {
                await socket.SendAsync(body);
            }

            if (body is { Length: > 20 })
            {
                // A valid hello is welcomed; the thumbnail that follows is not a JPEG.
                await ReadMessageAsync(socket);
                var bad = JsonSerializer.SerializeToUtf8Bytes(new { type = "thumbnail", image = Convert.ToBase64String("GIF89a"u8), capturedAt = DateTimeOffset.UtcNow });
                BinaryPrimitives.WriteInt32BigEndian(header, bad.Length);
                await socket.SendAsync(header);
                await socket.SendAsync(bad);
            }

            var buffer = new byte[1024];
            (await socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(HomeroomHost.Timeout)).ShouldBe(0); // closed by the service
        }

        await Poll.UntilAsync(() => Task.FromResult(!agent.Sessions.Connected), HomeroomHost.Timeout);
        var (helper, _, _, _) = StartHelper();
        await helper.Welcomed.WaitAsync(HomeroomHost.Timeout);
    }

    private static async Task<string> ReadMessageAsync(Socket socket)
    {
        var header = new byte[4];
        await socket.ReceiveAsync(header);
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(header)];
        var read = 0;
        while (read < body.Length)
        {
            read += await socket.ReceiveAsync(body.AsMemory(read));
        }

        return System.Text.Encoding.UTF8.GetString(body);
    }

    // A helper as another user: connects, says hello, prints the answer (the refusal is sent whether or not the hello was read).
    private const string ImpostorHelper = """
        import json, socket, struct, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect("\0" + sys.argv[1])
        body = json.dumps({"type": "hello", "display": ":0"}).encode()
        try:
            s.sendall(struct.pack(">I", len(body)) + body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the service may refuse before reading the hello
        header = s.recv(4)
        length = struct.unpack(">I", header)[0]
        data = b""
        while len(data) < length:
            data += s.recv(length - len(data))
        print(data.decode())
        """;

    // A "service" as another user squatting a socket name: prints how many bytes a helper sent it.
    private const string ImpostorService = """
        import socket, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind("\0" + sys.argv[1])
        s.listen(1)
        print("listening", flush=True)
        c, _ = s.accept()
        c.settimeout(10)
        total = 0
        while True:
            chunk = c.recv(4096)
            if not chunk:
                break
            total += len(chunk)
        print(f"received {total} bytes", flush=True)
        """;

    private static Process StartAsNobody(string script, string argument)
    {
        File.Exists("/usr/bin/setpriv").ShouldBeTrue("setpriv (util-linux) runs the impostor as another user");
        var start = new ProcessStartInfo("/usr/bin/setpriv") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var part in (string[])[$"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "/usr/bin/python3", "-c", script, argument])
        {
            start.ArgumentList.Add(part);
        }

        return Process.Start(start)!;
    }

    private static async Task<(int Code, string Output)> AsNobodyAsync(string script, string argument)
    {
        using var process = StartAsNobody(script, argument);
        var output = await process.StandardOutput.ReadToEndAsync().WaitAsync(HomeroomHost.Timeout);
        var error = await process.StandardError.ReadToEndAsync().WaitAsync(HomeroomHost.Timeout);
        await process.WaitForExitAsync().WaitAsync(HomeroomHost.Timeout);
        return (process.ExitCode, output + error);
    }
}
