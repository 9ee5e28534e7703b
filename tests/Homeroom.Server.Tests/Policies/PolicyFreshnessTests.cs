using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Policies;

/// <summary>
/// Every change that can alter a device's effective policy reaches the online device within 5 s:
/// its school, its student (and the student's grade), a group it joins or leaves directly or through
/// its student, and the group being deleted.
/// </summary>
public abstract class PolicyFreshnessTests(DatabaseProvider provider) : IAsyncLifetime
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(5);

    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<Guid> IdAsync(string path, object body) => (await _host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    // A profile that turns the camera off, assigned at one level; devices show it as restrictions.camera = false.
    private async Task AssignNoCameraAsync(string level, string scopeId)
    {
        var profile = await IdAsync("/api/profiles", new { name = $"No camera {level} {scopeId}", settings = new { restrictions = new { camera = false } } });
        await IdAsync("/api/assignments", new { profileId = profile, level, scopeId });
    }

    private static bool Camera(PolicyFrame frame) => frame.Document.GetProperty("restrictions").GetProperty("camera").GetBoolean();

    private async Task<TestAgent> OnlineAgentAsync()
    {
        var agent = await _host.ConnectNewAgentAsync();
        Camera(await agent.ExpectAsync<PolicyFrame>()).ShouldBeTrue();
        return agent;
    }

    [Fact]
    public async Task MovingTheDeviceToASchool_ReachesIt()
    {
        var school = await IdAsync("/api/schools", new { name = "Strict school", timeZone = "UTC" });
        await AssignNoCameraAsync("school", school.ToString());
        await using var agent = await OnlineAgentAsync();

        (await _host.Client.PatchAsJsonAsync($"/api/devices/{agent.DeviceId}", new { schoolId = school })).EnsureSuccessStatusCode();

        Camera(await agent.ExpectAsync<PolicyFrame>(Soon)).ShouldBeFalse();
    }

    [Fact]
    public async Task AssigningTheDeviceToAStudent_AndTheStudentsGrade_ReachIt()
    {
        await AssignNoCameraAsync("grade", "7");
        var student = await IdAsync("/api/people", new { kind = "student", givenName = "Mia", familyName = "Grade", gradeLevel = 7 });
        await using var agent = await OnlineAgentAsync();

        (await _host.Client.PatchAsJsonAsync($"/api/devices/{agent.DeviceId}", new { assignedPersonId = student })).EnsureSuccessStatusCode();
        Camera(await agent.ExpectAsync<PolicyFrame>(Soon)).ShouldBeFalse();

        // A new school year: the student moves up a grade, and the grade's rule no longer applies.
        (await _host.Client.PutAsJsonAsync($"/api/people/{student}", new { kind = "student", givenName = "Mia", familyName = "Grade", gradeLevel = 8 })).EnsureSuccessStatusCode();
        Camera(await agent.ExpectAsync<PolicyFrame>(Soon)).ShouldBeTrue();
    }

    [Fact]
    public async Task JoiningAndLeavingAGroup_DirectlyOrThroughTheStudent_ReachesIt()
    {
        var group = await IdAsync("/api/groups", new { name = "Testing cart", kind = "cart" });
        await AssignNoCameraAsync("group", group.ToString());
        await using var agent = await OnlineAgentAsync();

        (await _host.PostJsonAsync($"/api/groups/{group}/members", new { deviceIds = new[] { agent.DeviceId } })).EnsureSuccessStatusCode();
        Camera(await agent.ExpectAsync<PolicyFrame>(Soon)).ShouldBeFalse();
        (await _host.PostJsonAsync($"/api/groups/{group}/members/remove", new { deviceIds = new[] { agent.DeviceId } })).EnsureSuccessStatusCode();
        Camera(await agent.ExpectAsync<PolicyFrame>(Soon)).ShouldBeTrue();

        var student = await IdAsync("/api/people", new { kind = "student", givenName = "Leo", familyName = "Member" });
        (await _host.Client.PatchAsJsonAsync($"/api/devices/{agent.DeviceId}", new { assignedPersonId = student })).EnsureSuccessStatusCode();
        (await _host.PostJsonAsync($"/api/groups/{group}/members", new { personIds = new[] { student } })).EnsureSuccessStatusCode();
        Camera(await agent.ExpectAsync<PolicyFrame>(Soon)).ShouldBeFalse();

        (await _host.Client.DeleteAsync($"/api/groups/{group}")).EnsureSuccessStatusCode();
        Camera(await agent.ExpectAsync<PolicyFrame>(Soon)).ShouldBeTrue();
    }
}

public sealed class PolicyFreshnessSqliteTests() : PolicyFreshnessTests(DatabaseProvider.Sqlite);

public sealed class PolicyFreshnessPostgresTests() : PolicyFreshnessTests(DatabaseProvider.Postgres);
