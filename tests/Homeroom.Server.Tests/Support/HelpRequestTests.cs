using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Support;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Support;

/// <summary>
/// Students' help requests end to end: a real server, a real agent over a loopback WebSocket, staff
/// through the API. In class the request goes to the class's teacher, who may send it on to IT; out of
/// class it goes straight to the school's IT queue; bad frames close the connection and store nothing.
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
