using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Accounts;

/// <summary>Roles give each kind of staff member only what their work needs.</summary>
public sealed class RoleTests : IAsyncLifetime
{
    private const string Password = "a long enough passphrase";
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private Task<HttpClient> SignedInAsync(string role, Guid? personId = null) =>
        _host.SignInAsNewAccountAsync(role.ToLowerInvariant() + Guid.NewGuid().ToString("N")[..6], role, personId);

    private static async Task<HttpStatusCode> StatusAsync(Task<HttpResponseMessage> call)
    {
        using var response = await call;
        return response.StatusCode;
    }

    [Fact]
    public async Task Teacher_ReachesOnlyTheirOwnClasses()
    {
        _host.Clock.MoveToSchoolDayMorning();
        var teacher = await _host.PostJsonAsync<JsonElement>("/api/people", new { kind = "staff", givenName = "Ana", familyName = "Rivera" });
        var own = (await _host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Rivera period 2", kind = "class" })).GetProperty("id").GetGuid();
        var other = (await _host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Chen period 2", kind = "class" })).GetProperty("id").GetGuid();
        (await _host.PostJsonAsync($"/api/groups/{own}/members", new { personIds = new[] { teacher.GetProperty("id").GetGuid() } })).EnsureSuccessStatusCode();
        using var client = await SignedInAsync("teacher", teacher.GetProperty("id").GetGuid());

        (await StatusAsync(client.GetAsync($"/api/groups/{own}/session"))).ShouldBe(HttpStatusCode.OK);
        (await StatusAsync(client.PostAsJsonAsync($"/api/groups/{own}/session", new { minutes = 20 }))).ShouldBe(HttpStatusCode.OK);
        (await StatusAsync(client.GetAsync($"/api/groups/{other}/session"))).ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(client.PostAsJsonAsync($"/api/groups/{other}/session", new { minutes = 20 }))).ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(client.GetAsync("/api/devices"))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(client.GetAsync("/api/people"))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(client.PostAsJsonAsync("/api/commands", new { kind = "lock", groupId = other }))).ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ReadOnly_ReadsButChangesNothing_AndSeesNothingPersonal()
    {
        using var client = await SignedInAsync("readOnly");
        var device = Guid.NewGuid();

        (await StatusAsync(client.GetAsync("/api/devices"))).ShouldBe(HttpStatusCode.OK);
        (await StatusAsync(client.GetAsync("/api/profiles"))).ShouldBe(HttpStatusCode.OK);
        (await StatusAsync(client.PostAsJsonAsync("/api/commands", new { kind = "ping", deviceIds = new[] { device } }))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(client.PostAsJsonAsync("/api/schools", new { name = "x" }))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(client.GetAsync($"/api/activity?deviceId={device}"))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(client.GetAsync($"/api/devices/{device}/locations"))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(client.GetAsync("/api/audit"))).ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task SafetyLead_And_ItTechnician_EachGetTheirOwnWork()
    {
        using var safety = await SignedInAsync("safetyLead");
        var device = Guid.NewGuid();
        (await StatusAsync(safety.GetAsync("/api/alerts"))).ShouldBe(HttpStatusCode.OK);
        (await StatusAsync(safety.GetAsync($"/api/activity?deviceId={device}"))).ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(safety.GetAsync("/api/devices"))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(safety.PostAsJsonAsync("/api/profiles", new { name = "x", settings = new { } }))).ShouldBe(HttpStatusCode.Forbidden);

        using var tech = await SignedInAsync("itTechnician");
        (await StatusAsync(tech.GetAsync("/api/devices"))).ShouldBe(HttpStatusCode.OK);
        (await StatusAsync(tech.PostAsJsonAsync("/api/commands", new { kind = "ping" }))).ShouldBe(HttpStatusCode.BadRequest); // let through, then validated
        (await StatusAsync(tech.PostAsJsonAsync("/api/profiles", new { name = "x", settings = new { } }))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(tech.GetAsync($"/api/activity?deviceId={device}"))).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusAsync(tech.GetAsync("/api/audit"))).ShouldBe(HttpStatusCode.Forbidden);

        using var schoolAdmin = await SignedInAsync("schoolAdmin");
        (await StatusAsync(schoolAdmin.PostAsJsonAsync("/api/profiles", new { name = "School filter", settings = new { } }))).ShouldBe(HttpStatusCode.Created);
        (await StatusAsync(schoolAdmin.PostAsJsonAsync("/api/accounts", new { username = "newadmin", displayName = "x", password = Password, role = "districtAdmin" }))).ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Accounts_AreValidated_AuditedAndCanBeDisabled()
    {
        (await StatusAsync(_host.PostJsonAsync("/api/accounts", new { username = "x", displayName = "x", password = Password, role = "teacher" }))).ShouldBe(HttpStatusCode.BadRequest);
        (await StatusAsync(_host.PostJsonAsync("/api/accounts", new { username = "okname", displayName = "x", password = "short", role = "teacher" }))).ShouldBe(HttpStatusCode.BadRequest);
        (await StatusAsync(_host.PostJsonAsync("/api/accounts", new { username = "okname", displayName = "x", password = Password }))).ShouldBe(HttpStatusCode.BadRequest);
        (await StatusAsync(_host.PostJsonAsync("/api/accounts", new { username = "okname", displayName = "x", password = Password, role = "janitor" }))).ShouldBe(HttpStatusCode.BadRequest);
        (await StatusAsync(_host.PostJsonAsync("/api/accounts", new { username = "okname", displayName = "x", password = Password, role = "teacher", personId = Guid.NewGuid() }))).ShouldBe(HttpStatusCode.BadRequest);

        var created = await _host.PostJsonAsync<JsonElement>("/api/accounts", new { username = "okname", displayName = "Ok", password = Password, role = "readOnly" });
        created.GetProperty("role").GetString().ShouldBe("readOnly");
        using var disable = await _host.Client.PutAsJsonAsync($"/api/accounts/{created.GetProperty("id").GetGuid()}", new { disabled = true });
        disable.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var browser = _host.CreateClient();
        browser.DefaultRequestHeaders.Add("X-Homeroom-Request", "1");
        (await StatusAsync(browser.PostAsJsonAsync("/api/auth/login", new { username = "okname", password = Password }))).ShouldBe(HttpStatusCode.Unauthorized);
        (await _host.GetJsonAsync<JsonElement>("/api/audit?action=account.create")).GetProperty("total").GetInt32().ShouldBe(1);
        (await _host.GetJsonAsync<JsonElement>("/api/accounts")).EnumerateArray().Select(a => a.GetProperty("username").GetString()).ShouldContain("admin");
    }
}
