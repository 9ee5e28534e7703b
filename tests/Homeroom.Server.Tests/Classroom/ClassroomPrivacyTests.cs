using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Classroom;

/// <summary>
/// What a teacher sees of a class is limited to the class and its time: a student's current page shows
/// only while the class is in session, and the teacher's own laptop is never one of the class's devices.
/// </summary>
public sealed class ClassroomPrivacyTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<Guid> IdAsync(string path, object body) => (await _host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task<(Guid Class, Guid Teacher, Guid Student)> ClassInSessionOnWeekdaysAsync()
    {
        var today = _host.Clock.GetUtcNow().UtcDateTime.Date;
        var school = await IdAsync("/api/schools", new { name = "Riverside", timeZone = "UTC" });
        var science = await IdAsync("/api/groups", new { name = "Science", kind = "class", schoolId = school });
        var teacher = await IdAsync("/api/people", new { kind = "staff", givenName = "Ana", familyName = "Rivera", schoolId = school });
        var student = await IdAsync("/api/people", new { kind = "student", givenName = "Sam", familyName = "Student", schoolId = school });
        (await _host.PostJsonAsync($"/api/groups/{science}/members", new { personIds = new[] { teacher, student } })).EnsureSuccessStatusCode();
        (await _host.Client.PutAsJsonAsync($"/api/groups/{science}/schedule", new
        {
            termStart = today.AddDays(-7).ToString("yyyy-MM-dd"),
            termEnd = today.AddDays(30).ToString("yyyy-MM-dd"),
            meetings = new[] { new { days = new[] { "monday", "tuesday", "wednesday", "thursday", "friday" }, start = "09:00", end = "11:00" } },
        })).EnsureSuccessStatusCode();
        return (science, teacher, student);
    }

    private async Task<TestAgent> DeviceOfAsync(Guid person)
    {
        var agent = await _host.ConnectNewAgentAsync();
        (await _host.Client.PatchAsJsonAsync($"/api/devices/{agent.DeviceId}", new { assignedPersonId = person })).EnsureSuccessStatusCode();
        return agent;
    }

    [Fact]
    public async Task StudentsCurrentPage_ShowsOnlyDuringClass()
    {
        _host.Clock.MoveToSchoolDayMorning();
        var (science, teacher, student) = await ClassInSessionOnWeekdaysAsync();
        await using var device = await DeviceOfAsync(student);
        using var rivera = await _host.SignInAsNewAccountAsync("rivera", "teacher", teacher);
        await device.SendAsync(new ActivityFrame([new ActivityEvent(1, DateTimeOffset.UtcNow, ActivityKinds.WebVisit, "https://www.roblox.com/games", "Roblox")]));
        await device.ExpectAsync<ActivityAckFrame>();

        var during = await rivera.GetFromJsonAsync<JsonElement>($"/api/groups/{science}/classroom");
        during.GetProperty("inSession").GetBoolean().ShouldBeTrue();
        during.GetProperty("tiles")[0].GetProperty("currentUrl").GetString().ShouldBe("https://www.roblox.com/games");

        // After class (the same afternoon): who is in the class and whether they are online, nothing of what they do.
        _host.Clock.Advance(TimeSpan.FromHours(3));
        var after = await rivera.GetFromJsonAsync<JsonElement>($"/api/groups/{science}/classroom");
        after.GetProperty("inSession").GetBoolean().ShouldBeFalse();
        var tile = after.GetProperty("tiles")[0];
        tile.GetProperty("studentName").GetString().ShouldBe("Sam Student");
        tile.GetProperty("online").GetBoolean().ShouldBeTrue();
        tile.GetProperty("currentUrl").ValueKind.ShouldBe(JsonValueKind.Null);
        tile.GetProperty("currentTitle").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task TeachersOwnLaptop_IsNeverAClassDevice_ForTilesOrCommands()
    {
        _host.Clock.MoveToSchoolDayMorning();
        var (science, teacher, student) = await ClassInSessionOnWeekdaysAsync();
        await using var studentDevice = await DeviceOfAsync(student);
        await using var teacherLaptop = await DeviceOfAsync(teacher);
        using var rivera = await _host.SignInAsNewAccountAsync("rivera", "teacher", teacher);

        var classroom = await rivera.GetFromJsonAsync<JsonElement>($"/api/groups/{science}/classroom");
        classroom.GetProperty("tiles").EnumerateArray().Select(t => t.GetProperty("deviceId").GetGuid()).ShouldBe([studentDevice.DeviceId]);

        using var locked = await rivera.PostAsJsonAsync($"/api/groups/{science}/commands", new { kind = "lock" });
        locked.EnsureSuccessStatusCode();
        (await locked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("targetCount").GetInt32().ShouldBe(1);
        (await studentDevice.ExpectAsync<CommandFrame>()).Kind.ShouldBe("lock");

        // The laptop hears no lock: the next command it gets is one sent to it alone, afterwards.
        (await _host.PostJsonAsync("/api/commands", new { kind = "ping", deviceIds = new[] { teacherLaptop.DeviceId } })).EnsureSuccessStatusCode();
        (await teacherLaptop.ExpectAsync<CommandFrame>()).Kind.ShouldBe("ping");

        using var direct = await rivera.PostAsJsonAsync($"/api/groups/{science}/commands", new { kind = "lock", deviceIds = new[] { teacherLaptop.DeviceId } });
        direct.StatusCode.ShouldBe(System.Net.HttpStatusCode.Forbidden);
    }
}
