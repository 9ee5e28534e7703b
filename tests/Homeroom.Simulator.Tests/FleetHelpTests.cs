using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Fleet;

namespace Homeroom.Simulator.Tests;

/// <summary>The demo's support story against a real server: the students the script picks ask for help once in the school day.</summary>
public sealed class FleetHelpTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public void TheScript_PicksOnlyChromebooks_InSchoolHours_TheSameForASeed()
    {
        var devices = FleetProfile.Create(2_400, 5, new GeoPoint(41.8781, -87.6298)).ToList();
        var scripts = devices.Select(d => (Device: d, Help: HelpScript.For(5, d))).Where(s => s.Help.Count > 0).ToList();

        scripts.ShouldAllBe(s => s.Device.Platform == Homeroom.Contracts.Enrollment.DevicePlatform.ChromeOS && !s.Device.IsSpare);
        scripts.SelectMany(s => s.Help).ShouldAllBe(h => h.TimeOfDay >= TimeSpan.FromHours(8.5) && h.TimeOfDay < TimeSpan.FromHours(14) && h.Note.Length > 0);
        var chromebooks = devices.Count(d => d.Platform == Homeroom.Contracts.Enrollment.DevicePlatform.ChromeOS && !d.IsSpare);
        ((double)scripts.Count / chromebooks).ShouldBeInRange(0.5 / HelpScript.AsksOneIn, 2.0 / HelpScript.AsksOneIn);
        devices.Select(d => HelpScript.For(5, d)).SelectMany(h => h).ShouldBe(scripts.SelectMany(s => s.Help));
    }

    [Fact]
    public async Task SchoolDay_TheScriptedStudentsAskOnce_WithTheirNotes()
    {
        var token = await _host.CreateTokenAsync(maxUses: 60);

        // Tuesday 05:30 in Chicago, twenty minutes of school day per real second: the day's requests come within a minute.
        await using var fleet = new Fleet.Fleet(new FleetOptions
        {
            Server = _host.BaseAddress, EnrollToken = token, Devices = 60, Seed = 11, AlwaysOnline = true, SlowAnswerChance = 0, SafetySignals = false,
            Speed = 1200, StartAt = new DateTimeOffset(2026, 11, 24, 5, 30, 0, TimeSpan.FromHours(-6)), ActivityInterval = TimeSpan.FromSeconds(1),
        });
        var asking = fleet.Devices.Where(d => d.ScriptedHelp.Count > 0).ToList();
        asking.ShouldNotBeEmpty();

        fleet.Start();
        (await fleet.WaitForConnectedAsync(60, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        JsonElement[] requests = [];
        await Poll.UntilAsync(async () =>
        {
            requests = [.. (await _host.GetJsonAsync<JsonElement>("/api/support/requests?status=all")).EnumerateArray()];
            return requests.Length >= asking.Count;
        }, TimeSpan.FromSeconds(90));

        // One request per scripted student (none from anyone else, none twice), with the note they wrote.
        requests.Select(r => (r.GetProperty("deviceId").GetGuid(), r.GetProperty("note").GetString())).Order()
            .ShouldBe(asking.Select(d => (d.DeviceId!.Value, (string?)d.ScriptedHelp[0].Note)).Order());
    }
}
