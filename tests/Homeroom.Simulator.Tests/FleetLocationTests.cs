using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Fleet;

namespace Homeroom.Simulator.Tests;

/// <summary>Simulated students move between home, school and (one in forty) off campus at lunch; the server follows.</summary>
public sealed class FleetLocationTests : IAsyncLifetime
{
    private static readonly GeoPoint Campus = new(41.8781, -87.6298);
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Agents:HeartbeatIntervalSeconds=5");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task StudentWalkingOffCampusAtLunch_RaisesAnAlert_AndGetsTheMessage()
    {
        var zone = await _host.PostJsonAsync<JsonElement>("/api/zones", new
        {
            type = "Feature",
            properties = new { name = "Campus", kind = "campus", radius = 400 },
            geometry = new { type = "Point", coordinates = new[] { Campus.Longitude, Campus.Latitude } },
        });
        var profile = await _host.PostJsonAsync<JsonElement>("/api/profiles", new
        {
            name = "Stay on campus",
            // Reporting hours "always": the fleet sends fixes on the real clock, and the default hours
            // (Mon-Fri 07:00-17:00, UTC here) would refuse them when the suite runs in the evening.
            settings = new { location = new { allowedZones = new[] { zone.GetProperty("id").GetString() }, outOfBoundsMessage = "Back to class, please.", reportingHours = "always" } },
        });
        await _host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" });
        var token = await _host.CreateTokenAsync(maxUses: 4);

        // Tuesday 11:58 in Chicago, a minute of school day per real second: lunch starts two seconds in.
        await using var fleet = new Fleet.Fleet(new FleetOptions
        {
            Server = _host.BaseAddress, EnrollToken = token, Devices = 4, Seed = 5, Campus = Campus, AlwaysOnline = true, SlowAnswerChance = 0,
            Speed = 60, StartAt = new DateTimeOffset(2026, 11, 24, 11, 58, 0, TimeSpan.FromHours(-6)),
        });
        var wanderer = fleet.Devices[3];
        wanderer.Spec.IsSpare.ShouldBeFalse();
        fleet.Start();
        (await fleet.WaitForConnectedAsync(4, TimeSpan.FromSeconds(30))).ShouldBeTrue();

        await Poll.UntilAsync(async () => (await _host.GetJsonAsync<JsonElement>("/api/alerts?state=all")).GetProperty("total").GetInt32() > 0, TimeSpan.FromSeconds(40));
        var alerts = (await _host.GetJsonAsync<JsonElement>("/api/alerts?state=all")).GetProperty("items").EnumerateArray().ToList();
        alerts.ShouldAllBe(a => a.GetProperty("deviceId").GetGuid() == wanderer.DeviceId);
        await Poll.UntilAsync(() => Task.FromResult(wanderer.LastMessage == "Back to class, please."));
        fleet.Devices.Take(3).ShouldAllBe(d => d.LastMessage == null);
    }
}
