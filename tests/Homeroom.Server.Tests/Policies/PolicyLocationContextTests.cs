using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Policies;

/// <summary>
/// What the policy document carries for location reporting besides the settings: <c>geo.timeZone</c>
/// (the school's, else the district's) and <c>geo.zones</c> (the allowed zones' shapes).
/// </summary>
public abstract class PolicyLocationContextTests(DatabaseProvider provider) : IAsyncLifetime
{
    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private async Task<Guid> CreateZoneAsync(object feature)
    {
        using var response = await Host.PostJsonAsync("/api/zones", feature);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return Guid.Parse((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
    }

    [Fact]
    public async Task Document_DeviceOfASchool_CarriesTheSchoolsZoneAndTheAllowedZonesShapes()
    {
        var school = await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Lakeside", timeZone = "America/Chicago" });
        var schoolId = school.GetProperty("id").GetGuid();
        var campus = await CreateZoneAsync(new
        {
            type = "Feature",
            properties = new { name = "Campus", kind = "campus" },
            geometry = new
            {
                type = "Polygon",
                coordinates = new[]
                {
                    new[] { new[] { -87.63, 41.87 }, new[] { -87.62, 41.87 }, new[] { -87.62, 41.88 }, new[] { -87.63, 41.88 }, new[] { -87.63, 41.87 } },
                    new[] { new[] { -87.626, 41.874 }, new[] { -87.625, 41.874 }, new[] { -87.625, 41.875 }, new[] { -87.626, 41.875 }, new[] { -87.626, 41.874 } },
                },
            },
        });
        var field = await CreateZoneAsync(new
        {
            type = "Feature",
            properties = new { name = "Field", kind = "campus", radius = 150.0 },
            geometry = new { type = "Point", coordinates = new[] { -87.61, 41.871234567 } },
        });
        var elsewhere = await CreateZoneAsync(new
        {
            type = "Feature",
            properties = new { name = "Not allowed", kind = "campus", radius = 90.0 },
            geometry = new { type = "Point", coordinates = new[] { -80.0, 40.0 } },
        });
        elsewhere.ShouldNotBe(Guid.Empty);
        var profile = await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Bounds", settings = new { location = new { allowedZones = new[] { campus, field } } } });
        (await Host.PostJsonAsync("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" })).EnsureSuccessStatusCode();

        await using var agent = await Host.ConnectNewAgentAsync(await Host.CreateTokenAsync(schoolId: schoolId));
        var frame = await agent.ExpectAsync<PolicyFrame>();
        while (!frame.Document.GetProperty("geo").TryGetProperty("zones", out _))
        {
            frame = await agent.ExpectAsync<PolicyFrame>(); // the zones were still loading when the first version was resolved
        }

        var geo = frame.Document.GetProperty("geo");
        geo.GetProperty("timeZone").GetString().ShouldBe("America/Chicago");
        var zones = geo.GetProperty("zones").EnumerateArray().ToList();
        zones.Count.ShouldBe(2);
        var rings = zones.Single(z => z.TryGetProperty("rings", out _)).GetProperty("rings").EnumerateArray().ToList();
        rings.Count.ShouldBe(2); // the outer ring, then the hole
        rings[0].EnumerateArray().Select(v => v.GetDouble()).ShouldBe([-87.63, 41.87, -87.62, 41.87, -87.62, 41.88, -87.63, 41.88, -87.63, 41.87]);
        var circle = zones.Single(z => z.TryGetProperty("circle", out _)).GetProperty("circle").EnumerateArray().Select(v => v.GetDouble()).ToList();
        circle.ShouldBe([-87.61, 41.871235, 150.0]); // rounded to six decimals

        // The same document the staff see as the one the device receives.
        var shown = await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/policy");
        shown.GetProperty("document").GetProperty("geo").GetProperty("timeZone").GetString().ShouldBe("America/Chicago");
    }

    [Fact]
    public async Task Document_DeviceWithoutASchoolOrZones_CarriesTheDistrictZoneAndNoShapes()
    {
        await using var agent = await Host.ConnectNewAgentAsync();
        var frame = await agent.ExpectAsync<PolicyFrame>();

        var geo = frame.Document.GetProperty("geo");
        geo.GetProperty("timeZone").GetString().ShouldBe("UTC"); // the test district names no zone
        geo.TryGetProperty("zones", out _).ShouldBeFalse();
        frame.Document.GetProperty("location").GetProperty("reportIntervalSeconds").GetInt32().ShouldBe(60);
        frame.Document.GetProperty("location").GetProperty("reportingHours").GetString().ShouldBe("Mon-Fri 07:00-17:00");
    }
}

public sealed class PolicyLocationContextSqliteTests() : PolicyLocationContextTests(DatabaseProvider.Sqlite);

public sealed class PolicyLocationContextPostgresTests() : PolicyLocationContextTests(DatabaseProvider.Postgres);
