using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Classroom;

/// <summary>A teacher watches their class's screens only during class; devices are told and send thumbnails only then.</summary>
public sealed class ScreenViewTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<HttpClient> TeacherAsync(string name, Guid classId)
    {
        var person = await _host.PostJsonAsync<JsonElement>("/api/people", new { kind = "staff", givenName = name, familyName = "Teacher" });
        (await _host.PostJsonAsync($"/api/groups/{classId}/members", new { personIds = new[] { person.GetProperty("id").GetGuid() } })).EnsureSuccessStatusCode();
        return await _host.SignInAsNewAccountAsync(name.ToLowerInvariant(), "teacher", person.GetProperty("id").GetGuid(), $"Ms. {name}");
    }

    [Fact]
    public async Task Teacher_WatchesOwnClassDuringASession_AndTheViewEndsWithIt()
    {
        _host.Clock.MoveToSchoolDayMorning();
        var science = (await _host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Science", kind = "class" })).GetProperty("id").GetGuid();
        var art = (await _host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Art", kind = "class" })).GetProperty("id").GetGuid();
        await using var student = await _host.ConnectNewAgentAsync();
        (await _host.PostJsonAsync($"/api/groups/{science}/members", new { deviceIds = new[] { student.DeviceId } })).EnsureSuccessStatusCode();
        using var rivera = await TeacherAsync("Rivera", science);
        using var chen = await TeacherAsync("Chen", art);

        // Not in session: refused with the reason, and the device hears nothing.
        using (var early = await rivera.PostAsync($"/api/groups/{science}/screen-view", null))
        {
            early.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            (await early.Content.ReadAsStringAsync()).ShouldContain("no schedule");
        }

        (await student.NothingOfTypeAsync<ScreenViewFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();

        (await rivera.PostAsJsonAsync($"/api/groups/{science}/session", new { minutes = 1 })).EnsureSuccessStatusCode();
        (await rivera.PostAsync($"/api/groups/{science}/screen-view", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var view = await student.ExpectAsync<ScreenViewFrame>();
        view.Active.ShouldBeTrue();
        view.ViewerName.ShouldBe("Ms. Rivera");

        var image = new byte[] { 0x89, 0x50, 0x4E, 0x47, 1, 2, 3, 4, 5 };
        await student.SendRawAsync(ThumbnailFrame.Encode(ThumbnailFormat.Png, DateTimeOffset.UtcNow, image), WebSocketMessageType.Binary);
        await Poll.UntilAsync(async () => (await rivera.GetAsync($"/api/groups/{science}/screens/{student.DeviceId}")).StatusCode == HttpStatusCode.OK);
        using (var shown = await rivera.GetAsync($"/api/groups/{science}/screens/{student.DeviceId}"))
        {
            shown.Content.Headers.ContentType!.MediaType.ShouldBe("image/png");
            (await shown.Content.ReadAsByteArrayAsync()).ShouldBe(image);
        }

        // Another class's teacher sees nothing of it: for them the class does not exist.
        (await chen.GetAsync($"/api/groups/{science}/screens/{student.DeviceId}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await chen.PostAsync($"/api/groups/{science}/screen-view", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        // The session ends: the device is told to stop, and the image is gone.
        _host.Clock.Advance(TimeSpan.FromMinutes(2));
        var stop = await student.ExpectAsync<ScreenViewFrame>();
        stop.Active.ShouldBeFalse();
        (await rivera.GetAsync($"/api/groups/{science}/screens/{student.DeviceId}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await _host.GetJsonAsync<JsonElement>("/api/audit?action=class.screen-view.start")).GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task WelcomeCatchUp_ThatRunsAfterTheViewStarted_DoesNotTellTheDeviceTwice_ButANewConnectionIsTold()
    {
        _host.Clock.MoveToSchoolDayMorning();
        var science = (await _host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Science", kind = "class" })).GetProperty("id").GetGuid();
        await using var student = await _host.ConnectNewAgentAsync();
        (await _host.PostJsonAsync($"/api/groups/{science}/members", new { deviceIds = new[] { student.DeviceId } })).EnsureSuccessStatusCode();
        using var rivera = await TeacherAsync("Rivera", science);
        (await rivera.PostAsJsonAsync($"/api/groups/{science}/session", new { minutes = 30 })).EnsureSuccessStatusCode();
        (await rivera.PostAsync($"/api/groups/{science}/screen-view", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await student.ExpectAsync<ScreenViewFrame>()).Active.ShouldBeTrue();

        // The welcome's catch-up of this connection runs late, after the start reached it (a busy server): nothing more.
        var views = _host.GetService<Homeroom.Server.Classroom.ScreenViews>();
        var connection = _host.GetService<Homeroom.Server.Agents.ConnectionRegistry>().Get(student.DeviceId).ShouldNotBeNull();
        await views.OnConnectedAsync(connection);
        (await student.NothingOfTypeAsync<ScreenViewFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue("the start already reached this connection");

        // The stop is the next thing the device hears, not a repeated start.
        (await rivera.DeleteAsync($"/api/groups/{science}/screen-view")).EnsureSuccessStatusCode();
        (await student.ExpectAsync<ScreenViewFrame>()).Active.ShouldBeFalse();

        // A device that connects again while watched is told by the catch-up, once.
        (await rivera.PostAsync($"/api/groups/{science}/screen-view", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await student.ExpectAsync<ScreenViewFrame>()).Active.ShouldBeTrue();
        await using var again = await TestAgent.ConnectAsync(_host.AgentUri, student.DeviceId, student.Credential);
        await again.ExpectWelcomeAsync();
        var told = await again.ExpectAsync<ScreenViewFrame>();
        told.Active.ShouldBeTrue();
        told.ViewerName.ShouldBe("Ms. Rivera");
        (await again.NothingOfTypeAsync<ScreenViewFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
    }
}
