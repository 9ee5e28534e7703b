using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Accounts;

/// <summary>Staff limited to a school see and act on that school only; teachers' class commands are checked.</summary>
public sealed class ScopeTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<Guid> IdAsync(string path, object body) => (await _host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private static async Task<HttpStatusCode> StatusAsync(Task<HttpResponseMessage> call)
    {
        using var response = await call;
        return response.StatusCode;
    }

    [Fact]
    public async Task SchoolLimitedStaff_SeeAndCommandOnlyTheirSchool()
    {
        var north = await IdAsync("/api/schools", new { name = "North", timeZone = "UTC" });
        var south = await IdAsync("/api/schools", new { name = "South", timeZone = "UTC" });
        var token = await _host.CreateTokenAsync();
        var northDevice = (await _host.EnrollAsync(token, "SN-NORTH")).DeviceId;
        var southDevice = (await _host.EnrollAsync(token, "SN-SOUTH")).DeviceId;
        (await _host.Client.PatchAsJsonAsync($"/api/devices/{northDevice}", new { schoolId = north })).EnsureSuccessStatusCode();
        (await _host.Client.PatchAsJsonAsync($"/api/devices/{southDevice}", new { schoolId = south })).EnsureSuccessStatusCode();
        var southClass = await IdAsync("/api/groups", new { name = "South 5A", kind = "class", schoolId = south });
        await IdAsync("/api/people", new { kind = "student", givenName = "Nora", familyName = "North", schoolId = north });
        await IdAsync("/api/people", new { kind = "student", givenName = "Sam", familyName = "South", schoolId = south });

        using var tech = await _host.SignInAsNewAccountAsync("north-tech", "itTechnician", schoolId: north);
        var devices = await tech.GetFromJsonAsync<JsonElement>("/api/devices");
        devices.GetProperty("total").GetInt32().ShouldBe(1);
        devices.GetProperty("items")[0].GetProperty("id").GetGuid().ShouldBe(northDevice);
        (await StatusAsync(tech.GetAsync($"/api/devices/{southDevice}"))).ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(tech.GetAsync($"/api/devices/{northDevice}"))).ShouldBe(HttpStatusCode.OK);
        (await tech.GetFromJsonAsync<JsonElement>("/api/people")).GetProperty("items").EnumerateArray()
            .Select(p => p.GetProperty("familyName").GetString()).ShouldBe(["North"]);
        (await tech.GetFromJsonAsync<JsonElement>("/api/groups")).GetProperty("total").GetInt32().ShouldBe(0);

        // Commands reach only the school's devices: another school's device, group or the school itself is not found.
        (await StatusAsync(tech.PostAsJsonAsync("/api/commands", new { kind = "ping", deviceIds = new[] { northDevice } }))).ShouldBe(HttpStatusCode.Accepted);
        (await StatusAsync(tech.PostAsJsonAsync("/api/commands", new { kind = "ping", deviceIds = new[] { southDevice } }))).ShouldBe(HttpStatusCode.BadRequest);
        (await StatusAsync(tech.PostAsJsonAsync("/api/commands", new { kind = "ping", groupId = southClass }))).ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(tech.PostAsJsonAsync("/api/commands", new { kind = "ping", schoolId = south }))).ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(tech.PostAsJsonAsync("/api/commands", new { kind = "ping", schoolId = north }))).ShouldBe(HttpStatusCode.Accepted);
        var issued = await _host.GetJsonAsync<JsonElement>("/api/commands");
        issued.GetProperty("total").GetInt32().ShouldBe(2);

        // A district-wide account sees both.
        using var district = await _host.SignInAsNewAccountAsync("district-tech", "itTechnician");
        (await district.GetFromJsonAsync<JsonElement>("/api/devices")).GetProperty("total").GetInt32().ShouldBe(2);
    }

    [Fact]
    public async Task ClassCommands_AreValidated_AndStoreNothingWhenRefused()
    {
        _host.Clock.MoveToSchoolDayMorning();
        var teacher = await IdAsync("/api/people", new { kind = "staff", givenName = "Ana", familyName = "Rivera" });
        var science = await IdAsync("/api/groups", new { name = "Science", kind = "class" });
        await using var student = await _host.ConnectNewAgentAsync();
        (await _host.PostJsonAsync($"/api/groups/{science}/members", new { personIds = new[] { teacher }, deviceIds = new[] { student.DeviceId } })).EnsureSuccessStatusCode();
        using var rivera = await _host.SignInAsNewAccountAsync("rivera", "teacher", teacher);
        (await rivera.PostAsJsonAsync($"/api/groups/{science}/session", new { minutes = 30 })).EnsureSuccessStatusCode();

        foreach (var (body, field) in new (object Body, string Field)[]
        {
            (new { kind = "erase" }, "kind"),
            (new { kind = "focus", arguments = new { sites = "" } }, "arguments.sites"),
            (new { kind = "focus", arguments = new { sites = "not a site <script>" } }, "arguments.sites"),
            (new { kind = "focus", arguments = new { sites = string.Join(' ', Enumerable.Range(0, 51).Select(i => $"site{i}.example.org")) } }, "arguments.sites"),
            (new { kind = "openUrl", arguments = new { url = "javascript:alert(1)" } }, "arguments.url"),
        })
        {
            using var response = await rivera.PostAsJsonAsync($"/api/groups/{science}/commands", body);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue(field);
        }

        using (var stranger = await rivera.PostAsJsonAsync($"/api/groups/{science}/commands", new { kind = "lock", deviceIds = new[] { Guid.NewGuid() } }))
        {
            stranger.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }

        (await _host.GetJsonAsync<JsonElement>("/api/commands")).GetProperty("total").GetInt32().ShouldBe(0);

        using (var focus = await rivera.PostAsJsonAsync($"/api/groups/{science}/commands", new { kind = "focus", arguments = new { sites = "https://Docs.Google.com/ khanacademy.org" } }))
        {
            focus.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        }

        var frame = await student.ExpectAsync<Homeroom.Contracts.Agents.CommandFrame>();
        frame.Kind.ShouldBe("focus");
        frame.Arguments!["until"].ShouldNotBeNullOrEmpty();
    }
}
