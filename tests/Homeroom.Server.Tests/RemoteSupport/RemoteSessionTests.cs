using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.RemoteSupport;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.RemoteSupport;

// A long acknowledgement interval, so a batch of updates sent together is acknowledged together however slow the machine;
// and more sign-ins a minute from this one address than a real one gets, since every test signs in its own staff.
public abstract class RemoteSupportHost(DatabaseProvider provider)
    : SharedHost(provider, "Homeroom:RemoteSupport:AckInterval=00:00:10", "Homeroom:Accounts:SignInsPerMinutePerAddress=500",
        $"Homeroom:RemoteSupport:MaxFileBytes={RemoteSessionTests.TestMaxFileBytes}");

public sealed class RemoteSupportSqliteHost() : RemoteSupportHost(DatabaseProvider.Sqlite);

public sealed class RemoteSupportPostgresHost() : RemoteSupportHost(DatabaseProvider.Postgres);

/// <summary>
/// Remote sessions over the real server, a real agent WebSocket and the technician's real session socket: consent before
/// anything streams, screen updates relayed unchanged and acknowledged, input relayed in control mode, who may start one
/// (IT technicians of the device's school; never teachers), the idle timeout, view only on a Chromebook (control refused,
/// its tiles relayed, its decline relaying nothing), bad input from either side closing with
/// the documented code and relaying nothing, and each school's remote support settings (sessions off refusing a start,
/// notice only per role, who may change them and how far, bad bodies refused).
/// </summary>
public abstract class RemoteSessionTests(RemoteSupportHost shared)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private HomeroomHost Host => shared.Host;

    private async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    /// <summary>The file size limit of these tests' server (small, so a file over it is cheap to send).</summary>
    public const int TestMaxFileBytes = 200_000;

    private async Task<(Guid School, TestAgent Agent)> LinuxDeviceAsync(bool capable = true, bool clipboard = false, bool files = false)
    {
        var school = await IdAsync("/api/schools", new { name = "Remote " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" });
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: school), "SN-" + Guid.NewGuid().ToString("N")[..10], Contracts.Enrollment.DevicePlatform.Linux);
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        if (capable)
        {
            await agent.SendAsync(new InventoryFrame("Debian", "12", "PC", "Maker", null, null, null,
                [new AgentCapability(CapabilityNames.RemoteSession, true), new AgentCapability(CapabilityNames.RemoteClipboard, clipboard, clipboard ? null : "xclip is not installed"),
                    new AgentCapability(CapabilityNames.RemoteClipboardRead, clipboard, clipboard ? null : "xclip is not installed"),
                    new AgentCapability(CapabilityNames.RemoteFile, files, files ? null : "no user-session helper is connected"),
                    new AgentCapability(CapabilityNames.RemoteFileRead, files, files ? null : "no user-session helper is connected")]));
            await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session")).GetProperty("available").GetBoolean());
        }

        return (school, agent);
    }

    /// <summary>A Chromebook whose extension reports view-only remote sessions, as extension/lib/connection.js does.</summary>
    private async Task<(Guid School, TestAgent Agent)> ChromebookAsync()
    {
        var school = await IdAsync("/api/schools", new { name = "Remote CB " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" });
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: school), "CB-" + Guid.NewGuid().ToString("N")[..10], Contracts.Enrollment.DevicePlatform.ChromeOS);
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        await agent.SendAsync(new InventoryFrame("ChromeOS", "126", "Chromebook", "Maker", null, null, null, [new AgentCapability(CapabilityNames.RemoteView, true)]));
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session")).GetProperty("available").GetBoolean());
        return (school, agent);
    }

    /// <summary>A signed-in staff member: an HTTP client and the cookies a browser would send on the session socket.</summary>
    private async Task<(HttpClient Http, CookieContainer Cookies)> StaffAsync(string role, Guid? school)
    {
        var username = role + "-" + Guid.NewGuid().ToString("N")[..8];
        (await Host.PostJsonAsync("/api/accounts", new { username, displayName = "Sam Tech", password = "a long enough passphrase", role, schoolId = school })).EnsureSuccessStatusCode();
        var cookies = new CookieContainer();
        var http = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = Host.BaseAddress, Timeout = Wait };
        http.DefaultRequestHeaders.Add("X-Homeroom-Request", "1");
        (await http.PostAsJsonAsync("/api/auth/login", new { username, password = "a long enough passphrase" })).EnsureSuccessStatusCode();
        return (http, cookies);
    }

    private async Task<Guid> StartAsync(HttpClient technician, Guid deviceId, string mode)
    {
        using var started = await technician.PostAsJsonAsync($"/api/devices/{deviceId}/remote-session", new { mode });
        started.StatusCode.ShouldBe(HttpStatusCode.Created, await started.Content.ReadAsStringAsync());
        return (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private async Task<ClientWebSocket> ViewerAsync(CookieContainer cookies, Guid deviceId, Guid sessionId, string? origin = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.Cookies = cookies;
        socket.Options.SetRequestHeader("Origin", origin ?? $"http://{Host.BaseAddress.Authority}");
        using var timeout = new CancellationTokenSource(Wait);
        await socket.ConnectAsync(new Uri($"ws://{Host.BaseAddress.Authority}/api/devices/{deviceId}/remote-session/{sessionId}/stream"), timeout.Token);
        return socket;
    }

    private static async Task<(WebSocketMessageType Type, byte[] Data)> ReceiveAsync(ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(Wait);
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

    private static async Task<string> StateAsync(ClientWebSocket socket)
    {
        var (type, data) = await ReceiveAsync(socket);
        type.ShouldBe(WebSocketMessageType.Text);
        var message = JsonDocument.Parse(data).RootElement;
        message.GetProperty("type").GetString().ShouldBe("state");
        return message.GetProperty("state").GetString()!;
    }

    private static Task SendJsonAsync(ClientWebSocket socket, object message) =>
        socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message, HomeroomHost.Json), WebSocketMessageType.Text, true, CancellationToken.None);

    private static byte[] Jpeg(byte fill) => [0xFF, 0xD8, 0xFF, 0xE0, fill, fill, 0xFF, 0xD9];

    private static byte[] Update(Guid sessionId, long sequence, byte fill = 1) =>
        RemoteScreenFrame.Encode(sessionId, sequence, 1366, 768, [new RemoteTile(64, 128, 64, 64, Jpeg(fill))]);

    /// <summary>Accepts a new view session on a new device and attaches a console: the agent, the console, the session id.</summary>
    private async Task<(TestAgent Agent, ClientWebSocket Viewer, Guid SessionId)> StreamingAsync()
    {
        var (school, agent) = await LinuxDeviceAsync();
        var (technician, cookies) = await StaffAsync("itTechnician", school);
        var sessionId = await StartAsync(technician, agent.DeviceId, RemoteModes.View);
        await agent.ExpectAsync<RemoteSessionFrame>();
        var viewer = await ViewerAsync(cookies, agent.DeviceId, sessionId);
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Waiting);
        await agent.SendAsync(new RemoteSessionStatusFrame(sessionId, RemoteSessionStatuses.Accepted, null));
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Streaming);
        return (agent, viewer, sessionId);
    }

    private async Task<RemoteSessionRecord> RecordAsync(Guid sessionId)
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.Set<RemoteSessionRecord>().AsNoTracking().SingleAsync(r => r.Id == sessionId);
    }

    private async Task<int> AuditCountAsync(string action, Guid deviceId)
    {
        var page = await Host.GetJsonAsync<JsonElement>($"/api/audit?action={action}&targetId={deviceId}");
        return page.GetProperty("total").GetInt32();
    }

    [Fact]
    public async Task Technician_SeesUpdatesOnlyAfterConsent_AndInputReachesTheDevice()
    {
        var (school, agent) = await LinuxDeviceAsync();
        await using var _ = agent;
        var (technician, cookies) = await StaffAsync("itTechnician", school);
        var sessionId = await StartAsync(technician, agent.DeviceId, RemoteModes.Control);

        var start = await agent.ExpectAsync<RemoteSessionFrame>();
        start.SessionId.ShouldBe(sessionId);
        start.Active.ShouldBeTrue();
        start.Mode.ShouldBe(RemoteModes.Control);
        start.TechnicianName.ShouldBe("Sam Tech");
        start.ConsentRequired.ShouldBeTrue();

        using var viewer = await ViewerAsync(cookies, agent.DeviceId, sessionId);
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Waiting);

        // Before the student answers, an update is dropped: the first one the technician gets is the one sent after consent.
        await agent.SendRawAsync(Update(sessionId, 1, fill: 7), WebSocketMessageType.Binary);
        await agent.SendAsync(new RemoteSessionStatusFrame(sessionId, RemoteSessionStatuses.Accepted, null));
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Streaming);
        var update = Update(sessionId, 2, fill: 9);
        await agent.SendRawAsync(update, WebSocketMessageType.Binary);
        var (type, data) = await ReceiveAsync(viewer);
        type.ShouldBe(WebSocketMessageType.Binary);
        data.ShouldBe(update);
        (await agent.ExpectAsync<RemoteAckFrame>()).Sequence.ShouldBe(2); // after the ack interval

        await SendJsonAsync(viewer, new { type = "input", events = new object[] { new { kind = "move", x = 10, y = 20 }, new { kind = "down", x = 10, y = 20, button = 1 }, new { kind = "keyDown", keysym = 0x61 } } });
        var input = await agent.ExpectAsync<RemoteInputFrame>();
        input.SessionId.ShouldBe(sessionId);
        input.Events.Select(e => (e.Kind, e.X, e.Y, e.Button, e.Keysym)).ShouldBe([("move", 10, 20, null, null), ("down", 10, 20, 1, null), ("keyDown", null, null, null, 0x61)]);

        // A second console cannot attach to the same session.
        (await Should.ThrowAsync<WebSocketException>(() => ViewerAsync(cookies, agent.DeviceId, sessionId))).Message.ShouldContain("409");

        using (var stop = await technician.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session"))
        {
            stop.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        (await agent.ExpectAsync<RemoteSessionFrame>()).Active.ShouldBeFalse();
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Ended);
        var (closeType, _) = await ReceiveAsync(viewer);
        closeType.ShouldBe(WebSocketMessageType.Close);
        viewer.CloseStatus.ShouldBe(WebSocketCloseStatus.NormalClosure);

        var record = await RecordAsync(sessionId);
        record.Consent.ShouldBe("accepted");
        record.Mode.ShouldBe(RemoteModes.Control);
        record.FramesSent.ShouldBe(1);
        record.BytesSent.ShouldBe(update.Length);
        record.InputEvents.ShouldBe(3);
        record.EndedAt.ShouldNotBeNull();
        (await AuditCountAsync("remote.start", agent.DeviceId)).ShouldBe(1);
        (await AuditCountAsync("remote.end", agent.DeviceId)).ShouldBe(1);
    }

    [Fact]
    public async Task Declined_NothingStreams_AndTheSessionEnds()
    {
        var (school, agent) = await LinuxDeviceAsync();
        await using var _ = agent;
        var (technician, cookies) = await StaffAsync("itTechnician", school);
        var sessionId = await StartAsync(technician, agent.DeviceId, RemoteModes.View);
        (await agent.ExpectAsync<RemoteSessionFrame>()).ConsentRequired.ShouldBeTrue();
        using var viewer = await ViewerAsync(cookies, agent.DeviceId, sessionId);
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Waiting);

        await agent.SendRawAsync(Update(sessionId, 1), WebSocketMessageType.Binary);
        await agent.SendAsync(new RemoteSessionStatusFrame(sessionId, RemoteSessionStatuses.Declined, "the student declined"));
        await agent.SendRawAsync(Update(sessionId, 2), WebSocketMessageType.Binary);

        // The next thing the console hears is the end, with the reason; no screen update came before it.
        var (type, data) = await ReceiveAsync(viewer);
        type.ShouldBe(WebSocketMessageType.Text);
        var ended = JsonDocument.Parse(data).RootElement;
        ended.GetProperty("state").GetString().ShouldBe(RemoteSessions.States.Ended);
        ended.GetProperty("reason").GetString()!.ShouldContain("declined");
        (await ReceiveAsync(viewer)).Type.ShouldBe(WebSocketMessageType.Close);
        (await agent.NothingOfTypeAsync<RemoteAckFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();

        var record = await RecordAsync(sessionId);
        record.Consent.ShouldBe("declined");
        record.FramesSent.ShouldBe(0);
        record.BytesSent.ShouldBe(0);
    }

    [Fact]
    public async Task TeachersAndOtherSchools_CannotStartOrWatch()
    {
        var (school, agent) = await LinuxDeviceAsync();
        await using var _ = agent;
        var (teacher, teacherCookies) = await StaffAsync("teacher", school);
        var (elsewhere, _) = await StaffAsync("itTechnician", await IdAsync("/api/schools", new { name = "Other " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" }));
        var (technician, _) = await StaffAsync("itTechnician", school);

        (await teacher.PostAsJsonAsync($"/api/devices/{agent.DeviceId}/remote-session", new { mode = "view" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await elsewhere.PostAsJsonAsync($"/api/devices/{agent.DeviceId}/remote-session", new { mode = "view" })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await technician.PostAsJsonAsync($"/api/devices/{agent.DeviceId}/remote-session", new { mode = "spy" })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await agent.NothingOfTypeAsync<RemoteSessionFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();

        var sessionId = await StartAsync(technician, agent.DeviceId, RemoteModes.View);
        (await agent.ExpectAsync<RemoteSessionFrame>()).Active.ShouldBeTrue();
        (await technician.PostAsJsonAsync($"/api/devices/{agent.DeviceId}/remote-session", new { mode = "view" })).StatusCode.ShouldBe(HttpStatusCode.Conflict);

        // The session socket: a teacher is refused, another school's technician does not find the device, a page of another site is refused.
        (await Should.ThrowAsync<WebSocketException>(() => ViewerAsync(teacherCookies, agent.DeviceId, sessionId))).Message.ShouldContain("403");
        (await elsewhere.GetAsync($"/api/devices/{agent.DeviceId}/remote-session/{sessionId}/stream")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await teacher.GetAsync($"/api/devices/{agent.DeviceId}/remote-session")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var (_, technicianCookies) = await StaffAsync("itTechnician", school);
        (await Should.ThrowAsync<WebSocketException>(() => ViewerAsync(technicianCookies, agent.DeviceId, sessionId))).Message.ShouldContain("404"); // not theirs
        await technician.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session");
    }

    [Fact]
    public async Task AgentWithoutTheCapability_IsNeverOffered_ASession()
    {
        var (school, agent) = await LinuxDeviceAsync(capable: false);
        await using var _ = agent;
        var (technician, _) = await StaffAsync("itTechnician", school);
        var state = await technician.GetFromJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session");
        state.GetProperty("available").GetBoolean().ShouldBeFalse();
        state.GetProperty("unavailableReason").GetString()!.ShouldContain("does not offer remote sessions");
        using var refused = await technician.PostAsJsonAsync($"/api/devices/{agent.DeviceId}/remote-session", new { mode = "view" });
        refused.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await agent.NothingOfTypeAsync<RemoteSessionFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
    }

    [Fact]
    public async Task IdleSession_EndsAfterTheIdleTimeout()
    {
        var (school, agent) = await LinuxDeviceAsync();
        await using var _ = agent;
        var (technician, cookies) = await StaffAsync("itTechnician", school);
        var sessionId = await StartAsync(technician, agent.DeviceId, RemoteModes.View);
        await agent.ExpectAsync<RemoteSessionFrame>();
        using var viewer = await ViewerAsync(cookies, agent.DeviceId, sessionId);
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Waiting);
        await agent.SendAsync(new RemoteSessionStatusFrame(sessionId, RemoteSessionStatuses.Accepted, null));
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Streaming);

        Host.Clock.Advance(TimeSpan.FromMinutes(11));
        var stop = await agent.ExpectAsync<RemoteSessionFrame>(Wait);
        stop.Active.ShouldBeFalse();
        stop.SessionId.ShouldBe(sessionId);
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Ended);
        (await RecordAsync(sessionId)).EndReason!.ShouldContain("idle");
    }

    [Fact]
    public async Task OversizedOrMalformedConsoleMessages_CloseWithTheirCode_AndReachNothing()
    {
        var (school, agent) = await LinuxDeviceAsync();
        await using var _ = agent;
        var (technician, cookies) = await StaffAsync("itTechnician", school);

        foreach (var (payload, code) in new (byte[] Payload, int Code)[]
        {
            (Encoding.UTF8.GetBytes("{\"type\":\"input\",\"events\":[" + string.Join(',', Enumerable.Repeat("{\"kind\":\"move\",\"x\":1,\"y\":1}", 400)) + "]}"), RemoteViewerCloseCodes.TooLarge),
            (Encoding.UTF8.GetBytes("{\"type\":\"input\",\"events\":[{\"kind\":\"down\",\"x\":1,\"y\":1,\"button\":9}]}"), RemoteViewerCloseCodes.Malformed),
            (Encoding.UTF8.GetBytes("not json"), RemoteViewerCloseCodes.Malformed),
        })
        {
            var sessionId = await StartAsync(technician, agent.DeviceId, RemoteModes.Control);
            await agent.ExpectAsync<RemoteSessionFrame>();
            using var viewer = await ViewerAsync(cookies, agent.DeviceId, sessionId);
            (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Waiting);
            await agent.SendAsync(new RemoteSessionStatusFrame(sessionId, RemoteSessionStatuses.Accepted, null));
            (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Streaming);

            await viewer.SendAsync(payload, WebSocketMessageType.Text, true, CancellationToken.None);
            (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Ended);
            (await ReceiveAsync(viewer)).Type.ShouldBe(WebSocketMessageType.Close);
            ((int?)viewer.CloseStatus).ShouldBe(code);
            (await agent.ExpectAsync<RemoteSessionFrame>()).Active.ShouldBeFalse();
            (await RecordAsync(sessionId)).InputEvents.ShouldBe(0);
        }

        (await agent.NothingOfTypeAsync<RemoteInputFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
    }

    [Fact]
    public async Task MalformedScreenUpdate_ClosesTheAgent_AndRelaysNothing()
    {
        var (school, agent) = await LinuxDeviceAsync();
        await using var _ = agent;
        var (technician, cookies) = await StaffAsync("itTechnician", school);
        var sessionId = await StartAsync(technician, agent.DeviceId, RemoteModes.View);
        await agent.ExpectAsync<RemoteSessionFrame>();
        using var viewer = await ViewerAsync(cookies, agent.DeviceId, sessionId);
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Waiting);
        await agent.SendAsync(new RemoteSessionStatusFrame(sessionId, RemoteSessionStatuses.Accepted, null));
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Streaming);

        // A tile that reaches past the screen's edge.
        var bad = RemoteScreenFrame.Encode(sessionId, 1, 1366, 768, [new RemoteTile(1340, 0, 64, 64, Jpeg(3))]);
        await agent.SendRawAsync(bad, WebSocketMessageType.Binary);
        (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.MalformedFrame);

        var (type, data) = await ReceiveAsync(viewer);
        type.ShouldBe(WebSocketMessageType.Text);
        JsonDocument.Parse(data).RootElement.GetProperty("state").GetString().ShouldBe(RemoteSessions.States.Ended);
        var record = await RecordAsync(sessionId);
        record.FramesSent.ShouldBe(0);
        record.BytesSent.ShouldBe(0);
    }

    [Fact]
    public async Task Chromebook_ControlRefused_ViewRelaysItsTiles_AndTheStudentEndsIt()
    {
        var (school, agent) = await ChromebookAsync();
        await using var _ = agent;
        var (technician, cookies) = await StaffAsync("itTechnician", school);
        var state = await technician.GetFromJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session");
        state.GetProperty("available").GetBoolean().ShouldBeTrue();
        state.GetProperty("controlUnavailableReason").GetString()!.ShouldContain("cannot inject input");

        using (var control = await technician.PostAsJsonAsync($"/api/devices/{agent.DeviceId}/remote-session", new { mode = "control" }))
        {
            control.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await control.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!.ShouldContain("cannot inject input");
        }

        (await agent.NothingOfTypeAsync<RemoteSessionFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
        (await AuditCountAsync("remote.start", agent.DeviceId)).ShouldBe(0);

        var sessionId = await StartAsync(technician, agent.DeviceId, RemoteModes.View);
        var start = await agent.ExpectAsync<RemoteSessionFrame>();
        start.Active.ShouldBeTrue();
        start.Mode.ShouldBe(RemoteModes.View);
        start.ConsentRequired.ShouldBeTrue();
        start.TechnicianName.ShouldBe("Sam Tech");
        using var viewer = await ViewerAsync(cookies, agent.DeviceId, sessionId);
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Waiting);
        await agent.SendAsync(new RemoteSessionStatusFrame(sessionId, RemoteSessionStatuses.Accepted, null));
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Streaming);

        // The extension's first update: the whole 1366 x 768 tab as 256-pixel tiles (the last column 86 wide).
        var tiles = new List<RemoteTile>();
        for (var y = 0; y < 768; y += 256)
        {
            for (var x = 0; x < 1366; x += 256)
            {
                tiles.Add(new RemoteTile(x, y, Math.Min(256, 1366 - x), 256, Jpeg((byte)(x / 256 + y / 64))));
            }
        }

        var whole = RemoteScreenFrame.Encode(sessionId, 1, 1366, 768, tiles);
        await agent.SendRawAsync(whole, WebSocketMessageType.Binary);
        var (type, data) = await ReceiveAsync(viewer);
        type.ShouldBe(WebSocketMessageType.Binary);
        data.ShouldBe(whole);
        (await agent.ExpectAsync<RemoteAckFrame>()).Sequence.ShouldBe(1);

        // Input from the console in a view session never reaches the device (it only keeps the session from idling).
        await SendJsonAsync(viewer, new { type = "input", events = new object[] { new { kind = "move", x = 10, y = 20 } } });
        var changed = Update(sessionId, 2, fill: 5);
        await agent.SendRawAsync(changed, WebSocketMessageType.Binary);
        (await ReceiveAsync(viewer)).Data.ShouldBe(changed);
        (await agent.ExpectAsync<RemoteAckFrame>()).Sequence.ShouldBe(2);
        (await agent.NothingOfTypeAsync<RemoteInputFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();

        await agent.SendAsync(new RemoteSessionStatusFrame(sessionId, RemoteSessionStatuses.Ended, "the student ended it"));
        var (endType, endData) = await ReceiveAsync(viewer);
        endType.ShouldBe(WebSocketMessageType.Text);
        var ended = JsonDocument.Parse(endData).RootElement;
        ended.GetProperty("state").GetString().ShouldBe(RemoteSessions.States.Ended);
        ended.GetProperty("reason").GetString()!.ShouldContain("the student ended it");
        (await ReceiveAsync(viewer)).Type.ShouldBe(WebSocketMessageType.Close);

        var record = await RecordAsync(sessionId);
        (record.Mode, record.Consent, record.FramesSent, record.BytesSent, record.InputEvents).ShouldBe((RemoteModes.View, "accepted", 2L, (long)(whole.Length + changed.Length), 0L));
        (await AuditCountAsync("remote.start", agent.DeviceId)).ShouldBe(1);
        (await AuditCountAsync("remote.end", agent.DeviceId)).ShouldBe(1);
    }

    [Fact]
    public async Task Chromebook_StudentDeclines_NothingRelayed()
    {
        var (school, agent) = await ChromebookAsync();
        await using var _ = agent;
        var (technician, cookies) = await StaffAsync("itTechnician", school);
        var sessionId = await StartAsync(technician, agent.DeviceId, RemoteModes.View);
        (await agent.ExpectAsync<RemoteSessionFrame>()).ConsentRequired.ShouldBeTrue();
        using var viewer = await ViewerAsync(cookies, agent.DeviceId, sessionId);
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Waiting);

        // Updates before and after the decline (a misbehaving extension) are dropped.
        await agent.SendRawAsync(Update(sessionId, 1), WebSocketMessageType.Binary);
        await agent.SendAsync(new RemoteSessionStatusFrame(sessionId, RemoteSessionStatuses.Declined, "the student declined"));
        await agent.SendRawAsync(Update(sessionId, 2), WebSocketMessageType.Binary);
        var (type, data) = await ReceiveAsync(viewer);
        type.ShouldBe(WebSocketMessageType.Text);
        JsonDocument.Parse(data).RootElement.GetProperty("state").GetString().ShouldBe(RemoteSessions.States.Ended);
        (await ReceiveAsync(viewer)).Type.ShouldBe(WebSocketMessageType.Close);
        (await agent.NothingOfTypeAsync<RemoteAckFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
        var record = await RecordAsync(sessionId);
        (record.Consent, record.FramesSent, record.BytesSent).ShouldBe(("declined", 0L, 0L));
    }

    [Fact]
    public async Task ScreenUpdates_AreAcknowledgedInBatches_OfTheNewestSequence()
    {
        var (agent, viewer, sessionId) = await StreamingAsync();
        await using var _ = agent;
        using var __ = viewer;
        for (var sequence = 1; sequence <= 5; sequence++)
        {
            await agent.SendRawAsync(Update(sessionId, sequence, fill: (byte)sequence), WebSocketMessageType.Binary);
            (await ReceiveAsync(viewer)).Data.ShouldBe(Update(sessionId, sequence, fill: (byte)sequence));
        }

        // All five were delivered within the ack interval (10 s on this host): one cumulative ack covers them.
        (await agent.ExpectAsync<RemoteAckFrame>()).Sequence.ShouldBe(5);

        // Enough bytes at once are acknowledged without waiting for the interval.
        var large = new byte[40 * 1024];
        large[0] = 0xFF;
        large[1] = 0xD8;
        var big6 = RemoteScreenFrame.Encode(sessionId, 6, 1366, 768, [new RemoteTile(0, 0, 64, 64, large)]);
        var big7 = RemoteScreenFrame.Encode(sessionId, 7, 1366, 768, [new RemoteTile(64, 0, 64, 64, large)]);
        await agent.SendRawAsync(big6, WebSocketMessageType.Binary);
        await agent.SendRawAsync(big7, WebSocketMessageType.Binary);
        (await ReceiveAsync(viewer)).Data.ShouldBe(big6);
        (await ReceiveAsync(viewer)).Data.ShouldBe(big7);
        (await agent.ExpectAsync<RemoteAckFrame>(TimeSpan.FromSeconds(5))).Sequence.ShouldBe(7);
    }

    [Fact]
    public async Task ScreenUpdateWithCopies_IsRelayedUnchanged_AndACopyOffTheScreenClosesTheAgent()
    {
        var (agent, viewer, sessionId) = await StreamingAsync();
        await using var _ = agent;
        using var __ = viewer;

        // A scrolled region (copies, applied before the tiles) and a copy-only update pass through as they are.
        var scrolled = RemoteScreenFrame.Encode(sessionId, 1, 1366, 768,
            [new RemoteCopy(0, 104, 640, 600, 0, 64), new RemoteCopy(640, 40, 64, 64, 640, 0)], [new RemoteTile(0, 664, 64, 64, Jpeg(4))]);
        var copyOnly = RemoteScreenFrame.Encode(sessionId, 2, 1366, 768, [new RemoteCopy(0, 0, 1366, 700, 0, 68)], []);
        await agent.SendRawAsync(scrolled, WebSocketMessageType.Binary);
        await agent.SendRawAsync(copyOnly, WebSocketMessageType.Binary);
        (await ReceiveAsync(viewer)).Data.ShouldBe(scrolled);
        (await ReceiveAsync(viewer)).Data.ShouldBe(copyOnly);

        // A copy whose source reaches below the screen's bottom edge.
        var bad = RemoteScreenFrame.Encode(sessionId, 3, 1366, 768, [new RemoteCopy(0, 200, 640, 600, 0, 64)], [new RemoteTile(0, 0, 64, 64, Jpeg(5))]);
        await agent.SendRawAsync(bad, WebSocketMessageType.Binary);
        (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.MalformedFrame);
        var (type, data) = await ReceiveAsync(viewer);
        type.ShouldBe(WebSocketMessageType.Text);
        JsonDocument.Parse(data).RootElement.GetProperty("state").GetString().ShouldBe(RemoteSessions.States.Ended);
        var record = await RecordAsync(sessionId);
        record.FramesSent.ShouldBe(2);
        record.BytesSent.ShouldBe(scrolled.Length + copyOnly.Length);
    }

    private static object Settings(bool sessions = true, string technicians = "consent", string districtAdmins = "consent", bool clipboard = false, bool? files = null) =>
        files is { } transfer
            ? new { sessionsAllowed = sessions, technicianConsent = technicians, districtAdminConsent = districtAdmins, clipboardAllowed = clipboard, fileTransferAllowed = transfer }
            : new { sessionsAllowed = sessions, technicianConsent = technicians, districtAdminConsent = districtAdmins, clipboardAllowed = clipboard };

    private async Task<int> SchoolAuditCountAsync(string action, Guid schoolId) =>
        (await Host.GetJsonAsync<JsonElement>($"/api/audit?action={action}&targetId={schoolId}")).GetProperty("total").GetInt32();

    [Fact]
    public async Task SchoolWithSessionsOff_RefusesAStart_AndNothingReachesTheDevice()
    {
        var (school, agent) = await LinuxDeviceAsync();
        await using var _ = agent;
        var (schoolAdmin, _) = await StaffAsync("schoolAdmin", school);
        var (technician, _) = await StaffAsync("itTechnician", school);

        // The school's administrator turns sessions off (stricter than the district: theirs to decide).
        using (var off = await schoolAdmin.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(sessions: false)))
        {
            off.StatusCode.ShouldBe(HttpStatusCode.OK, await off.Content.ReadAsStringAsync());
            var saved = await off.Content.ReadFromJsonAsync<JsonElement>();
            saved.GetProperty("settings").GetProperty("sessionsAllowed").GetBoolean().ShouldBeFalse();
            saved.GetProperty("usesDistrictDefaults").GetBoolean().ShouldBeFalse();
        }

        (await SchoolAuditCountAsync("remote.settings", school)).ShouldBe(1);
        var state = await technician.GetFromJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session");
        state.GetProperty("available").GetBoolean().ShouldBeFalse();
        state.GetProperty("unavailableReason").GetString()!.ShouldContain("turned off for this school");

        foreach (var client in new[] { technician, Host.Client })
        {
            using var refused = await client.PostAsJsonAsync($"/api/devices/{agent.DeviceId}/remote-session", new { mode = "control" });
            refused.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            refused.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!.ShouldContain("turned off for this school");
        }

        (await agent.NothingOfTypeAsync<RemoteSessionFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
        (await AuditCountAsync("remote.start", agent.DeviceId)).ShouldBe(0);

        // On again (the district's default, so the school's administrator may): the same start now reaches the device.
        (await schoolAdmin.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(sessions: true))).StatusCode.ShouldBe(HttpStatusCode.OK);
        var sessionId = await StartAsync(technician, agent.DeviceId, RemoteModes.View);
        (await agent.ExpectAsync<RemoteSessionFrame>()).SessionId.ShouldBe(sessionId);
        (await technician.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task NoticeOnlyForTechnicians_AsksNoConsent_WhileDistrictAdminsStillAsk()
    {
        var (school, agent) = await LinuxDeviceAsync();
        await using var _ = agent;
        var (schoolAdmin, _) = await StaffAsync("schoolAdmin", school);
        var (technician, cookies) = await StaffAsync("itTechnician", school);
        var (districtAdmin, _) = await StaffAsync("districtAdmin", null);

        // Notice only is looser than the district's default (consent): not the school administrator's to choose.
        using (var refused = await schoolAdmin.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(technicians: "notice")))
        {
            refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!.ShouldContain("district administrator");
        }

        (await SchoolAuditCountAsync("remote.settings", school)).ShouldBe(0);
        (await technician.GetFromJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session")).GetProperty("consentRequired").GetBoolean().ShouldBeTrue();

        (await districtAdmin.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(technicians: "notice"))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await technician.GetFromJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session")).GetProperty("consentRequired").GetBoolean().ShouldBeFalse();

        // The school's administrator may keep what the district administrator set while changing something else.
        (await schoolAdmin.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(technicians: "notice", districtAdmins: "consent"))).StatusCode.ShouldBe(HttpStatusCode.OK);

        var sessionId = await StartAsync(technician, agent.DeviceId, RemoteModes.View);
        var start = await agent.ExpectAsync<RemoteSessionFrame>();
        start.SessionId.ShouldBe(sessionId);
        start.ConsentRequired.ShouldBeFalse();
        using (var viewer = await ViewerAsync(cookies, agent.DeviceId, sessionId))
        {
            (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Waiting);
            await agent.SendAsync(new RemoteSessionStatusFrame(sessionId, RemoteSessionStatuses.Accepted, null));
            (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Streaming);
            (await technician.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
            (await agent.ExpectAsync<RemoteSessionFrame>()).Active.ShouldBeFalse();
        }

        var record = await RecordAsync(sessionId);
        (record.ConsentRequired, record.Consent).ShouldBe((false, "notice"));

        // A district administrator's session in the same school still asks the student.
        var adminSession = await StartAsync(districtAdmin, agent.DeviceId, RemoteModes.View);
        var adminStart = await agent.ExpectAsync<RemoteSessionFrame>();
        adminStart.SessionId.ShouldBe(adminSession);
        adminStart.ConsentRequired.ShouldBeTrue();
        (await districtAdmin.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task AnotherSchoolsAdmin_AndTechnicians_CannotChangeASchoolsSettings()
    {
        var (school, agent) = await LinuxDeviceAsync();
        await using var _ = agent;
        var other = await IdAsync("/api/schools", new { name = "Other " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" });
        var (otherAdmin, _) = await StaffAsync("schoolAdmin", other);
        var (technician, _) = await StaffAsync("itTechnician", school);
        var (teacher, _) = await StaffAsync("teacher", school);

        (await otherAdmin.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(sessions: false))).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await otherAdmin.GetAsync($"/api/schools/{school}/remote-support")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await technician.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(technicians: "notice"))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await technician.GetAsync($"/api/schools/{school}/remote-support")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await teacher.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(sessions: false))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        var settings = await Host.GetJsonAsync<JsonElement>($"/api/schools/{school}/remote-support");
        settings.GetProperty("usesDistrictDefaults").GetBoolean().ShouldBeTrue();
        settings.GetProperty("settings").GetProperty("sessionsAllowed").GetBoolean().ShouldBeTrue();
        (await SchoolAuditCountAsync("remote.settings", school)).ShouldBe(0);
        (await technician.GetFromJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session")).GetProperty("available").GetBoolean().ShouldBeTrue();
    }

    [Fact]
    public async Task BadSettingsBodies_AreRefused_AndNothingIsStored()
    {
        var school = await IdAsync("/api/schools", new { name = "Bodies " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" });
        var path = $"/api/schools/{school}/remote-support";
        foreach (var (body, status, field) in new (string Body, HttpStatusCode Status, string? Field)[]
        {
            ("""{"sessionsAllowed":true,"technicianConsent":"maybe","districtAdminConsent":"consent","clipboardAllowed":false}""", HttpStatusCode.BadRequest, "technicianConsent"),
            ("""{"sessionsAllowed":true,"technicianConsent":"consent","districtAdminConsent":"consent"}""", HttpStatusCode.BadRequest, "clipboardAllowed"),
            ("""{"technicianConsent":"consent","districtAdminConsent":"CONSENT","clipboardAllowed":false}""", HttpStatusCode.BadRequest, "sessionsAllowed"),
            ("""{"sessionsAllowed":"yes","technicianConsent":"consent","districtAdminConsent":"consent","clipboardAllowed":false}""", HttpStatusCode.BadRequest, null),
            ("not json", HttpStatusCode.BadRequest, null),
            ("{\"sessionsAllowed\":false,\"technicianConsent\":\"consent\",\"districtAdminConsent\":\"consent\",\"clipboardAllowed\":false,\"pad\":\"" + new string('x', 2000) + "\"}", HttpStatusCode.RequestEntityTooLarge, null),
        })
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await Host.Client.PutAsync(path, content);
            response.StatusCode.ShouldBe(status, body.Length > 80 ? body[..80] : body);
            response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json", body.Length > 80 ? body[..80] : body);
            if (field is not null)
            {
                (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue(body);
            }
        }

        (await Host.GetJsonAsync<JsonElement>(path)).GetProperty("usesDistrictDefaults").GetBoolean().ShouldBeTrue();
        (await SchoolAuditCountAsync("remote.settings", school)).ShouldBe(0);
    }

    private static async Task<JsonElement> TextAsync(ClientWebSocket socket)
    {
        var (type, data) = await ReceiveAsync(socket);
        type.ShouldBe(WebSocketMessageType.Text);
        return JsonDocument.Parse(data).RootElement;
    }

    [Fact]
    public async Task ClipboardText_IsRelayedOnlyWhereTheSchoolAllowsIt_AndTooMuchClosesWith4413()
    {
        var (school, agent) = await LinuxDeviceAsync(clipboard: true);
        await using var _ = agent;
        var (technician, cookies) = await StaffAsync("itTechnician", school);
        (await technician.GetFromJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session")).GetProperty("clipboardUnavailableReason").GetString()!
            .ShouldContain("do not allow the clipboard");

        // The district's default: no clipboard. Refused with the reason; the session goes on and nothing reaches the device.
        var sessionId = await StartAsync(technician, agent.DeviceId, RemoteModes.Control);
        await agent.ExpectAsync<RemoteSessionFrame>();
        using (var viewer = await ViewerAsync(cookies, agent.DeviceId, sessionId))
        {
            (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Waiting);
            await agent.SendAsync(new RemoteSessionStatusFrame(sessionId, RemoteSessionStatuses.Accepted, null));
            (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Streaming);
            await SendJsonAsync(viewer, new { type = "clipboard", text = "hello" });
            var refused = await TextAsync(viewer);
            (refused.GetProperty("type").GetString(), refused.GetProperty("state").GetString()).ShouldBe(("clipboard", "refused"));
            refused.GetProperty("reason").GetString()!.ShouldContain("do not allow the clipboard");
            (await agent.NothingOfTypeAsync<RemoteClipboardFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
            (await technician.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
            (await agent.ExpectAsync<RemoteSessionFrame>()).Active.ShouldBeFalse();
        }

        (await Host.Client.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(clipboard: true))).StatusCode.ShouldBe(HttpStatusCode.OK);
        var allowed = await technician.GetFromJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session");
        (allowed.TryGetProperty("clipboardUnavailableReason", out var none) ? none.ValueKind : JsonValueKind.Null).ShouldBe(JsonValueKind.Null);
        sessionId = await StartAsync(technician, agent.DeviceId, RemoteModes.Control);
        (await agent.ExpectAsync<RemoteSessionFrame>()).Active.ShouldBeTrue();
        using (var viewer = await ViewerAsync(cookies, agent.DeviceId, sessionId))
        {
            (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Waiting);
            await agent.SendAsync(new RemoteSessionStatusFrame(sessionId, RemoteSessionStatuses.Accepted, null));
            (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Streaming);

            const string text = "room 214 <printer> \"ü\"\tok\n";
            await SendJsonAsync(viewer, new { type = "clipboard", text });
            var relayed = await agent.ExpectAsync<RemoteClipboardFrame>();
            (relayed.SessionId, relayed.Text).ShouldBe((sessionId, text));
            (await TextAsync(viewer)).GetProperty("state").GetString().ShouldBe("sent");
            (await AuditCountAsync("remote.clipboard", agent.DeviceId)).ShouldBe(1);

            // Control characters are refused (4400), more than 8 KiB of text too (4413): each ends the session, nothing relayed.
            await SendJsonAsync(viewer, new { type = "clipboard", text = new string('é', 4097) });
            (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Ended);
            (await ReceiveAsync(viewer)).Type.ShouldBe(WebSocketMessageType.Close);
            ((int?)viewer.CloseStatus).ShouldBe(RemoteViewerCloseCodes.TooLarge);
        }

        (await agent.NothingOfTypeAsync<RemoteClipboardFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
        sessionId = await StartAsync(technician, agent.DeviceId, RemoteModes.Control);
        (await agent.ExpectAsync<RemoteSessionFrame>()).Active.ShouldBeTrue();
        using (var viewer = await ViewerAsync(cookies, agent.DeviceId, sessionId))
        {
            (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Waiting);
            await agent.SendAsync(new RemoteSessionStatusFrame(sessionId, RemoteSessionStatuses.Accepted, null));
            (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Streaming);
            await SendJsonAsync(viewer, new { type = "clipboard", text = "bell \u0007" });
            (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Ended);
            (await ReceiveAsync(viewer)).Type.ShouldBe(WebSocketMessageType.Close);
            ((int?)viewer.CloseStatus).ShouldBe(RemoteViewerCloseCodes.Malformed);
        }

        (await agent.NothingOfTypeAsync<RemoteClipboardFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
        (await AuditCountAsync("remote.clipboard", agent.DeviceId)).ShouldBe(1);
    }

    /// <summary>The next message of <paramref name="type"/> on the session socket (others skipped).</summary>
    private static async Task<JsonElement> NextAsync(ClientWebSocket viewer, string type)
    {
        for (var i = 0; i < 100; i++)
        {
            var (kind, data) = await ReceiveAsync(viewer);
            if (kind == WebSocketMessageType.Text && JsonDocument.Parse(data).RootElement is var message && message.GetProperty("type").GetString() == type)
            {
                return message;
            }
        }

        throw new InvalidOperationException($"no {type} message");
    }

    [Fact]
    public async Task DeviceClipboard_IsReadOnlyInAllowedControlSessions_OnlyThisDevicesAnswerReachesTheConsole_AndIsAuditedByLength()
    {
        var (school, agent) = await LinuxDeviceAsync(clipboard: true);
        await using var _ = agent;
        var (_, other) = await LinuxDeviceAsync(clipboard: true);
        await using var __ = other;
        var (technician, cookies) = await StaffAsync("itTechnician", school);
        (await technician.GetFromJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session")).GetProperty("deviceClipboardUnavailableReason").GetString()!
            .ShouldContain("do not allow the clipboard");

        // The district's default (no clipboard), then a view session where the school allows it: refused with the reason, nothing asked of the device.
        var (sessionId, viewer) = await AcceptedAsync(technician, cookies, agent, RemoteModes.Control);
        using (viewer)
        {
            await SendJsonAsync(viewer, new { type = "readClipboard" });
            var refused = await NextAsync(viewer, "deviceClipboard");
            refused.GetProperty("state").GetString().ShouldBe("refused");
            refused.GetProperty("reason").GetString()!.ShouldContain("do not allow the clipboard");
            (await technician.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        (await Host.Client.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(clipboard: true))).StatusCode.ShouldBe(HttpStatusCode.OK);
        var allowed = await technician.GetFromJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session");
        (allowed.TryGetProperty("deviceClipboardUnavailableReason", out var none) ? none.ValueKind : JsonValueKind.Null).ShouldBe(JsonValueKind.Null);
        (sessionId, viewer) = await AcceptedAsync(technician, cookies, agent, RemoteModes.View);
        using (viewer)
        {
            await SendJsonAsync(viewer, new { type = "readClipboard" });
            (await NextAsync(viewer, "deviceClipboard")).GetProperty("reason").GetString()!.ShouldContain("only in control sessions");
            (await technician.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        (await agent.NothingOfTypeAsync<RemoteClipboardReadFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();

        // A control session: the device is asked, once at a time.
        (sessionId, viewer) = await AcceptedAsync(technician, cookies, agent, RemoteModes.Control);
        using (viewer)
        {
            await SendJsonAsync(viewer, new { type = "readClipboard" });
            var read = await agent.ExpectAsync<RemoteClipboardReadFrame>();
            read.SessionId.ShouldBe(sessionId);
            await SendJsonAsync(viewer, new { type = "readClipboard" });
            (await NextAsync(viewer, "deviceClipboard")).GetProperty("reason").GetString()!.ShouldContain("already under way");

            // Another device cannot answer for this one (its frame is handled before its help request is acknowledged), nor this
            // device for another read: the first answer the console gets is this device's answer to this read.
            await other.SendAsync(new RemoteClipboardContentFrame(sessionId, read.RequestId, "forged by another device", null));
            await other.SendAsync(new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow));
            await other.ExpectAsync<HelpRequestAckFrame>();
            await agent.SendAsync(new RemoteClipboardContentFrame(sessionId, Guid.NewGuid(), "an answer to no read", null));
            const string text = "Wi-Fi: Lincoln-Students\tpassword <ü ✓>\nsecond line";
            await agent.SendAsync(new RemoteClipboardContentFrame(sessionId, read.RequestId, text, null));
            var received = await NextAsync(viewer, "deviceClipboard");
            (received.GetProperty("state").GetString(), received.GetProperty("text").GetString()).ShouldBe(("received", text));

            // The device may refuse (no text there); the console hears why.
            await SendJsonAsync(viewer, new { type = "readClipboard" });
            var second = await agent.ExpectAsync<RemoteClipboardReadFrame>();
            await agent.SendAsync(new RemoteClipboardContentFrame(sessionId, second.RequestId, null, "the clipboard holds no text"));
            var empty = await NextAsync(viewer, "deviceClipboard");
            (empty.GetProperty("state").GetString(), empty.GetProperty("reason").GetString()).ShouldBe(("refused", "the clipboard holds no text"));

            // Audited by length, never the text.
            var audit = await Host.GetJsonAsync<JsonElement>($"/api/audit?action=remote.clipboard.read&targetId={agent.DeviceId}");
            audit.GetProperty("total").GetInt32().ShouldBe(2);
            audit.GetRawText().ShouldContain($"{Encoding.UTF8.GetByteCount(text)} bytes of text read");
            audit.GetRawText().ShouldNotContain("Lincoln");

            // More than 8 KiB from the device breaks the protocol: its connection closes and nothing reaches the console but the end.
            await SendJsonAsync(viewer, new { type = "readClipboard" });
            var third = await agent.ExpectAsync<RemoteClipboardReadFrame>();
            await agent.SendAsync(new RemoteClipboardContentFrame(sessionId, third.RequestId, new string('a', RemoteLimits.MaxClipboardBytes + 1), null));
            (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.MalformedFrame);
            var ended = await TextAsync(viewer);
            (ended.GetProperty("type").GetString(), ended.GetProperty("state").GetString()).ShouldBe(("state", RemoteSessions.States.Ended));
        }

        (await AuditCountAsync("remote.clipboard.read", agent.DeviceId)).ShouldBe(2);
    }

    /// <summary>Starts a session of <paramref name="mode"/> as <paramref name="technician"/>, answers it accepted and attaches the console.</summary>
    private async Task<(Guid SessionId, ClientWebSocket Viewer)> AcceptedAsync(HttpClient technician, CookieContainer cookies, TestAgent agent, string mode)
    {
        var sessionId = await StartAsync(technician, agent.DeviceId, mode);
        await ExpectStartAsync(agent, sessionId);
        var viewer = await ViewerAsync(cookies, agent.DeviceId, sessionId);
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Waiting);
        await agent.SendAsync(new RemoteSessionStatusFrame(sessionId, RemoteSessionStatuses.Accepted, null));
        (await StateAsync(viewer)).ShouldBe(RemoteSessions.States.Streaming);
        return (sessionId, viewer);
    }

    /// <summary>Waits for the start of <paramref name="sessionId"/> on the device (the end of an earlier session may come first).</summary>
    private static async Task ExpectStartAsync(TestAgent agent, Guid sessionId)
    {
        RemoteSessionFrame frame;
        do
        {
            frame = await agent.ExpectAsync<RemoteSessionFrame>();
        }
        while (!frame.Active);
        frame.SessionId.ShouldBe(sessionId);
    }

    private static async Task<HttpResponseMessage> SendFileAsync(HttpClient technician, Guid deviceId, Guid sessionId, string? name, byte[] content)
    {
        using var body = new ByteArrayContent(content);
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        var query = name is null ? "" : "?name=" + Uri.EscapeDataString(name);
        return await technician.PostAsync($"/api/devices/{deviceId}/remote-session/{sessionId}/files{query}", body);
    }

    /// <summary>The next <c>file</c> message on the session socket (others skipped).</summary>
    private static async Task<JsonElement> FileAnswerAsync(ClientWebSocket viewer)
    {
        for (var i = 0; i < 100; i++)
        {
            var (type, data) = await ReceiveAsync(viewer);
            if (type == WebSocketMessageType.Text && JsonDocument.Parse(data).RootElement is var message && message.GetProperty("type").GetString() == "file")
            {
                return message;
            }
        }

        throw new InvalidOperationException("no file answer");
    }

    /// <summary>Every chunk of one transfer the agent receives, in order, joined.</summary>
    private static async Task<(RemoteFileFrame First, byte[] Content)> ReceiveFileAsync(TestAgent agent)
    {
        var first = await agent.ExpectAsync<RemoteFileFrame>();
        first.Offset.ShouldBe(0);
        var content = new List<byte>(first.Data);
        while (content.Count < first.Size)
        {
            var next = await agent.ExpectAsync<RemoteFileFrame>();
            (next.TransferId, next.Name, next.Size, next.Sha256, next.Offset).ShouldBe((first.TransferId, first.Name, first.Size, first.Sha256, content.Count));
            next.Data.Length.ShouldBeLessThanOrEqualTo(RemoteFileLimits.ChunkBytes);
            content.AddRange(next.Data);
        }

        content.Count.ShouldBe((int)first.Size);
        return (first, [.. content]);
    }

    [Fact]
    public async Task Files_GoInVerifiableChunks_OnlyWhereTheSchoolAllows_AndTheDevicesAnswerReachesTheConsole()
    {
        var (school, agent) = await LinuxDeviceAsync(files: true);
        await using var _ = agent;
        var (technician, cookies) = await StaffAsync("itTechnician", school);
        var (schoolAdmin, _) = await StaffAsync("schoolAdmin", school);
        var file = new byte[70_000];
        Random.Shared.NextBytes(file);
        var sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file));
        (await technician.GetFromJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session")).GetProperty("fileTransferUnavailableReason").GetString()!
            .ShouldContain("do not allow file transfer");

        // The district's default: no file transfer. Refused with the reason (to the caller and on the console), nothing reaches the device.
        var (sessionId, viewer) = await AcceptedAsync(technician, cookies, agent, RemoteModes.Control);
        using (viewer)
        {
            using var refused = await SendFileAsync(technician, agent.DeviceId, sessionId, "report.pdf", file);
            refused.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await refused.Content.ReadAsStringAsync()).ShouldContain("do not allow file transfer");
            var told = await FileAnswerAsync(viewer);
            (told.GetProperty("state").GetString(), told.GetProperty("name").GetString()).ShouldBe(("refused", "report.pdf"));
            (await agent.NothingOfTypeAsync<RemoteFileFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
            (await technician.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        // A school administrator may not allow it past the district's default; a district administrator may.
        (await schoolAdmin.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(files: true))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await Host.Client.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(files: true))).StatusCode.ShouldBe(HttpStatusCode.OK);
        // Omitted, the setting stays as it is (clients from before it keep working).
        (await Host.Client.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings())).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Host.GetJsonAsync<JsonElement>($"/api/schools/{school}/remote-support")).GetProperty("settings").GetProperty("fileTransferAllowed").GetBoolean().ShouldBeTrue();

        (sessionId, viewer) = await AcceptedAsync(technician, cookies, agent, RemoteModes.Control);
        using (viewer)
        {
            using var sent = await SendFileAsync(technician, agent.DeviceId, sessionId, "report.pdf", file);
            sent.StatusCode.ShouldBe(HttpStatusCode.Accepted, await sent.Content.ReadAsStringAsync());
            var transfer = await sent.Content.ReadFromJsonAsync<JsonElement>();
            (transfer.GetProperty("name").GetString(), transfer.GetProperty("size").GetInt64(), transfer.GetProperty("sha256").GetString()).ShouldBe(("report.pdf", 70_000L, sha256));
            var (first, received) = await ReceiveFileAsync(agent);
            received.ShouldBe(file);
            (first.SessionId, first.Name, first.Sha256, first.TransferId).ShouldBe((sessionId, "report.pdf", sha256, transfer.GetProperty("transferId").GetGuid()));
            (await FileAnswerAsync(viewer)).GetProperty("state").GetString().ShouldBe("sent");

            // The device's answer reaches the console, once; an answer about a transfer this session did not send is ignored.
            await agent.SendAsync(new RemoteFileStatusFrame(sessionId, Guid.NewGuid(), RemoteFileStatuses.Saved, "forged.pdf"));
            await agent.SendAsync(new RemoteFileStatusFrame(sessionId, first.TransferId, RemoteFileStatuses.Saved, "report (2).pdf"));
            var saved = await FileAnswerAsync(viewer);
            (saved.GetProperty("state").GetString(), saved.GetProperty("reason").GetString(), saved.GetProperty("name").GetString()).ShouldBe(("saved", "report (2).pdf", "report.pdf"));

            // Unsafe names are replaced by safe ones; too long a name, an empty file and one over the limit are refused and send nothing.
            foreach (var (given, expected) in new[] { ("../../etc/passwd", "passwd"), ("bell\u0007.txt", "bell_.txt"), ("C:\\Users\\x\\notes.txt", "notes.txt"), (".bashrc", "bashrc"), (new string('a', 200) + ".pdf", new string('a', 124) + ".pdf") })
            {
                using var renamed = await SendFileAsync(technician, agent.DeviceId, sessionId, given, [1, 2, 3]);
                renamed.StatusCode.ShouldBe(HttpStatusCode.Accepted, given);
                (await renamed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString().ShouldBe(expected, given);
                (await agent.ExpectAsync<RemoteFileFrame>()).Name.ShouldBe(expected, given);
            }

            (await SendFileAsync(technician, agent.DeviceId, sessionId, new string('a', 1025), [1])).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await SendFileAsync(technician, agent.DeviceId, sessionId, "empty.txt", [])).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            using var tooBig = await SendFileAsync(technician, agent.DeviceId, sessionId, "big.iso", new byte[TestMaxFileBytes + 1]);
            tooBig.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
            tooBig.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
            (await agent.NothingOfTypeAsync<RemoteFileFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
            (await technician.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        // Audited with name, size and hash; never the contents.
        var audit = await Host.GetJsonAsync<JsonElement>($"/api/audit?action=remote.file&targetId={agent.DeviceId}");
        audit.GetProperty("total").GetInt32().ShouldBe(6);
        audit.GetRawText().ShouldContain(sha256);
        audit.GetRawText().ShouldContain("70000 bytes");
        (await AuditCountAsync("remote.file.saved", agent.DeviceId)).ShouldBe(1);
    }

    [Fact]
    public async Task Files_AreRefusedInViewSessions_BeforeConsent_AndToAnyoneButTheSessionsTechnician()
    {
        var (school, agent) = await LinuxDeviceAsync(files: true);
        await using var _ = agent;
        (await Host.Client.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(files: true))).StatusCode.ShouldBe(HttpStatusCode.OK);
        var (technician, cookies) = await StaffAsync("itTechnician", school);
        var (colleague, _) = await StaffAsync("itTechnician", school);
        var (teacher, _) = await StaffAsync("teacher", school);
        var (elsewhere, _) = await StaffAsync("itTechnician", await IdAsync("/api/schools", new { name = "Other " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" }));

        // View only: refused with the reason.
        var (viewSession, viewer) = await AcceptedAsync(technician, cookies, agent, RemoteModes.View);
        using (viewer)
        {
            using var refused = await SendFileAsync(technician, agent.DeviceId, viewSession, "notes.txt", [1, 2, 3]);
            refused.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await refused.Content.ReadAsStringAsync()).ShouldContain("only in control sessions");
            (await technician.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        // A control session the student has not answered yet: refused.
        var waiting = await StartAsync(technician, agent.DeviceId, RemoteModes.Control);
        await ExpectStartAsync(agent, waiting);
        using (var early = await SendFileAsync(technician, agent.DeviceId, waiting, "notes.txt", [1, 2, 3]))
        {
            early.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await early.Content.ReadAsStringAsync()).ShouldContain("not accepted");
        }

        // Accepted: a teacher is refused, another school's technician does not find the device, a colleague does not find the session.
        await agent.SendAsync(new RemoteSessionStatusFrame(waiting, RemoteSessionStatuses.Accepted, null));
        await Poll.UntilAsync(async () => (await technician.GetFromJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session")).GetProperty("current").GetProperty("state").GetString() == RemoteSessions.States.Streaming);
        (await SendFileAsync(teacher, agent.DeviceId, waiting, "notes.txt", [1, 2, 3])).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await SendFileAsync(elsewhere, agent.DeviceId, waiting, "notes.txt", [1, 2, 3])).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await SendFileAsync(colleague, agent.DeviceId, waiting, "notes.txt", [1, 2, 3])).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await SendFileAsync(technician, agent.DeviceId, Guid.NewGuid(), "notes.txt", [1, 2, 3])).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await agent.NothingOfTypeAsync<RemoteFileFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();

        // The session's own technician: it goes.
        (await SendFileAsync(technician, agent.DeviceId, waiting, "notes.txt", [1, 2, 3])).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await agent.ExpectAsync<RemoteFileFrame>()).Data.ShouldBe([1, 2, 3]);
        (await technician.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await AuditCountAsync("remote.file", agent.DeviceId)).ShouldBe(1);
    }

    private static Task<HttpResponseMessage> AskFileAsync(HttpClient technician, Guid deviceId, Guid sessionId, string? path) =>
        technician.PostAsJsonAsync($"/api/devices/{deviceId}/remote-session/{sessionId}/device-files", new { path });

    /// <summary>The device's side of a file it was asked for: allowed, then the chunks of <paramref name="content"/> (announced with <paramref name="sha256"/>).</summary>
    private static async Task UploadAsync(TestAgent agent, Guid sessionId, Guid transferId, string name, byte[] content, string? sha256 = null, long? size = null)
    {
        await agent.SendAsync(new RemoteFileRequestStatusFrame(sessionId, transferId, RemoteFileRequestStatuses.Allowed, null));
        sha256 ??= RemoteFileLimits.Sha256Hex(content);
        for (var offset = 0; offset < content.Length; offset += RemoteFileLimits.ChunkBytes)
        {
            await agent.SendAsync(new RemoteFileUploadFrame(sessionId, transferId, name, size ?? content.Length, sha256, offset,
                content[offset..Math.Min(content.Length, offset + RemoteFileLimits.ChunkBytes)]));
        }
    }

    [Fact]
    public async Task DeviceFiles_AreAskedOnlyInAllowedControlSessions_AndOnlyThisDevicesVerifiedFileIsOfferedToItsTechnician()
    {
        var (school, agent) = await LinuxDeviceAsync(files: true);
        await using var _ = agent;
        var (_, other) = await LinuxDeviceAsync(files: true);
        await using var __ = other;
        var (technician, cookies) = await StaffAsync("itTechnician", school);
        var (colleague, _) = await StaffAsync("itTechnician", school);
        var (teacher, _) = await StaffAsync("teacher", school);
        var (elsewhere, _) = await StaffAsync("itTechnician", await IdAsync("/api/schools", new { name = "Other " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" }));
        var file = new byte[70_000];
        Random.Shared.NextBytes(file);
        var sha256 = RemoteFileLimits.Sha256Hex(file);
        (await technician.GetFromJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/remote-session")).GetProperty("deviceFileUnavailableReason").GetString()!
            .ShouldContain("do not allow file transfer");

        // The district's default (no file transfer), then a view session where the school allows it: 409 with the reason, nothing asked of the device.
        var (sessionId, viewer) = await AcceptedAsync(technician, cookies, agent, RemoteModes.Control);
        using (viewer)
        {
            using var off = await AskFileAsync(technician, agent.DeviceId, sessionId, "Documents/essay.docx");
            off.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await off.Content.ReadAsStringAsync()).ShouldContain("do not allow file transfer");
            var told = await NextAsync(viewer, "deviceFile");
            (told.GetProperty("state").GetString(), told.GetProperty("name").GetString()).ShouldBe(("refused", "Documents/essay.docx"));
            (await technician.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        (await Host.Client.PutAsJsonAsync($"/api/schools/{school}/remote-support", Settings(files: true))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (sessionId, viewer) = await AcceptedAsync(technician, cookies, agent, RemoteModes.View);
        using (viewer)
        {
            using var view = await AskFileAsync(technician, agent.DeviceId, sessionId, "Documents/essay.docx");
            view.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await view.Content.ReadAsStringAsync()).ShouldContain("only in control sessions");
            (await technician.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        (await agent.NothingOfTypeAsync<RemoteFileRequestFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
        (sessionId, viewer) = await AcceptedAsync(technician, cookies, agent, RemoteModes.Control);
        using (viewer)
        {
            // Paths that are not plainly inside the home folder are refused at the edge (400), and nothing reaches the device.
            foreach (var bad in new[] { "/etc/shadow", "../other/secret.txt", "Documents/../../x", "~/notes.txt", "bell\u0007.txt", new string('a', RemoteFileLimits.MaxRequestPathLength + 1), "", "Documents/" })
            {
                using var refused = await AskFileAsync(technician, agent.DeviceId, sessionId, bad);
                refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest, bad);
            }

            using (var huge = new StringContent($"{{\"path\":\"{new string('a', 5000)}\"}}", Encoding.UTF8, "application/json"))
            {
                (await technician.PostAsync($"/api/devices/{agent.DeviceId}/remote-session/{sessionId}/device-files", huge)).StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
            }

            // Only the session's own technician: a teacher is refused, another school's technician does not find the device, a colleague not the session.
            (await AskFileAsync(teacher, agent.DeviceId, sessionId, "Documents/essay.docx")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            (await AskFileAsync(elsewhere, agent.DeviceId, sessionId, "Documents/essay.docx")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            (await AskFileAsync(colleague, agent.DeviceId, sessionId, "Documents/essay.docx")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            (await agent.NothingOfTypeAsync<RemoteFileRequestFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();

            using var asked = await AskFileAsync(technician, agent.DeviceId, sessionId, "Documents/essay.docx");
            asked.StatusCode.ShouldBe(HttpStatusCode.Accepted, await asked.Content.ReadAsStringAsync());
            var request = await agent.ExpectAsync<RemoteFileRequestFrame>();
            (request.SessionId, request.Path, request.MaxBytes).ShouldBe((sessionId, "Documents/essay.docx", (long)TestMaxFileBytes));
            (await asked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("transferId").GetGuid().ShouldBe(request.TransferId);
            (await NextAsync(viewer, "deviceFile")).GetProperty("state").GetString().ShouldBe("asked");
            using (var twice = await AskFileAsync(technician, agent.DeviceId, sessionId, "Documents/other.docx"))
            {
                twice.StatusCode.ShouldBe(HttpStatusCode.Conflict);
                (await NextAsync(viewer, "deviceFile")).GetProperty("reason").GetString()!.ShouldContain("another file");
            }

            // Another device cannot answer for this one (handled before its help request is acknowledged).
            var forged = new byte[1000];
            await UploadAsync(other, sessionId, request.TransferId, "essay.docx", forged);
            await other.SendAsync(new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow));
            await other.ExpectAsync<HelpRequestAckFrame>();

            // This device: allowed, then the file in chunks; offered only once whole and its SHA-256 checked.
            await UploadAsync(agent, sessionId, request.TransferId, "essay.docx", file);
            (await NextAsync(viewer, "deviceFile")).GetProperty("state").GetString().ShouldBe("allowed");
            var ready = await NextAsync(viewer, "deviceFile");
            (ready.GetProperty("state").GetString(), ready.GetProperty("name").GetString(), ready.GetProperty("size").GetInt64(), ready.GetProperty("sha256").GetString())
                .ShouldBe(("ready", "essay.docx", 70_000L, sha256));
            var download = $"/api/devices/{agent.DeviceId}/remote-session/{sessionId}/device-files/{request.TransferId}";
            using (var got = await technician.GetAsync(download))
            {
                got.StatusCode.ShouldBe(HttpStatusCode.OK);
                (await got.Content.ReadAsByteArrayAsync()).ShouldBe(file);
                got.Content.Headers.ContentDisposition?.FileNameStar.ShouldBe("essay.docx");
            }

            (await colleague.GetAsync(download)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            (await elsewhere.GetAsync(download)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            (await teacher.GetAsync(download)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

            // A file whose bytes do not match the announced SHA-256 is dropped; asking again drops the file kept before.
            (await AskFileAsync(technician, agent.DeviceId, sessionId, "notes.txt")).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            var corrupt = await agent.ExpectAsync<RemoteFileRequestFrame>();
            (await technician.GetAsync(download)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            await UploadAsync(agent, sessionId, corrupt.TransferId, "notes.txt", [1, 2, 3], sha256);
            var mismatch = await NextAsync(viewer, "deviceFile");
            while (mismatch.GetProperty("state").GetString() is "asked" or "allowed")
            {
                mismatch = await NextAsync(viewer, "deviceFile");
            }

            (mismatch.GetProperty("state").GetString(), mismatch.GetProperty("reason").GetString()).ShouldBe(("refused", "the file's SHA-256 did not match what the device announced; nothing was kept"));
            (await technician.GetAsync($"/api/devices/{agent.DeviceId}/remote-session/{sessionId}/device-files/{corrupt.TransferId}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

            // Over the server's limit: dropped at the first chunk. Denied by the student: the console hears why.
            (await AskFileAsync(technician, agent.DeviceId, sessionId, "video.mp4")).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            var large = await agent.ExpectAsync<RemoteFileRequestFrame>();
            await agent.SendAsync(new RemoteFileUploadFrame(sessionId, large.TransferId, "video.mp4", TestMaxFileBytes + 1, sha256, 0, [1, 2, 3]));
            var tooLarge = await NextAsync(viewer, "deviceFile");
            while (tooLarge.GetProperty("state").GetString() == "asked")
            {
                tooLarge = await NextAsync(viewer, "deviceFile");
            }

            tooLarge.GetProperty("reason").GetString()!.ShouldContain("larger than");
            (await AskFileAsync(technician, agent.DeviceId, sessionId, "diary.txt")).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            var denied = await agent.ExpectAsync<RemoteFileRequestFrame>();
            await agent.SendAsync(new RemoteFileRequestStatusFrame(sessionId, denied.TransferId, RemoteFileRequestStatuses.Denied, "the student denied it"));
            var no = await NextAsync(viewer, "deviceFile");
            while (no.GetProperty("state").GetString() == "asked")
            {
                no = await NextAsync(viewer, "deviceFile");
            }

            (no.GetProperty("state").GetString(), no.GetProperty("reason").GetString()).ShouldBe(("denied", "the student denied it"));

            // A file kept for download goes with the session.
            (await AskFileAsync(technician, agent.DeviceId, sessionId, "log.txt")).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            var last = await agent.ExpectAsync<RemoteFileRequestFrame>();
            await UploadAsync(agent, sessionId, last.TransferId, "log.txt", [7, 8, 9]);
            var kept = await NextAsync(viewer, "deviceFile");
            while (kept.GetProperty("state").GetString() != "ready")
            {
                kept = await NextAsync(viewer, "deviceFile");
            }

            var lastDownload = $"/api/devices/{agent.DeviceId}/remote-session/{sessionId}/device-files/{last.TransferId}";
            (await technician.GetAsync(lastDownload)).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await technician.DeleteAsync($"/api/devices/{agent.DeviceId}/remote-session")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
            (await technician.GetAsync(lastDownload)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        }

        // Audited with the path, and the received file with name, size and hash; never the contents.
        (await AuditCountAsync("remote.file.request", agent.DeviceId)).ShouldBe(5);
        var received = await Host.GetJsonAsync<JsonElement>($"/api/audit?action=remote.file.received&targetId={agent.DeviceId}");
        received.GetProperty("total").GetInt32().ShouldBe(2);
        received.GetRawText().ShouldContain(sha256);
        received.GetRawText().ShouldContain("70000 bytes");
        (await AuditCountAsync("remote.file.download", agent.DeviceId)).ShouldBe(2);
        (await AuditCountAsync("remote.file.request.refused", agent.DeviceId)).ShouldBe(3);
    }
}

public sealed class RemoteSessionSqliteTests(RemoteSupportSqliteHost shared) : RemoteSessionTests(shared), IClassFixture<RemoteSupportSqliteHost>;

public sealed class RemoteSessionPostgresTests(RemoteSupportPostgresHost shared) : RemoteSessionTests(shared), IClassFixture<RemoteSupportPostgresHost>;
