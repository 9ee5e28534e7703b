using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Locations;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Apple;

namespace Homeroom.Server.Tests.Locations;

/// <summary>
/// The server keeps <c>location.reportingHours</c> itself (default Mon-Fri 07:00-17:00, in the school's time
/// zone, checked at each fix's capture time), whatever the agent does; an administrator's explicit locate
/// is exempt from the hours but not from <c>monitoring.location</c>.
/// </summary>
public abstract class ReportingHoursTests(DatabaseProvider provider) : IAsyncLifetime
{
    // A campus in Seattle about 1.1 km by 1.1 km.
    private const double West = -122.305, East = -122.295, South = 47.595, North = 47.605;
    private static readonly (double Lat, double Lon) OnCampus = (47.600, -122.300);
    private static readonly (double Lat, double Lon) OffCampus = (47.620, -122.300);

    // UTC+14 all year (no daylight saving): its school day starts while UTC is still on the day before, at 17:00.
    private const string FarFromUtc = "Pacific/Kiritimati";

    private HomeroomHost Host { get; set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartWithDeviceCaAsync(provider);

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private LocationTracker Tracker => Host.GetService<LocationTracker>();

    /// <summary>Moves the server's clock forward to the next <paramref name="day"/> at a local time, at <paramref name="utcOffset"/>.</summary>
    private DateTimeOffset MoveTo(DayOfWeek day, TimeSpan timeOfDay, TimeSpan utcOffset = default)
    {
        var now = Host.Clock.GetUtcNow();
        var target = new DateTimeOffset(now.ToOffset(utcOffset).Date + timeOfDay, utcOffset);
        while (target.DayOfWeek != day || target <= now)
        {
            target = target.AddDays(1);
        }

        Host.Clock.Advance(target - now);
        return target;
    }

    private static LocationFix Fix((double Lat, double Lon) at, DateTimeOffset when) => new(at.Lat, at.Lon, 20, when);

    private async Task<Guid> CreateCampusAsync()
    {
        using var response = await Host.PostJsonAsync("/api/zones", new
        {
            type = "Feature",
            properties = new { name = "Maple Valley campus", kind = "campus" },
            geometry = new
            {
                type = "Polygon",
                coordinates = new[] { new[] { new[] { West, South }, new[] { East, South }, new[] { East, North }, new[] { West, North }, new[] { West, South } } },
            },
        });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return Guid.Parse((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
    }

    private async Task AssignToDistrictAsync(object settings)
    {
        var profile = await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "P" + Guid.NewGuid().ToString("N")[..6], settings });
        await Host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" });
    }

    private async Task<List<JsonElement>> TrackAsync(Guid deviceId) =>
        [.. (await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/locations?hours=168")).EnumerateArray()];

    private async Task<bool> InsideAsync(Guid zoneId, Guid deviceId) =>
        (await Host.GetJsonAsync<JsonElement>($"/api/zones/{zoneId}/devices")).EnumerateArray().Any(d => d.GetProperty("id").GetGuid() == deviceId);

    [Fact]
    public async Task Fix_InsideTheDefaultHours_IsAccepted_AndOutside_IsRefusedAndChangesNothing()
    {
        var campus = await CreateCampusAsync();
        await AssignToDistrictAsync(new { location = new { allowedZones = new[] { campus } } });
        var afternoon = MoveTo(DayOfWeek.Wednesday, new TimeSpan(16, 58, 0)); // the district is on UTC
        await using var agent = await Host.ConnectNewAgentAsync();
        await agent.ExpectAsync<PolicyFrame>();

        (await Tracker.ObserveAsync(agent.DeviceId, Fix(OnCampus, afternoon))).ShouldBe(FixOutcome.Accepted);
        (await Tracker.ObserveAsync(agent.DeviceId, Fix(OnCampus, afternoon.AddSeconds(30)))).ShouldBe(FixOutcome.Accepted);
        (await InsideAsync(campus, agent.DeviceId)).ShouldBeTrue();

        // 17:00 ends the window: the device leaves campus, but its fixes are not taken, so it is not out of bounds.
        Host.Clock.Advance(TimeSpan.FromMinutes(3));
        var evening = afternoon.AddMinutes(2);
        (await Tracker.ObserveAsync(agent.DeviceId, Fix(OffCampus, evening))).ShouldBe(FixOutcome.OutsideReportingHours);
        (await Tracker.ObserveAsync(agent.DeviceId, Fix(OffCampus, evening.AddSeconds(30)))).ShouldBe(FixOutcome.OutsideReportingHours);
        (await Tracker.ObserveAsync(agent.DeviceId, Fix(OffCampus, evening.AddSeconds(60)))).ShouldBe(FixOutcome.OutsideReportingHours);
        Tracker.IsOutOfBounds(agent.DeviceId).ShouldBe(false);
        (await InsideAsync(campus, agent.DeviceId)).ShouldBeTrue();

        // Next morning a fix is taken again (the refused ones cost no rate); the track holds it and never the evening's.
        var morning = MoveTo(DayOfWeek.Thursday, new TimeSpan(7, 0, 0));
        (await Tracker.ObserveAsync(agent.DeviceId, Fix(OnCampus, morning))).ShouldBe(FixOutcome.Accepted);
        await Poll.UntilAsync(async () => (await TrackAsync(agent.DeviceId)).Count == 3);
        (await TrackAsync(agent.DeviceId)).ShouldAllBe(point => point.GetProperty("latitude").GetDouble() == OnCampus.Lat);
        (await Host.GetJsonAsync<JsonElement>("/api/alerts?state=open")).GetProperty("items").GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task Heartbeat_OutsideTheHours_DoesNotBecomeTheDevicesLastPosition()
    {
        MoveTo(DayOfWeek.Saturday, new TimeSpan(12, 0, 0));
        await using var agent = await Host.ConnectNewAgentAsync();
        await agent.SendAsync(new HeartbeatFrame(new BatteryState(50, false), null, Fix(OffCampus, Host.Clock.GetUtcNow())));
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}")).GetProperty("batteryLevel").ValueKind == JsonValueKind.Number);

        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}")).GetProperty("location").ValueKind.ShouldBe(JsonValueKind.Null);
        (await Tracker.ObserveAsync(agent.DeviceId, Fix(OffCampus, Host.Clock.GetUtcNow().AddSeconds(30)))).ShouldBe(FixOutcome.OutsideReportingHours);
    }

    [Theory]
    [InlineData("always", FixOutcome.Accepted)]
    [InlineData("Sat-Sun 00:00-00:00", FixOutcome.Accepted)]
    [InlineData("Mon-Fri 07:00-17:00; Sun 04:00-05:00", FixOutcome.OutsideReportingHours)]
    [InlineData("", FixOutcome.OutsideReportingHours)] // empty: never
    public async Task Fix_OnASundayNight_FollowsTheProfilesHours(string hours, FixOutcome expected)
    {
        await AssignToDistrictAsync(new { location = new { reportingHours = hours } });
        var night = MoveTo(DayOfWeek.Sunday, new TimeSpan(3, 0, 0));
        await using var agent = await Host.ConnectNewAgentAsync();

        (await Tracker.ObserveAsync(agent.DeviceId, Fix(OnCampus, night))).ShouldBe(expected);
    }

    [Fact]
    public async Task Fix_IsCheckedInTheSchoolsTimeZone_At0659Refused_At0700Accepted()
    {
        var school = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Line Islands Middle", timeZone = FarFromUtc })).GetProperty("id").GetGuid();
        var offset = TimeSpan.FromHours(14);
        var now = MoveTo(DayOfWeek.Wednesday, new TimeSpan(7, 0, 30), offset); // Tuesday 17:00:30 in UTC
        await using var agent = await Host.ConnectNewAgentAsync(await Host.CreateTokenAsync(schoolId: school));
        var sixFiftyNine = new DateTimeOffset(now.Date + new TimeSpan(6, 59, 0), offset);
        var seven = new DateTimeOffset(now.Date + new TimeSpan(7, 0, 0), offset);

        // Read in UTC the answers would be the other way round: 16:59 Tuesday is inside, 17:00 outside.
        (await Tracker.ObserveAsync(agent.DeviceId, Fix(OnCampus, sixFiftyNine))).ShouldBe(FixOutcome.OutsideReportingHours);
        (await Tracker.ObserveAsync(agent.DeviceId, Fix(OnCampus, seven))).ShouldBe(FixOutcome.Accepted);

        await Poll.UntilAsync(async () => (await TrackAsync(agent.DeviceId)).Count == 1);
        (await TrackAsync(agent.DeviceId))[0].GetProperty("at").GetDateTimeOffset().ShouldBe(seven);
    }

    [Fact]
    public async Task LocateAnswer_OutsideTheHours_IsTaken_ButAnotherFixIsNot()
    {
        var night = MoveTo(DayOfWeek.Wednesday, new TimeSpan(21, 0, 0));
        await using var agent = await Host.ConnectNewAgentAsync();

        (await Tracker.ObserveLocateAnswerAsync(agent.DeviceId, Fix(OffCampus, night))).ShouldBe(FixOutcome.Accepted);
        (await Tracker.ObserveAsync(agent.DeviceId, Fix(OffCampus, night.AddSeconds(30)))).ShouldBe(FixOutcome.OutsideReportingHours);
        await Poll.UntilAsync(async () => (await TrackAsync(agent.DeviceId)).Count == 1);
    }

    [Fact]
    public async Task LocateAnswer_WhileMonitoringLocationIsOff_IsRefused()
    {
        await AssignToDistrictAsync(new { monitoring = new { location = false } });
        var morning = MoveTo(DayOfWeek.Wednesday, new TimeSpan(10, 0, 0));
        await using var agent = await Host.ConnectNewAgentAsync();

        (await Tracker.ObserveLocateAnswerAsync(agent.DeviceId, Fix(OnCampus, morning))).ShouldBe(FixOutcome.NotMonitored);
        (await Tracker.ObserveAsync(agent.DeviceId, Fix(OnCampus, morning.AddSeconds(30)))).ShouldBe(FixOutcome.NotMonitored);
    }

    [Fact]
    public async Task AppleLostModeLocation_OutsideTheHours_ReachesTheTrack()
    {
        MoveTo(DayOfWeek.Saturday, new TimeSpan(22, 0, 0));
        using var device = new VirtualAppleDevice(Host.Client, Host.BaseAddress, "00008030-0001A2D3E0C38802F", "DMPX000002");
        await device.InstallEnrollmentProfileAsync(await Host.CreateTokenAsync());
        using (var authenticate = await device.AuthenticateAsync())
        {
            authenticate.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        using (var token = await device.TokenUpdateAsync())
        {
            token.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        var id = (await Host.GetJsonAsync<JsonElement>($"/api/devices?q={device.Serial}")).GetProperty("items")[0].GetProperty("id").GetGuid();
        await Host.PostJsonAsync<JsonElement>("/api/commands", new { kind = "ping", deviceIds = new[] { id } });
        await device.PollAsync(); // its policy profile and its DeviceInformation answer (supervised: locate may be sent)

        await Host.PostJsonAsync<JsonElement>("/api/commands", new { kind = "locate", deviceIds = new[] { id } });
        var envelope = await NextCommandAsync(device, "DeviceLocation");
        using var answer = await device.SendAsync("/mdm/connect", new Dictionary<string, object>
        {
            ["UDID"] = device.Udid,
            ["Status"] = "Acknowledged",
            ["CommandUUID"] = (string)envelope["CommandUUID"],
            ["Latitude"] = OffCampus.Lat,
            ["Longitude"] = OffCampus.Lon,
            ["HorizontalAccuracy"] = 35.0,
            ["Timestamp"] = Host.Clock.GetUtcNow().AddSeconds(-20).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
        });
        answer.StatusCode.ShouldBe(HttpStatusCode.OK);

        await Poll.UntilAsync(async () => (await TrackAsync(id)).Count == 1);
        (await TrackAsync(id))[0].GetProperty("latitude").GetDouble().ShouldBe(OffCampus.Lat);
    }

    // Polls as the device would, acknowledging anything else queued first (its policy profile), until the command of that type comes.
    private static async Task<Dictionary<string, object>> NextCommandAsync(VirtualAppleDevice device, string requestType)
    {
        var reply = new Dictionary<string, object> { ["UDID"] = device.Udid, ["Status"] = "Idle" };
        for (var i = 0; i < 10; i++)
        {
            using var response = await device.SendAsync("/mdm/connect", reply);
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            var body = await response.Content.ReadAsByteArrayAsync();
            body.Length.ShouldBeGreaterThan(0, $"no {requestType} command came");
            var envelope = PropertyList.ReadDictionary(body);
            if ((string)((Dictionary<string, object>)envelope["Command"])["RequestType"] == requestType)
            {
                return envelope;
            }

            reply = new Dictionary<string, object> { ["UDID"] = device.Udid, ["Status"] = "Acknowledged", ["CommandUUID"] = (string)envelope["CommandUUID"] };
        }

        throw new InvalidOperationException($"no {requestType} command came");
    }
}

public sealed class ReportingHoursSqliteTests() : ReportingHoursTests(DatabaseProvider.Sqlite);

public sealed class ReportingHoursPostgresTests() : ReportingHoursTests(DatabaseProvider.Postgres);
