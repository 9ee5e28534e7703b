using System.Net;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Demo;

public sealed class DemoModeTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(
        DatabaseProvider.Sqlite, "Homeroom:Demo:Enabled=true", "Homeroom:Demo:Devices=40", "Homeroom:Demo:StudentsPerClass=8");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<int> TotalAsync(string path) => (await _host.GetJsonAsync<JsonElement>(path)).GetProperty("total").GetInt32();

    [Fact]
    public async Task Start_SeedsADistrictAndItsSimulatedFleetComesOnline()
    {
        await Poll.UntilAsync(async () => await TotalAsync("/api/devices?online=true") == 40, TimeSpan.FromSeconds(30));

        (await TotalAsync("/api/schools")).ShouldBe(3);
        (await TotalAsync("/api/devices")).ShouldBe(40);
        (await TotalAsync("/api/groups?kind=class")).ShouldBeGreaterThan(3);
        var someClass = (await _host.GetJsonAsync<JsonElement>("/api/groups?kind=class&pageSize=1")).GetProperty("items")[0].GetProperty("id").GetGuid();
        var schedule = await _host.GetJsonAsync<JsonElement>($"/api/groups/{someClass}/schedule");
        schedule.GetProperty("meetings")[0].GetProperty("start").GetString().ShouldBe("08:00");
        var device = (await _host.GetJsonAsync<JsonElement>("/api/devices?platform=chromeos&state=active&pageSize=1")).GetProperty("items")[0];
        device.GetProperty("assignedPersonId").ValueKind.ShouldBe(JsonValueKind.String);
        device.GetProperty("serial").GetString()!.ShouldStartWith("SIM");
        var profiles = (await _host.GetJsonAsync<JsonElement>("/api/profiles")).EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
        profiles.ShouldBe(["Home and weekends (demo)", "School day (demo)", "Night curfew (demo)", "Student safety (demo)"], ignoreOrder: true);
        (await _host.GetJsonAsync<JsonElement>("/api/zones")).GetProperty("features").GetArrayLength().ShouldBe(2);
        (await _host.GetJsonAsync<JsonElement>("/api/filter-lists")).GetArrayLength().ShouldBe(4);
        (await _host.GetJsonAsync<JsonElement>("/api/apps")).GetArrayLength().ShouldBe(6);
        // Every one of the 40 devices applies the demo's policies; on a machine busy with the rest of the suite that has taken more than 20 s.
        await Poll.UntilAsync(async () => (await _host.GetJsonAsync<JsonElement>("/api/policies/compliance")).GetProperty("total").GetInt32() == 0, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Restart_DoesNotSeedTwiceAndTheFleetResumes()
    {
        await Poll.UntilAsync(async () => await TotalAsync("/api/devices?online=true") == 40, TimeSpan.FromSeconds(30));
        var people = await TotalAsync("/api/people");

        await _host.RestartAsync();

        await Poll.UntilAsync(async () => await TotalAsync("/api/devices?online=true") == 40, TimeSpan.FromSeconds(30));
        (await TotalAsync("/api/devices")).ShouldBe(40);
        (await TotalAsync("/api/people")).ShouldBe(people);
        (await TotalAsync("/api/schools")).ShouldBe(3);
    }

    [Fact]
    public async Task Remove_DeletesDemoDataAndKeepsTheDistrictsOwn()
    {
        await Poll.UntilAsync(async () => await TotalAsync("/api/devices?online=true") == 40, TimeSpan.FromSeconds(30));
        await _host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Our Real School" });
        var ownToken = await _host.CreateTokenAsync();
        var own = await _host.EnrollAsync(ownToken, "REAL-001");

        using var response = await _host.Client.DeleteAsync(new Uri("/api/demo", UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await _host.GetJsonAsync<JsonElement>("/api/profiles")).GetArrayLength().ShouldBe(0);
        (await _host.GetJsonAsync<JsonElement>("/api/zones")).GetProperty("features").GetArrayLength().ShouldBe(0);
        (await _host.GetJsonAsync<JsonElement>("/api/filter-lists")).GetArrayLength().ShouldBe(0);
        (await _host.GetJsonAsync<JsonElement>("/api/apps")).GetArrayLength().ShouldBe(0);
        var schools = await _host.GetJsonAsync<JsonElement>("/api/schools");
        schools.GetProperty("total").GetInt32().ShouldBe(1);
        schools.GetProperty("items")[0].GetProperty("name").GetString().ShouldBe("Our Real School");
        var devices = await _host.GetJsonAsync<JsonElement>("/api/devices");
        devices.GetProperty("total").GetInt32().ShouldBe(1);
        devices.GetProperty("items")[0].GetProperty("id").GetGuid().ShouldBe(own.DeviceId);
        (await TotalAsync("/api/people")).ShouldBe(0);
        (await TotalAsync("/api/audit?action=demo.remove")).ShouldBe(1);
    }
}

/// <summary>Where the demo fleet's simulated day starts (a plain function, no server).</summary>
public sealed class DemoDayTests
{
    [Theory]
    [InlineData("2026-12-05T21:30:00Z", "2026-12-04T10:00:00-06:00")] // Saturday evening: the Friday before
    [InlineData("2026-12-07T03:00:00Z", "2026-12-04T10:00:00-06:00")] // Sunday night in Chicago (Monday in UTC)
    [InlineData("2026-12-09T20:00:00Z", "2026-12-09T10:00:00-06:00")] // a Wednesday afternoon: that morning
    [InlineData("2026-12-09T12:00:00Z", "2026-12-08T10:00:00-06:00")] // a Wednesday early morning: the day before
    [InlineData("2026-12-07T12:00:00Z", "2026-12-04T10:00:00-06:00")] // a Monday early morning: the Friday before
    [InlineData("2026-07-08T15:00:00Z", "2026-07-08T10:00:00-05:00")] // summer time, at ten exactly
    public void DemoDay_IsTheLastSchoolMorning_NeverAhead(string now, string expected)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");
        var start = Homeroom.Server.Demo.DemoFleetService.DemoDayStart(DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture), zone);
        start.ShouldBe(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
        start.Offset.ShouldBe(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture).Offset);
    }
}
