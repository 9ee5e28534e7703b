using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Diagnostics;
using Homeroom.Server.Support;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Support;

/// <summary>
/// Students' help requests end to end: a real server, a real agent over a loopback WebSocket, staff
/// through the API. In class the request goes to the class's teacher, who may send it on to IT; out of
/// class it goes straight to the school's IT queue; bad frames close the connection and store nothing. A request
/// reaching the IT queue asks its device for diagnostics, which the IT queue (never the teacher) sees beside it.
/// </summary>
public abstract class HelpRequestTests(DatabaseProvider provider) : IAsyncLifetime
{
    private HomeroomHost Host { get; set; } = null!;

    private Guid _school, _class, _otherClass, _teacher, _otherTeacher, _student;

    public async Task InitializeAsync()
    {
        Host = await HomeroomHost.StartAsync(provider);

        // Wednesday 10:00 UTC: the class (Monday to Friday, 08:00 to 15:00 in a UTC school) is in session.
        var now = Host.Clock.GetUtcNow();
        var wednesday = now.Date.AddDays(((int)DayOfWeek.Wednesday - (int)now.DayOfWeek + 7) % 7 + 7).AddHours(10);
        Host.Clock.Advance(new DateTimeOffset(wednesday, TimeSpan.Zero) - now);

        _school = await IdAsync("/api/schools", new { name = "Help Middle", timeZone = "UTC" });
        _class = await IdAsync("/api/groups", new { name = "6B science", kind = "class", schoolId = _school });
        _otherClass = await IdAsync("/api/groups", new { name = "7C maths", kind = "class", schoolId = _school });
        _teacher = await IdAsync("/api/people", new { kind = "staff", givenName = "Tess", familyName = "Teacher", schoolId = _school });
        _otherTeacher = await IdAsync("/api/people", new { kind = "staff", givenName = "Otto", familyName = "Other", schoolId = _school });
        _student = await IdAsync("/api/people", new { kind = "student", givenName = "Sam", familyName = "Student", schoolId = _school, gradeLevel = 6 });
        (await Host.PostJsonAsync($"/api/groups/{_class}/members", new { personIds = new[] { _teacher, _student } })).EnsureSuccessStatusCode();
        (await Host.PostJsonAsync($"/api/groups/{_otherClass}/members", new { personIds = new[] { _otherTeacher } })).EnsureSuccessStatusCode();
        var today = Host.Clock.GetUtcNow().UtcDateTime.Date;
        var schedule = new
        {
            termStart = today.AddDays(-30).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            termEnd = today.AddDays(60).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            meetings = new[] { new { days = new[] { "monday", "tuesday", "wednesday", "thursday", "friday" }, start = "08:00", end = "15:00" } },
        };
        foreach (var id in new[] { _class, _otherClass })
        {
            (await Host.Client.PutAsJsonAsync($"/api/groups/{id}/schedule", schedule)).EnsureSuccessStatusCode();
        }
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task<TestAgent> AgentAsync(Guid? student)
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: _school), "SN-" + Guid.NewGuid().ToString("N")[..10]);
        if (student is { } person)
        {
            (await Host.Client.PatchAsJsonAsync($"/api/devices/{enrolled.DeviceId}", new { assignedPersonId = person })).EnsureSuccessStatusCode();
        }

        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        return agent;
    }

    /// <summary>A small well-formed JPEG-shaped image: start-of-image, a frame marker, filler, end-of-image.</summary>
    private static byte[] Jpeg(int length = 600)
    {
        var image = new byte[length];
        for (var i = 0; i < length; i++)
        {
            image[i] = (byte)(i * 37);
        }

        image[0] = 0xFF; image[1] = 0xD8; image[2] = 0xFF; image[3] = 0xE0;
        image[^2] = 0xFF; image[^1] = 0xD9;
        return image;
    }

    private static async Task<HelpRequestAckFrame> AskAsync(TestAgent agent, HelpRequestFrame frame)
    {
        await agent.SendAsync(frame);
        var ack = await agent.ExpectAsync<HelpRequestAckFrame>();
        ack.RequestId.ShouldBe(frame.RequestId);
        return ack;
    }

    private async Task<List<HelpRequest>> StoredAsync()
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.Set<HelpRequest>().AsNoTracking().ToListAsync();
    }

    [Fact]
    public async Task InClass_GoesToTheTeacher_WhoEscalatesToIt_WhereATechnicianTakesAndResolvesIt()
    {
        await using var agent = await AgentAsync(_student);
        var image = Jpeg();
        var frame = new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, "My document will not open", image);
        (await AskAsync(agent, frame)).Status.ShouldBe(HelpStatuses.WithTeacher);
        var id = (await StoredAsync()).ShouldHaveSingleItem().Id;

        using var teacher = await Host.SignInAsNewAccountAsync("tess", "teacher", personId: _teacher, schoolId: _school);
        var list = await teacher.GetFromJsonAsync<JsonElement>($"/api/support/classes/{_class}");
        list.GetProperty("inSession").GetBoolean().ShouldBeTrue();
        var tile = list.GetProperty("requests").EnumerateArray().ShouldHaveSingleItem();
        tile.GetProperty("note").GetString().ShouldBe("My document will not open");
        tile.GetProperty("studentName").GetString().ShouldBe("Sam Student");

        // Another class's teacher, a school admin of another school and a signed-out caller reach nothing.
        using var other = await Host.SignInAsNewAccountAsync("otto", "teacher", personId: _otherTeacher, schoolId: _school);
        (await other.GetAsync($"/api/support/requests/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await other.PostAsync($"/api/support/requests/{id}/resolve", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await other.GetAsync($"/api/support/classes/{_class}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var elsewhere = await IdAsync("/api/schools", new { name = "Elsewhere High", timeZone = "UTC" });
        using var foreignAdmin = await Host.SignInAsNewAccountAsync("far-admin", "schoolAdmin", schoolId: elsewhere);
        (await foreignAdmin.GetAsync($"/api/support/requests/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await foreignAdmin.GetFromJsonAsync<JsonElement>("/api/support/requests")).GetArrayLength().ShouldBe(0);
        using var anonymous = Host.CreateClient();
        (await anonymous.GetAsync($"/api/support/requests/{id}")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        using var safetyLead = await Host.SignInAsNewAccountAsync("lead", "safetyLead", schoolId: _school);
        (await safetyLead.GetAsync("/api/support/requests")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        // The teacher sends it on; the device hears at once.
        (await teacher.PostAsync($"/api/support/requests/{id}/escalate", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var escalated = await agent.ExpectAsync<HelpStatusFrame>();
        (escalated.RequestId, escalated.Status, escalated.Taken).ShouldBe((frame.RequestId, HelpStatuses.Escalated, false));

        using var technician = await Host.SignInAsNewAccountAsync("tech", "itTechnician", displayName: "Ivy Tech", schoolId: _school);
        var queue = await technician.GetFromJsonAsync<JsonElement>("/api/support/requests?status=escalated");
        queue.EnumerateArray().ShouldHaveSingleItem().GetProperty("id").GetGuid().ShouldBe(id);
        (await technician.PostAsync($"/api/support/requests/{id}/assign", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await agent.ExpectAsync<HelpStatusFrame>()).Taken.ShouldBeTrue();
        (await technician.PostAsJsonAsync($"/api/support/requests/{id}/notes", new { text = "Cleared the cache remotely" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await technician.PostAsJsonAsync($"/api/support/requests/{id}/notes", new { text = new string('x', HelpRequests.MaxNoteLength + 1) })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        var shot = await technician.GetAsync($"/api/support/requests/{id}/screenshot");
        shot.StatusCode.ShouldBe(HttpStatusCode.OK);
        shot.Content.Headers.ContentType!.MediaType.ShouldBe("image/jpeg");
        (await shot.Content.ReadAsByteArrayAsync()).ShouldBe(image);

        (await technician.PostAsync($"/api/support/requests/{id}/resolve", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await agent.ExpectAsync<HelpStatusFrame>()).Status.ShouldBe(HelpStatuses.Resolved);
        (await technician.PostAsync($"/api/support/requests/{id}/escalate", null)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        var detail = await technician.GetFromJsonAsync<JsonElement>($"/api/support/requests/{id}");
        detail.GetProperty("request").GetProperty("status").GetString().ShouldBe(HelpStatuses.Resolved);
        detail.GetProperty("request").GetProperty("assignedToName").GetString().ShouldBe("Ivy Tech");
        detail.GetProperty("thread").EnumerateArray().Select(e => e.GetProperty("kind").GetString())
            .ShouldBe(new[] { "created", "escalated", "assigned", "note", "resolved" });

        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var audited = await db.AuditLog.Where(e => e.Action.StartsWith("support.")).Select(e => e.Action).ToListAsync();
        audited.ShouldBe(new[] { "support.request.escalated", "support.request.assigned", "support.request.note", "support.screenshot.read", "support.request.resolved" }, ignoreOrder: true);
    }

    /// <summary>The diagnose commands that reached the agent; those sent while it handled a frame arrive before its answer.</summary>
    private static List<CommandFrame> Diagnoses(TestAgent agent)
    {
        lock (agent.Received)
        {
            return agent.Received.Where(c => c.Kind == CommandKinds.Diagnose).ToList();
        }
    }

    private async Task<List<(string IssuedBy, Guid Id)>> DiagnoseCommandsAsync()
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return (await db.Commands.AsNoTracking().Where(c => c.Kind == CommandKinds.Diagnose).OrderBy(c => c.IssuedAt)
            .Select(c => new { c.IssuedBy, c.Id }).ToListAsync()).Select(c => (c.IssuedBy, c.Id)).ToList();
    }

    private async Task<int> ReportsAsync(Guid deviceId)
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.Set<DeviceDiagnosticsRecord>().CountAsync(r => r.DeviceId == deviceId);
    }

    /// <summary>A desktop agent's report: half the disk free, memory fine, a worn battery (64 % health: one failed check), the server reached.</summary>
    private static DiagnosticsReport Report() => new(
        DateTimeOffset.UtcNow, "Debian GNU/Linux", "12", "Linux 6.1.0", "homeroom-agent/1.4.2", 7_380,
        [new DiskReport("/", "ext4", 64L << 30, 32L << 30)],
        new MemoryReport(8L << 30, 5L << 30),
        [new BatteryReport("BAT0", 81, "Discharging", 64, 512)],
        null,
        [new ConnectivityCheck(ConnectivityTargets.Homeroom, "http://127.0.0.1:5080/healthz", true, 4, 200, null)],
        ["2026-12-05T10:00:00Z info AgentWorker: started"]);

    [Fact]
    public async Task Escalated_AsksTheDeviceForDiagnostics_TheTechnicianSeesTheReportBesideTheRequest_TheTeacherNever()
    {
        await using var agent = await AgentAsync(_student);
        (await AskAsync(agent, new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, "The screen flickers"))).Status.ShouldBe(HelpStatuses.WithTeacher);
        Diagnoses(agent).ShouldBeEmpty(); // with the teacher, no diagnostics yet (decided before the answer)
        var id = (await StoredAsync()).ShouldHaveSingleItem().Id;

        using var teacher = await Host.SignInAsNewAccountAsync("tess", "teacher", personId: _teacher, schoolId: _school);
        using var technician = await Host.SignInAsNewAccountAsync("tech", "itTechnician", schoolId: _school);
        var before = (await technician.GetFromJsonAsync<JsonElement>($"/api/support/requests/{id}")).GetProperty("diagnostics");
        before.GetProperty("latest").ValueKind.ShouldBe(JsonValueKind.Null);
        before.GetProperty("pending").ValueKind.ShouldBe(JsonValueKind.Null);

        (await teacher.PostAsync($"/api/support/requests/{id}/escalate", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var command = await agent.ExpectAsync<CommandFrame>();
        command.Kind.ShouldBe(CommandKinds.Diagnose);
        (await agent.ExpectAsync<HelpStatusFrame>()).Status.ShouldBe(HelpStatuses.Escalated);

        // Asked by the server itself, not by the teacher, and audited so.
        (await DiagnoseCommandsAsync()).ShouldHaveSingleItem().ShouldBe(("system", command.CommandId));
        await using (var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            var issued = await db.AuditLog.Where(a => a.Action == "command.issue").ToListAsync();
            issued.ShouldHaveSingleItem().ActorName.ShouldBe("system");
            issued[0].SchoolId.ShouldBe(_school);
            issued[0].Details!.ShouldContain(CommandKinds.Diagnose);
        }

        var waiting = (await technician.GetFromJsonAsync<JsonElement>($"/api/support/requests/{id}")).GetProperty("diagnostics");
        waiting.GetProperty("newerOnItsWay").GetBoolean().ShouldBeTrue();
        waiting.GetProperty("pending").GetProperty("commandId").GetGuid().ShouldBe(command.CommandId);
        waiting.GetProperty("pending").GetProperty("requestedBy").GetString().ShouldBe("system");

        await agent.SendAsync(new DiagnosticsFrame(command.CommandId, Report()));
        await agent.SendAsync(new CommandStatusFrame(command.CommandId, CommandStatusValues.Succeeded, Result: "report sent"));
        JsonElement diagnostics = default;
        await Poll.UntilAsync(async () =>
        {
            diagnostics = (await technician.GetFromJsonAsync<JsonElement>($"/api/support/requests/{id}")).GetProperty("diagnostics");
            return diagnostics.GetProperty("latest").ValueKind == JsonValueKind.Object;
        }, HomeroomHost.Timeout);
        diagnostics.GetProperty("newerOnItsWay").GetBoolean().ShouldBeFalse();
        var latest = diagnostics.GetProperty("latest");
        latest.GetProperty("commandId").GetGuid().ShouldBe(command.CommandId);
        (latest.GetProperty("osName").GetString(), latest.GetProperty("osVersion").GetString(), latest.GetProperty("agentVersion").GetString())
            .ShouldBe(("Debian GNU/Linux", "12", "homeroom-agent/1.4.2"));
        latest.GetProperty("uptimeSeconds").GetInt64().ShouldBe(7_380);
        latest.GetProperty("storage").EnumerateArray().ShouldHaveSingleItem().GetProperty("freeBytes").GetInt64().ShouldBe(32L << 30);
        latest.GetProperty("memory").GetProperty("availableBytes").GetInt64().ShouldBe(5L << 30);
        latest.GetProperty("batteries").EnumerateArray().ShouldHaveSingleItem().GetProperty("healthPercent").GetInt32().ShouldBe(64);
        latest.GetProperty("connectivity").EnumerateArray().ShouldHaveSingleItem().GetProperty("ok").GetBoolean().ShouldBeTrue();
        latest.GetProperty("failedChecks").GetInt32().ShouldBe(1);
        latest.GetProperty("problems").EnumerateArray().ShouldHaveSingleItem().GetProperty("text").GetString()!.ShouldContain("BAT0");
        latest.TryGetProperty("logLines", out _).ShouldBeFalse(); // the summary; the log is on the device's page

        // The class's teacher reaches the request during class, never its diagnostics.
        var seen = await teacher.GetFromJsonAsync<JsonElement>($"/api/support/requests/{id}");
        seen.GetProperty("request").GetProperty("status").GetString().ShouldBe(HelpStatuses.Escalated);
        seen.GetProperty("diagnostics").ValueKind.ShouldBe(JsonValueKind.Null);
        using var admin = await Host.SignInAsNewAccountAsync("sadmin", "schoolAdmin", schoolId: _school);
        (await admin.GetFromJsonAsync<JsonElement>($"/api/support/requests/{id}")).GetProperty("diagnostics").GetProperty("latest")
            .GetProperty("id").GetGuid().ShouldBe(latest.GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task ItQueue_AsksTheDeviceOnce_NotAgainWhileUnderWayOrWithinFifteenMinutesOfItsReport()
    {
        Host.Clock.Advance(TimeSpan.FromHours(9)); // Wednesday 19:00: no class in session.
        await using var agent = await AgentAsync(_student);
        (await AskAsync(agent, new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, "Wi-Fi drops"))).Status.ShouldBe(HelpStatuses.ItQueue);
        var command = Diagnoses(agent).ShouldHaveSingleItem();

        // A second request while the first's diagnose is still under way asks nothing more.
        (await AskAsync(agent, new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, "still dropping"))).Status.ShouldBe(HelpStatuses.ItQueue);
        Diagnoses(agent).Count.ShouldBe(1);

        await agent.SendAsync(new DiagnosticsFrame(command.CommandId, Report()));
        await agent.SendAsync(new CommandStatusFrame(command.CommandId, CommandStatusValues.Succeeded, Result: "report sent"));
        await Poll.UntilAsync(async () => await ReportsAsync(agent.DeviceId) == 1, HomeroomHost.Timeout);

        // Within 15 minutes of the report: nothing more.
        Host.Clock.Advance(TimeSpan.FromMinutes(14));
        (await AskAsync(agent, new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, "and again"))).Status.ShouldBe(HelpStatuses.ItQueue);
        Diagnoses(agent).Count.ShouldBe(1);
        (await DiagnoseCommandsAsync()).Count.ShouldBe(1);

        // Past them, the next request asks for a fresh report.
        Host.Clock.Advance(TimeSpan.FromMinutes(2));
        (await AskAsync(agent, new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, "a fourth time"))).Status.ShouldBe(HelpStatuses.ItQueue);
        Diagnoses(agent).Count.ShouldBe(2);
        (await DiagnoseCommandsAsync()).Select(c => c.IssuedBy).ShouldBe(["system", "system"]);
    }

    [Fact]
    public async Task Escalated_WhileTheDeviceIsOffline_ItGetsTheDiagnoseCommandWhenItComesBack()
    {
        var agent = await AgentAsync(_student);
        (await AskAsync(agent, new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, "help"))).Status.ShouldBe(HelpStatuses.WithTeacher);
        var id = (await StoredAsync()).ShouldHaveSingleItem().Id;
        var (deviceId, credential) = (agent.DeviceId, agent.Credential);
        await agent.DisposeAsync();
        var connections = Host.GetService<ConnectionRegistry>();
        await Poll.UntilAsync(() => Task.FromResult(connections.Get(deviceId) is null), HomeroomHost.Timeout);

        using var teacher = await Host.SignInAsNewAccountAsync("tess", "teacher", personId: _teacher, schoolId: _school);
        (await teacher.PostAsync($"/api/support/requests/{id}/escalate", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var issued = (await DiagnoseCommandsAsync()).ShouldHaveSingleItem();

        await using var back = await TestAgent.ConnectAsync(Host.AgentUri, deviceId, credential);
        await back.ExpectWelcomeAsync();
        (await back.ExpectAsync<CommandFrame>()).CommandId.ShouldBe(issued.Id);
    }

    [Fact]
    public async Task OutOfClass_GoesStraightToTheItQueue_AndTheTeacherSeesNothing()
    {
        Host.Clock.Advance(TimeSpan.FromHours(9)); // Wednesday 19:00: no class in session.
        await using var agent = await AgentAsync(_student);
        (await AskAsync(agent, new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, "Wi-Fi at home"))).Status.ShouldBe(HelpStatuses.ItQueue);
        var stored = (await StoredAsync()).ShouldHaveSingleItem();
        stored.GroupId.ShouldBeNull();
        stored.SchoolId.ShouldBe(_school);
        stored.HasScreenshot.ShouldBeFalse();

        using var teacher = await Host.SignInAsNewAccountAsync("tess", "teacher", personId: _teacher, schoolId: _school);
        var list = await teacher.GetFromJsonAsync<JsonElement>($"/api/support/classes/{_class}");
        list.GetProperty("inSession").GetBoolean().ShouldBeFalse();
        list.GetProperty("requests").GetArrayLength().ShouldBe(0);
        (await teacher.GetAsync($"/api/support/requests/{stored.Id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        using var admin = await Host.SignInAsNewAccountAsync("sadmin", "schoolAdmin", schoolId: _school);
        (await admin.GetFromJsonAsync<JsonElement>("/api/support/requests?status=itQueue")).EnumerateArray().ShouldHaveSingleItem()
            .GetProperty("id").GetGuid().ShouldBe(stored.Id);
        (await admin.GetAsync("/api/support/requests?status=nonsense")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task BadFrames_CloseTheConnection_AndStoreNothing()
    {
        var png = Jpeg();
        png[0] = 0x89; png[1] = 0x50; // a PNG signature, not a JPEG
        var cases = new (AgentFrame Frame, int Code)[]
        {
            (new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, new string('a', HelpRequestLimits.MaxNoteLength + 1)), AgentCloseCodes.MalformedFrame),
            (new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, null, Jpeg(HelpRequestLimits.MaxScreenshotBytes + 1)), AgentCloseCodes.MalformedFrame),
            (new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, null, png), AgentCloseCodes.MalformedFrame),
            (new HelpRequestFrame(Guid.Empty, DateTimeOffset.UtcNow, "no id"), AgentCloseCodes.MalformedFrame),
            (new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, null, Jpeg(60_000)), AgentCloseCodes.FrameTooLarge),
        };
        foreach (var (frame, code) in cases)
        {
            await using var agent = await AgentAsync(_student);
            await agent.SendAsync(frame);
            (await agent.WaitForCloseAsync()).Code.ShouldBe(code);
        }

        // Not base64 where the screenshot should be.
        await using (var agent = await AgentAsync(_student))
        {
            await agent.SendRawAsync(System.Text.Encoding.UTF8.GetBytes($$"""{"type":"helpRequest","requestId":"{{Guid.NewGuid()}}","createdAt":"2026-09-02T10:00:00+00:00","screenshot":"not*base64"}"""));
            (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.MalformedFrame);
        }

        (await StoredAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task Flood_ResendsAreStoredOnce_AndOverFiveOpenAreRefused_PerDevice()
    {
        await using var agent = await AgentAsync(_student);
        var first = new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, "help");
        (await AskAsync(agent, first)).Status.ShouldBe(HelpStatuses.WithTeacher);
        (await AskAsync(agent, first)).Status.ShouldBe(HelpStatuses.WithTeacher); // a resend after a lost ack
        for (var i = 0; i < 4; i++)
        {
            (await AskAsync(agent, new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, $"again {i}"))).Refused.ShouldBeNull();
        }

        var refused = await AskAsync(agent, new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, "sixth"));
        refused.Status.ShouldBeNull();
        refused.Refused.ShouldBe(HelpRefusals.TooManyOpen);
        (await StoredAsync()).Count.ShouldBe(5);

        // Another device (even one reusing the first's request id) asks for itself only, with its own limit.
        await using var other = await AgentAsync(null);
        (await AskAsync(other, first)).Status.ShouldBe(HelpStatuses.ItQueue);
        var stored = await StoredAsync();
        stored.Count.ShouldBe(6);
        stored.Count(r => r.DeviceId == other.DeviceId).ShouldBe(1);
        stored.Single(r => r.DeviceId == other.DeviceId).PersonId.ShouldBeNull();

        // Once one is resolved the student may ask again.
        using var technician = await Host.SignInAsNewAccountAsync("tech", "itTechnician", schoolId: _school);
        var open = stored.First(r => r.DeviceId == agent.DeviceId);
        (await technician.PostAsync($"/api/support/requests/{open.Id}/resolve", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await AskAsync(agent, new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, "sixth, later"))).Refused.ShouldBeNull();
    }

    [Fact]
    public async Task Retention_PurgesResolvedRequestsAndOldScreenshots_KeepsOpenOnes()
    {
        await using var agent = await AgentAsync(_student);
        var resolved = new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, "resolved one", Jpeg());
        var open = new HelpRequestFrame(Guid.NewGuid(), DateTimeOffset.UtcNow, "open one", Jpeg());
        await AskAsync(agent, resolved);
        await AskAsync(agent, open);
        var rows = await StoredAsync();
        using var technician = await Host.SignInAsNewAccountAsync("tech", "itTechnician", schoolId: _school);
        var resolvedId = rows.Single(r => r.ClientId == resolved.RequestId).Id;
        var openId = rows.Single(r => r.ClientId == open.RequestId).Id;
        (await technician.PostAsync($"/api/support/requests/{resolvedId}/resolve", null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var retention = Host.GetService<SupportRetention>();
        Host.Clock.Advance(TimeSpan.FromDays(13));
        await retention.PurgeAsync(CancellationToken.None);
        (await StoredAsync()).Count.ShouldBe(2);

        Host.Clock.Advance(TimeSpan.FromDays(2)); // 15 days: screenshots (14 days) go, requests stay.
        await retention.PurgeAsync(CancellationToken.None);
        rows = await StoredAsync();
        rows.Count.ShouldBe(2);
        rows.ShouldAllBe(r => !r.HasScreenshot);
        using (var later = await Host.SignInAsNewAccountAsync("tech-later", "itTechnician", schoolId: _school))
        {
            // A fortnight on, the first session has expired: a new one.
            (await later.GetAsync($"/api/support/requests/{openId}/screenshot")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        }

        Host.Clock.Advance(TimeSpan.FromDays(16)); // 31 days after it was resolved.
        await retention.PurgeAsync(CancellationToken.None);
        (await StoredAsync()).ShouldHaveSingleItem().Id.ShouldBe(openId);
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        (await db.Set<HelpRequestEvent>().CountAsync(e => e.RequestId == resolvedId)).ShouldBe(0);
        (await db.Set<HelpScreenshot>().CountAsync()).ShouldBe(0);
    }
}

public sealed class HelpRequestSqliteTests() : HelpRequestTests(DatabaseProvider.Sqlite);

public sealed class HelpRequestPostgresTests() : HelpRequestTests(DatabaseProvider.Postgres);
