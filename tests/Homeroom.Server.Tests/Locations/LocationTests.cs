using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Locations;

public abstract class LocationTests(DatabaseProvider provider) : IAsyncLifetime
{
    // A campus around a school in Seattle, about 1.1 km by 0.75 km, with the gym carved out as a hole.
    private const double West = -122.305, East = -122.295, South = 47.595, North = 47.605;
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

    private static object CampusFeature(string name = "Maple Valley Middle campus") => new
    {
        type = "Feature",
        properties = new { name, kind = "campus" },
        geometry = new
        {
            type = "Polygon",
            coordinates = new[]
            {
                new[] { new[] { West, South }, new[] { East, South }, new[] { East, North }, new[] { West, North }, new[] { West, South } },
                new[] { new[] { -122.3005, 47.6045 }, new[] { -122.2995, 47.6045 }, new[] { -122.2995, 47.6048 }, new[] { -122.3005, 47.6048 }, new[] { -122.3005, 47.6045 } },
            },
        },
    };

    private async Task<Guid> CreateZoneAsync(object feature)
    {
        using var response = await Host.PostJsonAsync("/api/zones", feature);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/geo+json");
        return Guid.Parse((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
    }

    private async Task<Guid> ProfileAssignedToDistrictAsync(object settings, object? condition = null)
    {
        var profile = await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "P" + Guid.NewGuid().ToString("N")[..6], settings });
        await Host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district", condition });
        return profile.GetProperty("id").GetGuid();
    }

    // The server takes at most one fix per device every 10 s (Homeroom:Locations:MinFixInterval): each fix comes a little later.
    private Task FixAsync(TestAgent agent, (double Lat, double Lon) at, double accuracy = 20)
    {
        Host.Clock.Advance(TimeSpan.FromSeconds(11));
        return agent.SendAsync(new HeartbeatFrame(null, null, new LocationFix(at.Lat, at.Lon, accuracy, Host.Clock.GetUtcNow())));
    }

    private async Task<JsonElement> OpenAlertsAsync() => (await Host.GetJsonAsync<JsonElement>("/api/alerts?state=open")).GetProperty("items");

    [Fact]
    public async Task Zones_GeoJsonInAndOut()
    {
        var campus = await CreateZoneAsync(CampusFeature());
        var home = await CreateZoneAsync(new { type = "Feature", properties = new { name = "Home area", kind = "home", radius = 400 }, geometry = new { type = "Point", coordinates = new[] { -122.31, 47.61 } } });

        using var response = await Host.Client.GetAsync("/api/zones");
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/geo+json");
        var collection = await response.Content.ReadFromJsonAsync<JsonElement>();
        collection.GetProperty("type").GetString().ShouldBe("FeatureCollection");
        var features = collection.GetProperty("features").EnumerateArray().ToList();
        features.Count.ShouldBe(2);
        var campusFeature = features.Single(f => f.GetProperty("id").GetString() == campus.ToString());
        campusFeature.GetProperty("geometry").GetProperty("type").GetString().ShouldBe("Polygon");
        campusFeature.GetProperty("geometry").GetProperty("coordinates").GetArrayLength().ShouldBe(2);
        campusFeature.GetProperty("properties").GetProperty("kind").GetString().ShouldBe("campus");
        var homeFeature = features.Single(f => f.GetProperty("id").GetString() == home.ToString());
        homeFeature.GetProperty("properties").GetProperty("radius").GetDouble().ShouldBe(400);

        using var update = await Host.Client.PutAsJsonAsync($"/api/zones/{campus}", CampusFeature("Renamed campus"), HomeroomHost.Json);
        update.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Host.GetJsonAsync<JsonElement>($"/api/zones/{campus}")).GetProperty("properties").GetProperty("name").GetString().ShouldBe("Renamed campus");
    }

    [Fact]
    public async Task LeavingCampus_RaisesAnAlert_MessagesTheDevice_AndClearsOnReturn()
    {
        var campus = await CreateZoneAsync(CampusFeature());
        await ProfileAssignedToDistrictAsync(new { location = new { allowedZones = new[] { campus }, outOfBoundsMessage = "Please go back to school." } });
        await using var agent = await Host.ConnectNewAgentAsync();
        await agent.ExpectAsync<PolicyFrame>();

        await FixAsync(agent, OnCampus);
        await FixAsync(agent, OnCampus);
        await FixAsync(agent, OffCampus);
        (await agent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(500))).ShouldBeTrue(); // one fix is not enough
        (await OpenAlertsAsync()).GetArrayLength().ShouldBe(0);

        await FixAsync(agent, OffCampus);
        var message = await agent.ExpectAsync<CommandFrame>();
        message.Kind.ShouldBe("message");
        message.Arguments!["text"].ShouldBe("Please go back to school.");
        await Poll.UntilAsync(async () => (await OpenAlertsAsync()).GetArrayLength() == 1);
        var alert = (await OpenAlertsAsync())[0];
        alert.GetProperty("kind").GetString().ShouldBe("outOfBounds");
        alert.GetProperty("deviceId").GetGuid().ShouldBe(agent.DeviceId);
        alert.GetProperty("latitude").GetDouble().ShouldBe(OffCampus.Lat);
        (await Host.GetJsonAsync<JsonElement>("/api/audit?action=alert.raise")).GetProperty("total").GetInt32().ShouldBe(1);
        var policy = await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/policy");
        policy.GetProperty("outOfBounds").GetBoolean().ShouldBeTrue();

        // Still outside: no second alert, no second message.
        await FixAsync(agent, OffCampus);
        (await agent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(500))).ShouldBeTrue();

        await FixAsync(agent, OnCampus);
        await FixAsync(agent, OnCampus);
        await Poll.UntilAsync(async () => (await OpenAlertsAsync()).GetArrayLength() == 0);
        var id = alert.GetProperty("id").GetGuid();
        var detail = await Host.GetJsonAsync<JsonElement>($"/api/alerts/{id}");
        detail.GetProperty("alert").GetProperty("clearedAt").ValueKind.ShouldNotBe(JsonValueKind.Null);
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/alerts/{id}")).GetProperty("track").GetArrayLength() >= 6);

        using var ack = await Host.PostJsonAsync($"/api/alerts/{id}/acknowledge", new { });
        ack.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await ack.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("acknowledgedBy").GetString().ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task FixesAtTheBoundary_AndInaccurateFixes_DoNotFlap()
    {
        var campus = await CreateZoneAsync(CampusFeature());
        await ProfileAssignedToDistrictAsync(new { location = new { allowedZones = new[] { campus } } });
        await using var agent = await Host.ConnectNewAgentAsync();
        await agent.ExpectAsync<PolicyFrame>();
        await FixAsync(agent, OnCampus);

        for (var i = 0; i < 6; i++)
        {
            await FixAsync(agent, i % 2 == 0 ? (47.6051, -122.300) : (47.6049, -122.300)); // either side of the north edge
            await FixAsync(agent, OffCampus, accuracy: 2000); // too inaccurate to count
        }

        (await agent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromSeconds(1))).ShouldBeTrue();
        (await OpenAlertsAsync()).GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task EnteringCampus_SwitchesToSchoolRules()
    {
        var campus = await CreateZoneAsync(CampusFeature());
        await ProfileAssignedToDistrictAsync(new { webFilter = new { blockedCategories = new[] { "games" } } }, new { insideZones = new[] { campus } });
        await using var agent = await Host.ConnectNewAgentAsync();
        var away = await agent.ExpectAsync<PolicyFrame>();
        away.Document.GetProperty("webFilter").GetProperty("blockedCategories").GetArrayLength().ShouldBe(0);

        await FixAsync(agent, OffCampus);
        await FixAsync(agent, OnCampus);
        await FixAsync(agent, OnCampus);
        var atSchool = await agent.ExpectAsync<PolicyFrame>();
        atSchool.Version.ShouldBe(away.Version + 1);
        atSchool.Document.GetProperty("webFilter").GetProperty("blockedCategories")[0].GetString().ShouldBe("games");

        await FixAsync(agent, OffCampus);
        await FixAsync(agent, OffCampus);
        var home = await agent.ExpectAsync<PolicyFrame>();
        home.Document.GetProperty("webFilter").GetProperty("blockedCategories").GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task Track_IsReadableAndTheReadIsAudited()
    {
        await using var agent = await Host.ConnectNewAgentAsync();
        await FixAsync(agent, OnCampus);
        await FixAsync(agent, OffCampus);

        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/locations")).GetArrayLength() == 2);
        (await Host.GetJsonAsync<JsonElement>("/api/audit?action=device.locations.read")).GetProperty("total").GetInt32().ShouldBeGreaterThan(0);
        using var bad = await Host.Client.GetAsync($"/api/devices/{agent.DeviceId}/locations?hours=100000");
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ZoneInUse_CannotBeDeleted()
    {
        var campus = await CreateZoneAsync(CampusFeature());
        await ProfileAssignedToDistrictAsync(new { location = new { allowedZones = new[] { campus } } });

        using var response = await Host.Client.DeleteAsync($"/api/zones/{campus}");

        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
    }
}

public sealed class LocationSqliteTests() : LocationTests(DatabaseProvider.Sqlite);

public sealed class LocationPostgresTests() : LocationTests(DatabaseProvider.Postgres);

/// <summary>Refused zones store nothing, so these cases share one server (<see cref="SharedHost"/>): none is ever stored, so the list stays empty.</summary>
public abstract class LocationValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    [Theory]
    [InlineData("""{"type":"Feature","properties":{"name":"Bow tie","kind":"campus"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}""", "geometry")]
    [InlineData("""{"type":"Feature","properties":{"name":"Open","kind":"campus"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}}""", "geometry")]
    [InlineData("""{"type":"Feature","properties":{"name":"Far","kind":"campus"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,91],[0,0]]]}}""", "geometry")]
    [InlineData("""{"type":"Feature","properties":{"name":"Kind","kind":"moon"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}""", "properties.kind")]
    [InlineData("""{"type":"Feature","properties":{"kind":"campus"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}""", "properties.name")]
    [InlineData("""{"type":"Feature","properties":{"name":"Circle","kind":"home","radius":-5},"geometry":{"type":"Point","coordinates":[0,0]}}""", "geometry")]
    [InlineData("""{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}""", "type")]
    [InlineData("""{"type":"Feature","properties":{"name":"Line","kind":"campus"},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}""", "geometry")]
    [InlineData("""[1,2,3]""", "type")]
    public async Task BadZones_AreRefusedAndNothingStored(string json, string field)
    {
        using var response = await Host.Client.PostAsync("/api/zones", new StringContent(json, Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await response.Content.ReadAsStringAsync()).ShouldContain(field);
        (await Host.GetJsonAsync<JsonElement>("/api/zones")).GetProperty("features").GetArrayLength().ShouldBe(0);
    }
}

public sealed class LocationValidationSqliteTests(SharedSqliteHost shared) : LocationValidationTests(shared), IClassFixture<SharedSqliteHost>;

public sealed class LocationValidationPostgresTests(SharedPostgresHost shared) : LocationValidationTests(shared), IClassFixture<SharedPostgresHost>;
