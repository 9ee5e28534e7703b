using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Server.Tests.Accounts;

/// <summary>
/// The attacks a school-limited staff member tried on the district: moving another school's class
/// into theirs and watching it, adding their teacher to another school's class, moving resources
/// across schools, and reading locations or other schools' records through side doors.
/// </summary>
public abstract class BoundaryTests(DatabaseProvider provider) : IAsyncLifetime
{
    private HomeroomHost _host = null!;
    private AccessDistrict _district = null!;

    public async Task InitializeAsync()
    {
        _host = await HomeroomHost.StartAsync(provider);
        _district = await AccessDistrict.CreateAsync(_host);
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _district?.Clients.Values.ToList() ?? [])
        {
            client.Dispose();
        }

        await _host.DisposeAsync();
    }

    private HttpClient As(string role) => _district.Clients[role];

    private static async Task<HttpStatusCode> StatusAsync(Task<HttpResponseMessage> call)
    {
        using var response = await call;
        return response.StatusCode;
    }

    private Task<JsonElement> AdminGetAsync(string path) => _host.GetJsonAsync<JsonElement>(path);

    [Fact]
    public async Task SchoolAdmin_CannotTakeAnotherSchoolsClass_NorWatchItsScreens()
    {
        var north = _district.North;
        var south = _district.South;
        var admin = As("schoolAdmin");

        (await StatusAsync(admin.PutAsJsonAsync($"/api/groups/{south.Class}", new { name = "Mine now", kind = "class", schoolId = north.School }))).ShouldBe(HttpStatusCode.NotFound);
        var southClass = await AdminGetAsync($"/api/groups/{south.Class}");
        southClass.GetProperty("schoolId").GetGuid().ShouldBe(south.School);
        southClass.GetProperty("name").GetString().ShouldBe("South 5A");

        (await StatusAsync(admin.PostAsJsonAsync($"/api/groups/{south.Class}/session", new { minutes = 30 }))).ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(admin.PostAsync($"/api/groups/{south.Class}/screen-view", null))).ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(admin.PostAsJsonAsync($"/api/groups/{south.Class}/commands", new { kind = "lock" }))).ShouldBe(HttpStatusCode.NotFound);
        (await AdminGetAsync($"/api/groups/{south.Class}/sessions")).GetArrayLength().ShouldBe(0);

        // Their own class stays theirs: it cannot be given to another school either.
        (await StatusAsync(admin.PutAsJsonAsync($"/api/groups/{north.Class}", new { name = "North 5A", kind = "class", schoolId = south.School }))).ShouldBe(HttpStatusCode.Forbidden);
        (await AdminGetAsync($"/api/groups/{north.Class}")).GetProperty("schoolId").GetGuid().ShouldBe(north.School);
    }

    [Fact]
    public async Task SchoolAdmin_CannotAddTheirTeacherToAnotherSchoolsClass_NorAnotherSchoolsStudentToTheirs()
    {
        var north = _district.North;
        var south = _district.South;
        var admin = As("schoolAdmin");

        (await StatusAsync(admin.PostAsJsonAsync($"/api/groups/{south.Class}/members", new { personIds = new[] { north.Teacher } }))).ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(admin.PostAsJsonAsync($"/api/groups/{north.Class}/members", new { personIds = new[] { south.Student } }))).ShouldBe(HttpStatusCode.BadRequest);
        (await StatusAsync(admin.PostAsJsonAsync($"/api/groups/{north.Class}/members", new { deviceIds = new[] { south.Device } }))).ShouldBe(HttpStatusCode.BadRequest);
        (await AdminGetAsync($"/api/groups/{south.Class}")).GetProperty("memberCount").GetInt32().ShouldBe(2);
        (await AdminGetAsync($"/api/groups/{north.Class}")).GetProperty("memberCount").GetInt32().ShouldBe(2);

        // So the North teacher's message never reaches the South student's device.
        using var teacher = As("teacher");
        (await teacher.GetFromJsonAsync<JsonElement>("/api/classes")).EnumerateArray().Select(c => c.GetProperty("id").GetGuid()).ShouldBe([north.Class]);
    }

    [Fact]
    public async Task MovingDevicesPeopleAndZones_IsCheckedAgainstTheOldAndTheNewSchool()
    {
        var north = _district.North;
        var south = _district.South;
        var tech = As("itTechnician");
        var admin = As("schoolAdmin");

        (await StatusAsync(tech.PatchAsJsonAsync($"/api/devices/{north.Device}", new { schoolId = south.School }))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(tech.PatchAsJsonAsync($"/api/devices/{south.Device}", new { schoolId = north.School }))).ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(tech.PatchAsJsonAsync($"/api/devices/{north.Device}", new { assignedPersonId = south.Student }))).ShouldBe(HttpStatusCode.BadRequest);
        (await AdminGetAsync($"/api/devices/{north.Device}")).GetProperty("schoolId").GetGuid().ShouldBe(north.School);
        (await AdminGetAsync($"/api/devices/{south.Device}")).GetProperty("schoolId").GetGuid().ShouldBe(south.School);

        (await StatusAsync(admin.PutAsJsonAsync($"/api/people/{north.Student}", new { kind = "student", givenName = "Student", familyName = "North", schoolId = south.School }))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(admin.PutAsJsonAsync($"/api/people/{north.Student}", new { kind = "student", givenName = "Student", familyName = "North" }))).ShouldBe(HttpStatusCode.Forbidden);
        (await AdminGetAsync($"/api/people/{north.Student}")).GetProperty("schoolId").GetGuid().ShouldBe(north.School);

        var zone = new { type = "Feature", properties = new { name = "Moved", kind = "campus", schoolId = south.School.ToString(), radius = 100 }, geometry = new { type = "Point", coordinates = new[] { -73.5, 45.5 } } };
        (await StatusAsync(admin.PutAsJsonAsync($"/api/zones/{north.Zone}", zone))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(admin.DeleteAsync($"/api/zones/{south.Zone}"))).ShouldBe(HttpStatusCode.NotFound);

        // A school's administrator makes no district-level resources: no district assignment, profile edit, school or filter list.
        (await StatusAsync(admin.PostAsJsonAsync("/api/assignments", new { profileId = north.Profile, level = "district" }))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(admin.PostAsJsonAsync("/api/assignments", new { profileId = north.Profile, level = "grade", scopeId = "5" }))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(admin.PutAsJsonAsync($"/api/profiles/{south.Profile}", new { name = "Taken", settings = new { } }))).ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(admin.PostAsJsonAsync("/api/schools", new { name = "New school", timeZone = "UTC" }))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(admin.DeleteAsync($"/api/schools/{north.School}"))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(admin.PostAsJsonAsync("/api/groups", new { name = "District-wide", kind = "custom" }))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(admin.PostAsJsonAsync("/api/enrollment-tokens", new { name = "For South", schoolId = south.School }))).ShouldBe(HttpStatusCode.Forbidden);

        // A token made without a school is for the maker's school.
        using var made = await admin.PostAsJsonAsync("/api/enrollment-tokens", new { name = "Carts" });
        made.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await made.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("schoolId").GetGuid().ShouldBe(north.School);
    }

    [Fact]
    public async Task RolesWithoutLocations_ReadNoLocation_ThroughCommandsAlertsOrDevices()
    {
        var north = _district.North;
        var dbFactory = _host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>();
        await using (var db = await dbFactory.CreateDbContextAsync())
        {
            await db.CommandDeliveries.Where(d => d.CommandId == north.Command)
                .ExecuteUpdateAsync(d => d.SetProperty(x => x.Status, Rules.Commands.DeliveryStatus.Succeeded).SetProperty(x => x.Result, "45.50123,-73.56789 ±12 m"));
        }

        foreach (var role in new[] { "itTechnician", "readOnly" })
        {
            var deliveries = await As(role).GetFromJsonAsync<JsonElement>($"/api/commands/{north.Command}/deliveries");
            deliveries.GetProperty("items")[0].GetProperty("result").GetString()!.ShouldNotContain("45.50", customMessage: role);
            var history = await As(role).GetFromJsonAsync<JsonElement>($"/api/devices/{north.Device}/commands");
            history.GetProperty("items").EnumerateArray().ShouldAllBe(c => !(c.GetProperty("result").GetString() ?? "").Contains("45.50"), role);
            (await As(role).GetFromJsonAsync<JsonElement>($"/api/devices/{north.Device}")).GetProperty("location").ValueKind.ShouldBe(JsonValueKind.Null, role);
        }

        var alerts = await As("itTechnician").GetFromJsonAsync<JsonElement>("/api/alerts");
        alerts.GetProperty("items")[0].GetProperty("latitude").ValueKind.ShouldBe(JsonValueKind.Null);
        (await As("itTechnician").GetFromJsonAsync<JsonElement>($"/api/alerts/{north.Alert}")).GetProperty("track").GetArrayLength().ShouldBe(0);

        // Those whose work it is see them, and the reading is audited.
        (await As("schoolAdmin").GetFromJsonAsync<JsonElement>($"/api/commands/{north.Command}/deliveries")).GetProperty("items")[0].GetProperty("result").GetString()!.ShouldContain("45.50");
        (await As("safetyLead").GetFromJsonAsync<JsonElement>($"/api/alerts/{north.Alert}")).GetProperty("track").GetArrayLength().ShouldBe(1);
        (await AdminGetAsync("/api/audit?action=alert.track.read")).GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task SchoolStaff_ReadOnlyTheirSchoolsRecords()
    {
        var north = _district.North;
        var south = _district.South;
        var admin = As("schoolAdmin");

        var accounts = await admin.GetFromJsonAsync<JsonElement>("/api/accounts");
        accounts.EnumerateArray().ShouldAllBe(a => a.GetProperty("schoolId").GetGuid() == north.School);
        accounts.EnumerateArray().Select(a => a.GetProperty("id").GetGuid()).ShouldContain(north.Account);

        var audit = await admin.GetFromJsonAsync<JsonElement>("/api/audit?pageSize=500");
        var targets = audit.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("targetId").GetString()).ToHashSet();
        targets.ShouldContain(north.Class.ToString());
        targets.ShouldNotContain(south.Class.ToString());
        targets.ShouldNotContain(south.Device.ToString());
        targets.ShouldNotContain(south.School.ToString());

        var tokens = await As("itTechnician").GetFromJsonAsync<JsonElement>("/api/enrollment-tokens");
        tokens.GetProperty("items").EnumerateArray().ShouldAllBe(t => t.GetProperty("schoolId").GetGuid() == north.School);
        var commands = await As("readOnly").GetFromJsonAsync<JsonElement>("/api/commands");
        commands.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetGuid()).ShouldBe([north.Command]);
        var compliance = await As("readOnly").GetFromJsonAsync<JsonElement>("/api/policies/compliance");
        compliance.GetProperty("items").EnumerateArray().ShouldAllBe(c => c.GetProperty("deviceId").GetGuid() == north.Device);
        var alerts = await As("safetyLead").GetFromJsonAsync<JsonElement>("/api/alerts?state=all");
        alerts.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("id").GetGuid()).ShouldBe([north.Alert]);
        (await StatusAsync(As("safetyLead").GetAsync($"/api/alerts?deviceId={south.Device}"))).ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(As("safetyLead").GetAsync($"/api/activity?deviceId={south.Device}"))).ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(As("safetyLead").PostAsync($"/api/alerts/{south.Alert}/acknowledge", null))).ShouldBe(HttpStatusCode.NotFound);
        (await AdminGetAsync($"/api/alerts/{south.Alert}")).GetProperty("alert").GetProperty("acknowledgedAt").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task EndingASession_WithADeviceOutsideTheCallersSchool_EndsItCleanly_AndReachesOnlyTheirDevices()
    {
        var north = _district.North;
        var south = _district.South;

        // A district administrator put a South device in the North class; North's administrator runs the class.
        (await _host.PostJsonAsync($"/api/groups/{north.Class}/members", new { deviceIds = new[] { south.Device } })).EnsureSuccessStatusCode();
        var admin = As("schoolAdmin");
        (await admin.PostAsJsonAsync($"/api/groups/{north.Class}/session", new { minutes = 30 })).EnsureSuccessStatusCode();

        using var ended = await admin.DeleteAsync($"/api/groups/{north.Class}/session");

        ended.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var endFocus = (await AdminGetAsync("/api/commands?pageSize=50")).GetProperty("items").EnumerateArray().First(c => c.GetProperty("kind").GetString() == "endFocus");
        var deliveries = await AdminGetAsync($"/api/commands/{endFocus.GetProperty("id").GetGuid()}/deliveries");
        deliveries.GetProperty("items").EnumerateArray().Select(d => d.GetProperty("deviceId").GetGuid()).ShouldBe([north.Device]);
        (await AdminGetAsync($"/api/groups/{north.Class}/sessions")).EnumerateArray().ShouldAllBe(s => s.GetProperty("endsAt").GetDateTime() <= _host.Clock.GetUtcNow().UtcDateTime);
    }
}

public sealed class BoundarySqliteTests() : BoundaryTests(DatabaseProvider.Sqlite);

public sealed class BoundaryPostgresTests() : BoundaryTests(DatabaseProvider.Postgres);
