using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Locations;

/// <summary>What the console's zone and alert pages rely on: GeoJSON import (all or nothing), devices inside a zone, and the acknowledgement note.</summary>
public abstract class ZoneImportAndAlertNoteTests(DatabaseProvider provider) : IAsyncLifetime
{
    internal const string Campus = """{"type":"Feature","properties":{"name":"Campus","kind":"campus"},"geometry":{"type":"Polygon","coordinates":[[[-122.305,47.595],[-122.295,47.595],[-122.295,47.605],[-122.305,47.605],[-122.305,47.595]]]}}""";
    private const string Gym = """{"type":"Feature","properties":{"name":"Gym","kind":"other","radius":150},"geometry":{"type":"Point","coordinates":[-122.3,47.6]}}""";
    private static readonly (double Lat, double Lon) OnCampus = (47.600, -122.300);
    private static readonly (double Lat, double Lon) OffCampus = (47.620, -122.300);

    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await HomeroomHost.StartAsync(provider);
        // A school day morning: inside the default location.reportingHours (Mon-Fri 07:00-17:00, the district on UTC),
        // which the server enforces, so these tests mean the same whatever the time they run at.
        Host.Clock.MoveToSchoolDayMorning();
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private static string Collection(params string[] features) => $$"""{"type":"FeatureCollection","features":[{{string.Join(",", features)}}]}""";

    private async Task<HttpResponseMessage> ImportAsync(string json) =>
        await Host.Client.PostAsync(new Uri("/api/zones/import", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));

    private async Task<List<JsonElement>> ZonesAsync() =>
        [.. (await Host.GetJsonAsync<JsonElement>("/api/zones")).GetProperty("features").EnumerateArray()];

    // The server takes at most one fix per device every 10 s (Homeroom:Locations:MinFixInterval): each fix comes a little later.
    private Task FixAsync(TestAgent agent, (double Lat, double Lon) at)
    {
        Host.Clock.Advance(TimeSpan.FromSeconds(11));
        return agent.SendAsync(new HeartbeatFrame(null, null, new LocationFix(at.Lat, at.Lon, 20, Host.Clock.GetUtcNow())));
    }

    [Fact]
    public async Task Import_Collection_CreatesEveryZone_AndAnExportImportsBackAsUpdates()
    {
        using (var response = await ImportAsync(Collection(Campus, Gym)))
        {
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/geo+json");
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("features").GetArrayLength().ShouldBe(2);
        }

        var zones = await ZonesAsync();
        zones.Select(z => z.GetProperty("properties").GetProperty("name").GetString()).ShouldBe(["Campus", "Gym"]);

        // The export, with one zone renamed, imports back onto the same zones rather than beside them.
        var export = (await Host.Client.GetStringAsync(new Uri("/api/zones", UriKind.Relative))).Replace("\"Gym\"", "\"Sports hall\"", StringComparison.Ordinal);
        using (var again = await ImportAsync(export))
        {
            again.StatusCode.ShouldBe(HttpStatusCode.OK, await again.Content.ReadAsStringAsync());
        }

        var after = await ZonesAsync();
        after.Count.ShouldBe(2);
        after.Select(z => z.GetProperty("id").GetString()).Order().ShouldBe(zones.Select(z => z.GetProperty("id").GetString()).Order());
        after.Single(z => z.GetProperty("properties").GetProperty("name").GetString() == "Sports hall")
            .GetProperty("properties").GetProperty("radius").GetDouble().ShouldBe(150);
        (await Host.GetJsonAsync<JsonElement>("/api/audit?action=zone.update")).GetProperty("total").GetInt32().ShouldBe(2);
    }

    [Fact]
    public async Task DevicesInside_ListsTheDeviceInTheZone_OnlyForStaffWhoReadLocations()
    {
        using (var response = await ImportAsync(Collection(Campus, Gym.Replace("-122.3,47.6", "-122.4,47.7", StringComparison.Ordinal))))
        {
            response.EnsureSuccessStatusCode();
        }

        var zones = await ZonesAsync();
        var campus = zones.Single(z => z.GetProperty("properties").GetProperty("name").GetString() == "Campus").GetProperty("id").GetString();
        var gym = zones.Single(z => z.GetProperty("properties").GetProperty("name").GetString() == "Gym").GetProperty("id").GetString();
        await using var agent = await Host.ConnectNewAgentAsync(serial: "SN-INSIDE-1");
        await FixAsync(agent, OnCampus);

        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/zones/{campus}/devices")).GetArrayLength() == 1);
        (await Host.GetJsonAsync<JsonElement>($"/api/zones/{campus}/devices"))[0].GetProperty("id").GetGuid().ShouldBe(agent.DeviceId);
        (await Host.GetJsonAsync<JsonElement>($"/api/zones/{gym}/devices")).GetArrayLength().ShouldBe(0);

        using var technician = await Host.SignInAsNewAccountAsync("tech", "itTechnician");
        (await technician.GetAsync(new Uri($"/api/zones/{campus}/devices", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await Host.Client.GetAsync(new Uri($"/api/zones/{Guid.NewGuid()}/devices", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Acknowledge_WithANote_StoresItOnce_AndATooLongNoteIsRefused()
    {
        using (var response = await ImportAsync(Collection(Campus)))
        {
            response.EnsureSuccessStatusCode();
        }

        var campus = (await ZonesAsync())[0].GetProperty("id").GetString();
        var profile = await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Stay on campus", settings = new { location = new { allowedZones = new[] { campus } } } });
        await Host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" });
        await using var agent = await Host.ConnectNewAgentAsync();
        await agent.ExpectAsync<PolicyFrame>();
        await FixAsync(agent, OnCampus);
        await FixAsync(agent, OffCampus);
        await FixAsync(agent, OffCampus);
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>("/api/alerts")).GetProperty("total").GetInt32() == 1);
        var id = (await Host.GetJsonAsync<JsonElement>("/api/alerts")).GetProperty("items")[0].GetProperty("id").GetGuid();

        using (var tooLong = await Host.PostJsonAsync($"/api/alerts/{id}/acknowledge", new { note = new string('x', 1001) }))
        {
            tooLong.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await tooLong.Content.ReadAsStringAsync()).ShouldContain("note");
        }

        (await Host.GetJsonAsync<JsonElement>($"/api/alerts/{id}")).GetProperty("alert").GetProperty("acknowledgedAt").ValueKind.ShouldBe(JsonValueKind.Null);

        using (var ack = await Host.PostJsonAsync($"/api/alerts/{id}/acknowledge", new { note = "  Called home; student was at the dentist.  " }))
        {
            ack.StatusCode.ShouldBe(HttpStatusCode.OK);
            (await ack.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("acknowledgementNote").GetString().ShouldBe("Called home; student was at the dentist.");
        }

        using (var again = await Host.PostJsonAsync($"/api/alerts/{id}/acknowledge", new { note = "Second thoughts" }))
        {
            (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("acknowledgementNote").GetString().ShouldBe("Called home; student was at the dentist.");
        }

        var listed = (await Host.GetJsonAsync<JsonElement>("/api/alerts?state=all")).GetProperty("items")[0];
        listed.GetProperty("acknowledgementNote").GetString().ShouldBe("Called home; student was at the dentist.");
        listed.GetProperty("timeZone").GetString().ShouldNotBeNullOrEmpty();
        (await Host.GetJsonAsync<JsonElement>("/api/audit?action=alert.acknowledge")).GetProperty("items")[0].GetProperty("details").GetString()!.ShouldContain("dentist");

        // Without a body, as before the note existed.
        using var bare = await Host.Client.PostAsync(new Uri($"/api/alerts/{id}/acknowledge", UriKind.Relative), null);
        bare.StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}

public sealed class ZoneImportAndAlertNoteSqliteTests() : ZoneImportAndAlertNoteTests(DatabaseProvider.Sqlite);

public sealed class ZoneImportAndAlertNotePostgresTests() : ZoneImportAndAlertNoteTests(DatabaseProvider.Postgres);

/// <summary>Refused imports store nothing, so these cases share one server (<see cref="SharedHost"/>): none is ever stored, so the list stays empty and nothing is audited.</summary>
public abstract class ZoneImportValidationTests(SharedHost shared)
{
    private const string Campus = ZoneImportAndAlertNoteTests.Campus;

    private HomeroomHost Host => shared.Host;

    private async Task<HttpResponseMessage> ImportAsync(string json) =>
        await Host.Client.PostAsync(new Uri("/api/zones/import", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));

    private async Task<List<JsonElement>> ZonesAsync() =>
        [.. (await Host.GetJsonAsync<JsonElement>("/api/zones")).GetProperty("features").EnumerateArray()];

    [Theory]
    [InlineData("""{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}""", "features", "a bare Polygon geometry")]
    [InlineData("""{"type":"FeatureCollection","features":[]}""", "features", "the collection is empty")]
    [InlineData("""{"type":"FeatureCollection","features":[CAMPUS,{"type":"Feature","properties":{"name":"Bow tie","kind":"campus"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}]}""", "features", "features[1].geometry.coordinates[0]")]
    [InlineData("""{"type":"FeatureCollection","features":[CAMPUS,{"type":"Feature","properties":{"name":"Few","kind":"campus"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}}]}""", "features", "at least 4 positions")]
    [InlineData("""{"type":"FeatureCollection","features":[CAMPUS,{"type":"Feature","properties":{"name":"Far","kind":"campus"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[200,0],[1,1],[0,0]]]}}]}""", "features", "longitude 200 is outside")]
    [InlineData("""{"type":"FeatureCollection","features":[CAMPUS,{"type":"Feature","properties":{"name":"Line","kind":"campus"},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}]}""", "features", "'LineString' is not supported")]
    [InlineData("""{"type":"FeatureCollection","features":[CAMPUS,{"type":"Feature","properties":{"kind":"campus"},"geometry":{"type":"Point","coordinates":[0,0]},"id":"x"}]}""", "features", "radius")]
    [InlineData("""{"type":"FeatureCollection","features":[CAMPUS,{"type":"Feature","properties":{"kind":"campus","radius":10},"geometry":{"type":"Point","coordinates":[0,0]}}]}""", "features[1].properties.name", "required")]
    [InlineData("""{"type":"FeatureCollection","features":[CAMPUS,{"type":"Feature","properties":{"name":"Moon","kind":"moon","radius":10},"geometry":{"type":"Point","coordinates":[0,0]}}]}""", "features[1].properties.kind", "One of")]
    [InlineData("""{"type":"FeatureCollection","features":[CAMPUS,{"type":"Feature","properties":{"name":"Nowhere","kind":"home","radius":10,"schoolId":"00000000-0000-0000-0000-000000000001"},"geometry":{"type":"Point","coordinates":[0,0]}}]}""", "features[1].properties.schoolId", "No such school")]
    [InlineData("""[1,2]""", "features", "(root)")]
    public async Task Import_AnythingInvalid_Answers400_AndStoresNothing(string json, string field, string message)
    {
        using var response = await ImportAsync(json.Replace("CAMPUS", Campus, StringComparison.Ordinal));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        errors.TryGetProperty(field, out var messages).ShouldBeTrue(errors.ToString());
        messages.EnumerateArray().ShouldContain(m => m.GetString()!.Contains(message, StringComparison.Ordinal), messages.ToString());
        (await ZonesAsync()).ShouldBeEmpty();
        (await Host.GetJsonAsync<JsonElement>("/api/audit?action=zone.create")).GetProperty("total").GetInt32().ShouldBe(0);
    }
}

public sealed class ZoneImportValidationSqliteTests(SharedSqliteHost shared) : ZoneImportValidationTests(shared), IClassFixture<SharedSqliteHost>;

public sealed class ZoneImportValidationPostgresTests(SharedPostgresHost shared) : ZoneImportValidationTests(shared), IClassFixture<SharedPostgresHost>;
