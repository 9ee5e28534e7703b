using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Homeroom.Agent.Session;
using Homeroom.Agent.Session.X11;
using Homeroom.Agent.Tests.Support;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.RemoteSupport;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Homeroom.Agent.Tests;

/// <summary>
/// Remote sessions end to end: an Xvfb display, the real server, the real agent (service) and its user-session helper, and
/// the technician's session socket. The student answers the consent prompt by clicking it (XTest, as a person would); the
/// technician must see what is drawn on the display and their pointer must arrive where they put it, and their clipboard
/// text must land on the display's clipboard where the school allows it, and their files in the user's Downloads/Homeroom,
/// byte for byte, only when whole and verified.
/// </summary>
public sealed class RemoteSessionAgentTests() : DesktopSessionTest(1366, 768)
{
    private async Task<(Guid DeviceId, AgentUnderTest Agent, SessionHelper Helper)> ReadyAsync(Guid? school = null, string? downloads = null, string? home = null)
    {
        var (deviceId, agent) = await EnrolledAgentAsync(school);
        var helper = StartHelper(adjust: o => o with { DownloadsDirectory = downloads, HomeDirectory = home }).Helper;
        await helper.Welcomed.WaitAsync(HomeroomHost.Timeout);
        await WaitForRemoteSessionAsync(deviceId);
        return (deviceId, agent, helper);
    }

    private async Task<(Guid DeviceId, AgentUnderTest Agent)> EnrolledAgentAsync(Guid? school = null)
    {
        var deviceId = await EnrollAsync(school is null ? null : await Host.CreateTokenAsync(maxUses: 1, schoolId: school));
        var agent = await StartDesktopAgentAsync();
        await agent.WaitConnectedAsync();
        return (deviceId, agent);
    }

    private async Task WaitForRemoteSessionAsync(Guid deviceId)
    {
        var live = Host.GetService<DeviceLiveState>();
        await Poll.UntilAsync(() => Task.FromResult(live.Capabilities(deviceId)?.Any(c => c.Name == CapabilityNames.RemoteSession && c.Available) == true), HomeroomHost.Timeout);
    }

    private async Task<Guid> StartSessionAsync(Guid deviceId, string mode)
    {
        using var started = await Host.Client.PostAsJsonAsync($"/api/devices/{deviceId}/remote-session", new { mode });
        started.StatusCode.ShouldBe(System.Net.HttpStatusCode.Created, await started.Content.ReadAsStringAsync());
        var session = await started.Content.ReadFromJsonAsync<JsonElement>();
        session.GetProperty("consentRequired").GetBoolean().ShouldBeTrue();
        return session.GetProperty("id").GetGuid();
    }

    private async Task<ClientWebSocket> ViewerAsync(Guid deviceId, Guid sessionId)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", new AuthenticationHeaderValue("Bearer", HomeroomHost.ApiKey).ToString());
        using var timeout = new CancellationTokenSource(HomeroomHost.Timeout);
        await socket.ConnectAsync(new Uri($"ws://{Host.BaseAddress.Authority}/api/devices/{deviceId}/remote-session/{sessionId}/stream"), timeout.Token);
        return socket;
    }

    private static async Task<(WebSocketMessageType Type, byte[] Data)> ReceiveAsync(ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(HomeroomHost.Timeout);
        var buffer = new byte[512 * 1024];
        var length = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.AsMemory(length), timeout.Token);
            length += result.Count;
        }
        while (!result.EndOfMessage);
        return (result.MessageType, buffer[..length]);
    }

    private static async Task<JsonElement> StateAsync(ClientWebSocket socket)
    {
        var (type, data) = await ReceiveAsync(socket);
        type.ShouldBe(WebSocketMessageType.Text);
        return JsonDocument.Parse(data).RootElement;
    }

    /// <summary>The next state message is <paramref name="expected"/>; a failure shows the whole message (an end carries its reason).</summary>
    private static async Task ExpectStateAsync(ClientWebSocket socket, string expected)
    {
        var state = await StateAsync(socket);
        state.GetProperty("state").GetString().ShouldBe(expected, state.GetRawText());
    }

    private async Task<uint[]> ScreenshotAsync()
    {
        using var viewer = X11Session.Open(Display.Name);
        return (await viewer.CaptureAsync().WaitAsync(HomeroomHost.Timeout)).Pixels;
    }

    /// <summary>The student clicks a button of the consent prompt (centred on the screen).</summary>
    private async Task ClickAsync(X11Session desktop, (int X, int Y, int Width, int Height) button)
    {
        var x = ((Display.Width - X11Session.ConsentWidth) / 2) + button.X + (button.Width / 2);
        var y = ((Display.Height - X11Session.ConsentHeight) / 2) + button.Y + (button.Height / 2);
        await desktop.InjectAsync([new RemoteInputEvent("move", x, y), new RemoteInputEvent("down", x, y, 1), new RemoteInputEvent("up", x, y, 1)]);
    }

    private async Task WaitForPromptAsync() =>
        await Poll.UntilAsync(async () => (await ScreenshotAsync()).Count(p => p == X11Session.ConsentColour) > 1000, HomeroomHost.Timeout);

    private async Task<RemoteSessionRecord> RecordAsync(Guid sessionId)
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.Set<RemoteSessionRecord>().AsNoTracking().SingleAsync(r => r.Id == sessionId);
    }

    /// <summary>Starts a session, waits for the student's prompt and allows it: nothing comes before the answer, then the state changes.</summary>
    private async Task<(ClientWebSocket Viewer, Guid SessionId)> AcceptedAsync(Guid deviceId, X11Session desktop, string mode)
    {
        var sessionId = await StartSessionAsync(deviceId, mode);
        var viewer = await ViewerAsync(deviceId, sessionId);
        await ExpectStateAsync(viewer, RemoteSessions.States.Waiting);
        await WaitForPromptAsync();
        await ClickAsync(desktop, X11Session.AllowButton);
        await ExpectStateAsync(viewer, RemoteSessions.States.Streaming);
        return (viewer, sessionId);
    }

    /// <summary>The first update after the answer: the whole 1366×768 screen of this session.</summary>
    private static async Task<byte[]> WholeScreenAsync(ClientWebSocket viewer, Guid sessionId)
    {
        var (type, first) = await ReceiveAsync(viewer);
        type.ShouldBe(WebSocketMessageType.Binary);
        RemoteScreenFrame.TryDecode(first, out var frameSession, out _, out var width, out var height, out _).ShouldBeTrue();
        (frameSession, width, height).ShouldBe((sessionId, 1366, 768));
        return first;
    }

    /// <summary>Whether the update carries a tile covering the point, red there (the red window the tests open at 600,400).</summary>
    private static bool RedAt(byte[] update, int x, int y)
    {
        var red = false;
        foreach (var tile in RemoteScreenFrame.ReadTiles(update).Where(t => t.X <= x && t.X + t.Width > x && t.Y <= y && t.Y + t.Height > y))
        {
            using var image = Image.Load<Rgb24>(tile.Jpeg.Span);
            var pixel = image[x - tile.X, y - tile.Y];
            red |= pixel.R > 180 && pixel.G < 80 && pixel.B < 80;
        }

        return red;
    }

    [Fact]
    public async Task Technician_SeesTheScreenChange_AndMovesThePointer_AfterTheStudentAllows()
    {
        var (deviceId, agent, _) = await ReadyAsync();
        await using var __ = agent;
        using var desktop = X11Session.Open(Display.Name);
        var (viewer, sessionId) = await AcceptedAsync(deviceId, desktop, RemoteModes.Control);
        using var _ = viewer;
        await WholeScreenAsync(viewer, sessionId);

        // The banner shows on the device for the whole session (and so in what the technician sees).
        (await ScreenshotAsync()).Take(Display.Width * X11Session.BannerHeight).Count(p => p == X11Session.BannerColour).ShouldBeGreaterThan(Display.Width * 10);

        // Something changes on the screen: a red window. The technician gets the tiles that cover it, red.
        await desktop.OpenAppWindowAsync("Editor", "Notes", 600, 400, 128, 128, 0xE01010);
        var red = false;
        for (var i = 0; i < 50 && !red; i++)
        {
            var (kind, data) = await ReceiveAsync(viewer);
            kind.ShouldBe(WebSocketMessageType.Binary);
            red = RedAt(data, 640, 448);
        }

        red.ShouldBeTrue();

        // The technician moves the pointer: it arrives on the device.
        await viewer.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { type = "input", events = new[] { new { kind = "move", x = 123, y = 456 } } }), WebSocketMessageType.Text, true, CancellationToken.None);
        await Poll.UntilAsync(async () => await desktop.PointerAsync() == (123, 456), HomeroomHost.Timeout);

        using (var stop = await Host.Client.DeleteAsync($"/api/devices/{deviceId}/remote-session"))
        {
            stop.StatusCode.ShouldBe(System.Net.HttpStatusCode.NoContent);
        }

        // The banner goes with the session.
        await Poll.UntilAsync(async () => !(await ScreenshotAsync()).Take(Display.Width * X11Session.BannerHeight).Any(p => p == X11Session.BannerColour), HomeroomHost.Timeout);
        var record = await RecordAsync(sessionId);
        record.Consent.ShouldBe("accepted");
        record.FramesSent.ShouldBeGreaterThan(1);
        record.InputEvents.ShouldBe(1);
    }

    [Fact]
    public async Task PackagedProgramAsTheHelper_StreamsTheScreen_AfterTheStudentAllows()
    {
        // The shipped build (Native AOT) encodes the tiles in its own process; the other tests run the helper's code in theirs.
        var (deviceId, agent) = await EnrolledAgentAsync();
        await using var __ = agent;
        await using var helper = await PackagedSessionHelper.StartAsync(Display.Name, SessionSocket);
        await WaitForRemoteSessionAsync(deviceId);
        using var desktop = X11Session.Open(Display.Name);
        await desktop.OpenAppWindowAsync("Editor", "Notes", 600, 400, 128, 128, 0xE01010);
        var (viewer, sessionId) = await AcceptedAsync(deviceId, desktop, RemoteModes.View);
        using var _ = viewer;
        // The whole screen comes first: the tile over the red window is red.
        RedAt(await WholeScreenAsync(viewer, sessionId), 640, 448).ShouldBeTrue();
        helper.HasExited.ShouldBeFalse(helper.Output);
    }

    [Fact]
    public async Task StudentDeclines_NothingIsCapturedOrStreamed()
    {
        var (deviceId, agent, helper) = await ReadyAsync();
        await using var __ = agent;
        using var desktop = X11Session.Open(Display.Name);
        var sessionId = await StartSessionAsync(deviceId, RemoteModes.View);
        using var viewer = await ViewerAsync(deviceId, sessionId);
        await ExpectStateAsync(viewer, RemoteSessions.States.Waiting);

        await WaitForPromptAsync();
        await ClickAsync(desktop, X11Session.DeclineButton);

        var ended = await StateAsync(viewer);
        ended.GetProperty("state").GetString().ShouldBe(RemoteSessions.States.Ended);
        ended.GetProperty("reason").GetString()!.ShouldContain("declined");
        (await ReceiveAsync(viewer)).Type.ShouldBe(WebSocketMessageType.Close);
        helper.Streamer.ShouldBeNull();
        var record = await RecordAsync(sessionId);
        record.Consent.ShouldBe("declined");
        record.FramesSent.ShouldBe(0);
        // No banner: nobody is watching.
        (await ScreenshotAsync()).Take(Display.Width * X11Session.BannerHeight).Any(p => p == X11Session.BannerColour).ShouldBeFalse();
    }

    /// <summary>The display's clipboard as a program there reads it (xclip, as the student's paste would get it).</summary>
    private async Task<string> ClipboardAsync()
    {
        var start = new System.Diagnostics.ProcessStartInfo(XclipClipboard.Program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["-o", "-selection", "clipboard", "-t", "UTF8_STRING", "-display", Display.Name])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync().WaitAsync(HomeroomHost.Timeout);
        await process.WaitForExitAsync().WaitAsync(HomeroomHost.Timeout);
        return process.ExitCode == 0 ? output : string.Empty;
    }

    /// <summary>The next clipboard answer on the session socket (screen updates and state messages before it are skipped).</summary>
    private static async Task<JsonElement> ClipboardAnswerAsync(ClientWebSocket viewer)
    {
        for (var i = 0; i < 500; i++)
        {
            var (type, data) = await ReceiveAsync(viewer);
            if (type == WebSocketMessageType.Text && JsonDocument.Parse(data).RootElement is var message && message.GetProperty("type").GetString() == "clipboard")
            {
                return message;
            }
        }

        throw new InvalidOperationException("no clipboard answer");
    }

    [Fact]
    public async Task ClipboardText_LandsOnTheDisplaysClipboard_WhereTheSchoolAllowsIt_AndIsRefusedWhereItDoesNot()
    {
        var school = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Clipboard " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" })).GetProperty("id").GetGuid();
        object Settings(bool clipboard) => new { sessionsAllowed = true, technicianConsent = "consent", districtAdminConsent = "consent", clipboardAllowed = clipboard };
        (await Host.Client.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(clipboard: true))).EnsureSuccessStatusCode();
        var (deviceId, agent, _) = await ReadyAsync(school);
        await using var __ = agent;
        var live = Host.GetService<DeviceLiveState>();
        live.Capabilities(deviceId)!.Single(c => c.Name == CapabilityNames.RemoteClipboard).Available.ShouldBeTrue();
        using var desktop = X11Session.Open(Display.Name);

        const string text = "Wi-Fi: Lincoln-Students\tpassword <ü ✓>\nsecond line";
        var (viewer, _) = await AcceptedAsync(deviceId, desktop, RemoteModes.Control);
        using (viewer)
        {
            await viewer.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { type = "clipboard", text }), WebSocketMessageType.Text, true, CancellationToken.None);
            (await ClipboardAnswerAsync(viewer)).GetProperty("state").GetString().ShouldBe("sent");
            await Poll.UntilAsync(async () => await ClipboardAsync() == text, HomeroomHost.Timeout);
            (await Host.Client.DeleteAsync($"/api/devices/{deviceId}/remote-session")).StatusCode.ShouldBe(System.Net.HttpStatusCode.NoContent);
        }

        var audit = await Host.GetJsonAsync<JsonElement>($"/api/audit?action=remote.clipboard&targetId={deviceId}");
        audit.GetProperty("total").GetInt32().ShouldBe(1);

        // The school turns the clipboard off: the next session's text is refused with the reason, and the device's clipboard keeps what it had.
        (await Host.Client.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(clipboard: false))).EnsureSuccessStatusCode();
        var (refusing, _) = await AcceptedAsync(deviceId, desktop, RemoteModes.Control);
        using (refusing)
        {
            await refusing.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { type = "clipboard", text = "not this" }), WebSocketMessageType.Text, true, CancellationToken.None);
            var answer = await ClipboardAnswerAsync(refusing);
            answer.GetProperty("state").GetString().ShouldBe("refused");
            answer.GetProperty("reason").GetString()!.ShouldContain("do not allow the clipboard");
            (await Host.Client.DeleteAsync($"/api/devices/{deviceId}/remote-session")).StatusCode.ShouldBe(System.Net.HttpStatusCode.NoContent);
        }

        (await ClipboardAsync()).ShouldBe(text);
        (await Host.GetJsonAsync<JsonElement>($"/api/audit?action=remote.clipboard&targetId={deviceId}")).GetProperty("total").GetInt32().ShouldBe(1);
    }

    /// <summary>Puts <paramref name="content"/> on the display's clipboard as <paramref name="target"/>, as a program there copying it would (xclip).</summary>
    private async Task SetClipboardAsync(byte[] content, string target = "UTF8_STRING")
    {
        // Only stdin is a pipe: xclip stays in the background holding the selection, with the descriptors it inherited.
        using var process = StartXclip("-i", target);
        await process.StandardInput.BaseStream.WriteAsync(content);
        process.StandardInput.Close();
        await process.WaitForExitAsync().WaitAsync(HomeroomHost.Timeout);
        process.ExitCode.ShouldBe(0);

        // xclip's first process exits once its background copy holds the content, but that copy's claim on the selection
        // may not have reached the X server yet: until it has, the previous owner answers. Wait until the selection
        // gives back exactly this content (xclip answers any target with its content, so the bytes tell the owners apart).
        await Poll.UntilAsync(async () => (await ReadClipboardAsync(target)).AsSpan().SequenceEqual(content), HomeroomHost.Timeout);
    }

    private async Task<byte[]> ReadClipboardAsync(string target)
    {
        using var process = StartXclip("-o", target);
        using var output = new MemoryStream();
        var errors = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.BaseStream.CopyToAsync(output);
        await process.WaitForExitAsync().WaitAsync(HomeroomHost.Timeout);
        await errors;
        return output.ToArray();
    }

    /// <summary>xclip on the display's clipboard: <c>-i</c> (stdin piped) puts content there, <c>-o</c> (stdout and stderr piped) reads it.</summary>
    private System.Diagnostics.Process StartXclip(string direction, string target)
    {
        var reading = direction == "-o";
        var start = new System.Diagnostics.ProcessStartInfo(XclipClipboard.Program)
        {
            UseShellExecute = false, RedirectStandardInput = !reading, RedirectStandardOutput = reading, RedirectStandardError = reading,
        };
        foreach (var argument in (string[])[direction, "-selection", "clipboard", "-t", target, "-display", Display.Name])
        {
            start.ArgumentList.Add(argument);
        }

        return System.Diagnostics.Process.Start(start)!;
    }

    /// <summary>The next answer about the device's clipboard on the session socket (screen updates and other messages before it are skipped).</summary>
    private static async Task<JsonElement> DeviceClipboardAnswerAsync(ClientWebSocket viewer)
    {
        for (var i = 0; i < 500; i++)
        {
            var (type, data) = await ReceiveAsync(viewer);
            if (type == WebSocketMessageType.Text && JsonDocument.Parse(data).RootElement is var message && message.GetProperty("type").GetString() == "deviceClipboard")
            {
                return message;
            }
        }

        throw new InvalidOperationException("no deviceClipboard answer");
    }

    [Fact]
    public async Task DeviceClipboard_ArrivesExactly_ATooLargeOrPictureClipboardIsRefused_AndTheBannerSaysItWasRead()
    {
        var school = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Clipboard read " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" })).GetProperty("id").GetGuid();
        (await Host.Client.PutAsJsonAsync($"/api/schools/{school}/remote-support",
            new { sessionsAllowed = true, technicianConsent = "consent", districtAdminConsent = "consent", clipboardAllowed = true })).EnsureSuccessStatusCode();
        var (deviceId, agent, helper) = await ReadyAsync(school);
        await using var __ = agent;
        await Poll.UntilAsync(() => Task.FromResult(Host.GetService<DeviceLiveState>().Capabilities(deviceId)?.Any(c => c.Name == CapabilityNames.RemoteClipboardRead && c.Available) == true), HomeroomHost.Timeout);
        using var desktop = X11Session.Open(Display.Name);

        const string text = "Fehler 0x80070005: Zugriff verweigert <ü ✓>\n\tat line 2\n";
        await SetClipboardAsync(System.Text.Encoding.UTF8.GetBytes(text));
        var (viewer, _) = await AcceptedAsync(deviceId, desktop, RemoteModes.Control);
        using (viewer)
        {
            helper.RemoteBannerText.ShouldNotBeNull().ShouldNotContain("clipboard");
            await viewer.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { type = "readClipboard" }), WebSocketMessageType.Text, true, CancellationToken.None);
            var received = await DeviceClipboardAnswerAsync(viewer);
            (received.GetProperty("state").GetString(), received.GetProperty("text").GetString()).ShouldBe(("received", text), received.GetRawText());
            // The student's banner now says the clipboard was read.
            await Poll.UntilAsync(() => Task.FromResult(helper.RemoteBannerText?.Contains("copied your clipboard", StringComparison.Ordinal) == true), HomeroomHost.Timeout);

            // More than 8 KiB of text: refused on the device with why, nothing of it sent.
            await SetClipboardAsync(System.Text.Encoding.UTF8.GetBytes(new string('x', RemoteLimits.MaxClipboardBytes + 1)));
            await viewer.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { type = "readClipboard" }), WebSocketMessageType.Text, true, CancellationToken.None);
            var tooLarge = await DeviceClipboardAnswerAsync(viewer);
            (tooLarge.GetProperty("state").GetString(), tooLarge.TryGetProperty("text", out _)).ShouldBe(("refused", false), tooLarge.GetRawText());
            tooLarge.GetProperty("reason").GetString()!.ShouldContain("more than 8 KiB");

            // A picture, not text: refused.
            await SetClipboardAsync([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0], "image/png");
            await viewer.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { type = "readClipboard" }), WebSocketMessageType.Text, true, CancellationToken.None);
            var picture = await DeviceClipboardAnswerAsync(viewer);
            (picture.GetProperty("state").GetString(), picture.GetProperty("reason").GetString()).ShouldBe(("refused", "the clipboard holds no text (it is empty, or holds something else such as a picture)"), picture.GetRawText());
            (await Host.Client.DeleteAsync($"/api/devices/{deviceId}/remote-session")).StatusCode.ShouldBe(System.Net.HttpStatusCode.NoContent);
        }

        // Audited by length (and the refusals with why), never the text.
        var audit = await Host.GetJsonAsync<JsonElement>($"/api/audit?action=remote.clipboard.read&targetId={deviceId}");
        audit.GetProperty("total").GetInt32().ShouldBe(3);
        audit.GetRawText().ShouldNotContain("Zugriff");
    }

    /// <summary>The next file answer on the session socket (screen updates and other messages before it are skipped).</summary>
    private static async Task<JsonElement> FileAnswerAsync(ClientWebSocket viewer)
    {
        for (var i = 0; i < 500; i++)
        {
            var (type, data) = await ReceiveAsync(viewer);
            if (type == WebSocketMessageType.Text && JsonDocument.Parse(data).RootElement is var message && message.GetProperty("type").GetString() == "file")
            {
                return message;
            }
        }

        throw new InvalidOperationException("no file answer");
    }

    private async Task<HttpResponseMessage> SendFileAsync(Guid deviceId, Guid sessionId, string name, byte[] content)
    {
        using var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return await Host.Client.PostAsync($"/api/devices/{deviceId}/remote-session/{sessionId}/files?name={Uri.EscapeDataString(name)}", body);
    }

    private static string[] Listing(string directory) =>
        Directory.Exists(directory) ? [.. Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal)!] : [];

    [Fact]
    public async Task FileFromTheTechnician_ArrivesByteIdentical_InDownloads_WithoutOverwriting_AndNothingUnverifiedIsKept()
    {
        var school = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Files " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" })).GetProperty("id").GetGuid();
        object Settings(bool files) => new { sessionsAllowed = true, technicianConsent = "consent", districtAdminConsent = "consent", clipboardAllowed = false, fileTransferAllowed = files };
        (await Host.Client.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(files: true))).EnsureSuccessStatusCode();
        var downloads = Path.Combine(StateDirectory, "home", "Downloads", "Homeroom");
        var (deviceId, agent, helper) = await ReadyAsync(school, downloads);
        await using var __ = agent;
        await Poll.UntilAsync(() => Task.FromResult(Host.GetService<DeviceLiveState>().Capabilities(deviceId)?.Any(c => c.Name == CapabilityNames.RemoteFile && c.Available) == true), HomeroomHost.Timeout);
        using var desktop = X11Session.Open(Display.Name);

        // A file of that name is already there: it is kept as it is, and the new one gets "(2)".
        Directory.CreateDirectory(downloads);
        await File.WriteAllTextAsync(Path.Combine(downloads, "worksheet.pdf"), "the student's own file");
        // Over the API's usual 1 MB body limit (the upload raises it to MaxFileBytes, 25 MB here), so about 92 chunks.
        var file = new byte[3_000_000];
        Random.Shared.NextBytes(file);
        var (viewer, sessionId) = await AcceptedAsync(deviceId, desktop, RemoteModes.Control);
        using (viewer)
        {
            using (var sent = await SendFileAsync(deviceId, sessionId, "worksheet.pdf", file))
            {
                sent.StatusCode.ShouldBe(System.Net.HttpStatusCode.Accepted, await sent.Content.ReadAsStringAsync());
            }

            (await FileAnswerAsync(viewer)).GetProperty("state").GetString().ShouldBe("sent");
            var saved = await FileAnswerAsync(viewer);
            (saved.GetProperty("state").GetString(), saved.GetProperty("reason").GetString()).ShouldBe(("saved", "worksheet (2).pdf"), saved.GetRawText());
            (await File.ReadAllBytesAsync(Path.Combine(downloads, "worksheet (2).pdf"))).ShouldBe(file);
            (await File.ReadAllTextAsync(Path.Combine(downloads, "worksheet.pdf"))).ShouldBe("the student's own file");
            // The student is told (the message pop-up).
            await Poll.UntilAsync(async () => (await ScreenshotAsync()).Count(p => p == X11Session.MessageColour) > 1000, HomeroomHost.Timeout);

            // A chunk corrupted on the way (its SHA-256 does not match the announced one): refused, nothing kept, not even the temporary file.
            var corrupted = (byte[])file.Clone();
            corrupted[1234] ^= 0xFF;
            var badTransfer = Guid.NewGuid();
            var sha256 = RemoteFileLimits.Sha256Hex(file);
            for (var offset = 0; offset < corrupted.Length; offset += RemoteFileLimits.ChunkBytes)
            {
                await agent.Sessions.RemoteFileAsync(new RemoteFileFrame(sessionId, badTransfer, "corrupted.pdf", corrupted.Length, sha256, offset,
                    corrupted[offset..Math.Min(corrupted.Length, offset + RemoteFileLimits.ChunkBytes)]));
            }

            await Poll.UntilAsync(() => Task.FromResult(helper.FileOutcomes.Any(o => o.Transfer == badTransfer)), HomeroomHost.Timeout);
            var outcome = helper.FileOutcomes.Single(o => o.Transfer == badTransfer);
            (outcome.Status, outcome.Detail).ShouldBe((RemoteFileStatuses.Refused, "the file's SHA-256 did not match what the server sent; nothing was kept"));
            Listing(downloads).ShouldBe(["worksheet (2).pdf", "worksheet.pdf"]);

            // The session ends with a file half sent: its temporary file goes with it.
            var halfTransfer = Guid.NewGuid();
            await agent.Sessions.RemoteFileAsync(new RemoteFileFrame(sessionId, halfTransfer, "half.pdf", file.Length, sha256, 0, file[..RemoteFileLimits.ChunkBytes]));
            await Poll.UntilAsync(() => Task.FromResult(Listing(downloads).Length == 3), HomeroomHost.Timeout);
            Listing(downloads).ShouldContain($".homeroom-{halfTransfer:N}.part");
            (await Host.Client.DeleteAsync($"/api/devices/{deviceId}/remote-session")).StatusCode.ShouldBe(System.Net.HttpStatusCode.NoContent);
            await Poll.UntilAsync(() => Task.FromResult(Listing(downloads).Length == 2), HomeroomHost.Timeout);
            Listing(downloads).ShouldBe(["worksheet (2).pdf", "worksheet.pdf"]);
            helper.FileOutcomes.ShouldNotContain(o => o.Transfer == halfTransfer);
        }

        var audit = await Host.GetJsonAsync<JsonElement>($"/api/audit?action=remote.file.saved&targetId={deviceId}");
        audit.GetProperty("total").GetInt32().ShouldBe(1);

        // The school turns file transfer off: the next session's file is refused with the reason, and nothing reaches the folder.
        (await Host.Client.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(files: false))).EnsureSuccessStatusCode();
        var (refusing, refusingSession) = await AcceptedAsync(deviceId, desktop, RemoteModes.Control);
        using (refusing)
        {
            using var refused = await SendFileAsync(deviceId, refusingSession, "again.pdf", file);
            refused.StatusCode.ShouldBe(System.Net.HttpStatusCode.Conflict);
            var answer = await FileAnswerAsync(refusing);
            answer.GetProperty("state").GetString().ShouldBe("refused");
            answer.GetProperty("reason").GetString()!.ShouldContain("do not allow file transfer");
            (await Host.Client.DeleteAsync($"/api/devices/{deviceId}/remote-session")).StatusCode.ShouldBe(System.Net.HttpStatusCode.NoContent);
        }

        Listing(downloads).ShouldBe(["worksheet (2).pdf", "worksheet.pdf"]);
        helper.FileOutcomes.Count.ShouldBe(2);
    }

    /// <summary>The next answer about a file asked of the device (screen updates and other messages before it are skipped).</summary>
    private static async Task<JsonElement> DeviceFileAnswerAsync(ClientWebSocket viewer, params string[] skip)
    {
        for (var i = 0; i < 2000; i++)
        {
            var (type, data) = await ReceiveAsync(viewer);
            if (type == WebSocketMessageType.Text && JsonDocument.Parse(data).RootElement is var message && message.GetProperty("type").GetString() == "deviceFile"
                && !skip.Contains(message.GetProperty("state").GetString()))
            {
                return message;
            }
        }

        throw new InvalidOperationException("no deviceFile answer");
    }

    private async Task<Guid> AskForFileAsync(Guid deviceId, Guid sessionId, string path)
    {
        using var asked = await Host.Client.PostAsJsonAsync($"/api/devices/{deviceId}/remote-session/{sessionId}/device-files", new { path });
        asked.StatusCode.ShouldBe(System.Net.HttpStatusCode.Accepted, await asked.Content.ReadAsStringAsync());
        return (await asked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("transferId").GetGuid();
    }

    private async Task WaitForNoPromptAsync() =>
        await Poll.UntilAsync(async () => (await ScreenshotAsync()).Count(p => p == X11Session.ConsentColour) < 1000, HomeroomHost.Timeout);

    [Fact]
    public async Task FileFromTheDevice_ArrivesByteIdentical_WhenTheStudentAllows_NothingWhenDenied_AndALinkOutOfTheHomeIsRefused()
    {
        var school = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Device files " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" })).GetProperty("id").GetGuid();
        (await Host.Client.PutAsJsonAsync($"/api/schools/{school}/remote-support",
            new { sessionsAllowed = true, technicianConsent = "consent", districtAdminConsent = "consent", clipboardAllowed = false, fileTransferAllowed = true })).EnsureSuccessStatusCode();
        // Beside the agent's state directory, which must stay private to the agent.
        var home = Path.Combine(Host.Database.DataDirectory, "student-home");
        var outside = Path.Combine(Host.Database.DataDirectory, "not-the-home");
        Directory.CreateDirectory(Path.Combine(home, "Documents"));
        Directory.CreateDirectory(outside);
        var essay = new byte[300_000]; // about ten chunks, paced
        Random.Shared.NextBytes(essay);
        await File.WriteAllBytesAsync(Path.Combine(home, "Documents", "essay.docx"), essay);
        await File.WriteAllTextAsync(Path.Combine(outside, "secret.txt"), "not the student's to give");
        File.CreateSymbolicLink(Path.Combine(home, "link.txt"), Path.Combine(outside, "secret.txt"));
        Directory.CreateSymbolicLink(Path.Combine(home, "escape"), outside);
        File.CreateSymbolicLink(Path.Combine(home, "Documents", "inside-link.docx"), Path.Combine(home, "Documents", "essay.docx"));

        var (deviceId, agent, helper) = await ReadyAsync(school, home: home);
        await using var __ = agent;
        await Poll.UntilAsync(() => Task.FromResult(Host.GetService<DeviceLiveState>().Capabilities(deviceId)?.Any(c => c.Name == CapabilityNames.RemoteFileRead && c.Available) == true), HomeroomHost.Timeout);
        using var desktop = X11Session.Open(Display.Name);
        var (viewer, sessionId) = await AcceptedAsync(deviceId, desktop, RemoteModes.Control);
        using (viewer)
        {
            // The student is asked; on Allow the file arrives whole, its SHA-256 checked, for the technician to download.
            await WaitForNoPromptAsync();
            var allowed = await AskForFileAsync(deviceId, sessionId, "Documents/essay.docx");
            await WaitForPromptAsync();
            await ClickAsync(desktop, X11Session.AllowButton);
            var ready = await DeviceFileAnswerAsync(viewer, "asked", "allowed");
            (ready.GetProperty("state").GetString(), ready.GetProperty("name").GetString(), ready.GetProperty("sha256").GetString())
                .ShouldBe(("ready", "essay.docx", RemoteFileLimits.Sha256Hex(essay)), ready.GetRawText());
            using (var got = await Host.Client.GetAsync($"/api/devices/{deviceId}/remote-session/{sessionId}/device-files/{allowed}"))
            {
                got.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK);
                (await got.Content.ReadAsByteArrayAsync()).ShouldBe(essay);
            }

            // Denied: nothing is sent, and the console hears it.
            await WaitForNoPromptAsync();
            var denied = await AskForFileAsync(deviceId, sessionId, "Documents/essay.docx");
            await WaitForPromptAsync();
            await ClickAsync(desktop, X11Session.DeclineButton);
            var no = await DeviceFileAnswerAsync(viewer, "asked");
            (no.GetProperty("state").GetString(), no.GetProperty("reason").GetString()).ShouldBe(("denied", "the student denied it"), no.GetRawText());
            (await Host.Client.GetAsync($"/api/devices/{deviceId}/remote-session/{sessionId}/device-files/{denied}")).StatusCode.ShouldBe(System.Net.HttpStatusCode.NotFound);
            helper.FileRequestOutcomes.ShouldContain((denied, RemoteFileRequestStatuses.Denied, "the student denied it"));

            // A link (or a folder link) that leads out of the home folder is refused without asking; a link inside it is followed.
            foreach (var path in new[] { "link.txt", "escape/secret.txt" })
            {
                await AskForFileAsync(deviceId, sessionId, path);
                var refused = await DeviceFileAnswerAsync(viewer, "asked");
                (refused.GetProperty("state").GetString(), refused.GetProperty("reason").GetString())
                    .ShouldBe(("refused", "the path leads outside the home folder (through a link); nothing was sent"), path);
            }

            await AskForFileAsync(deviceId, sessionId, "Documents/missing.docx");
            (await DeviceFileAnswerAsync(viewer, "asked")).GetProperty("reason").GetString().ShouldBe("there is no such file in the home folder");
            helper.FileRequestOutcomes.Count(o => o.Status == "sent").ShouldBe(1);

            await WaitForNoPromptAsync();
            var linked = await AskForFileAsync(deviceId, sessionId, "Documents/inside-link.docx");
            await WaitForPromptAsync();
            await ClickAsync(desktop, X11Session.AllowButton);
            (await DeviceFileAnswerAsync(viewer, "asked", "allowed")).GetProperty("name").GetString().ShouldBe("inside-link.docx");
            using (var got = await Host.Client.GetAsync($"/api/devices/{deviceId}/remote-session/{sessionId}/device-files/{linked}"))
            {
                (await got.Content.ReadAsByteArrayAsync()).ShouldBe(essay);
            }

            (await Host.Client.DeleteAsync($"/api/devices/{deviceId}/remote-session")).StatusCode.ShouldBe(System.Net.HttpStatusCode.NoContent);
        }

        var audit = await Host.GetJsonAsync<JsonElement>($"/api/audit?action=remote.file.received&targetId={deviceId}");
        audit.GetProperty("total").GetInt32().ShouldBe(2);
        audit.GetRawText().ShouldContain(RemoteFileLimits.Sha256Hex(essay));
    }
}
