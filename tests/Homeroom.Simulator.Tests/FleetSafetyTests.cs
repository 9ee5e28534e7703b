using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Fleet;

namespace Homeroom.Simulator.Tests;

/// <summary>
/// The demo's safety story against a real server: over a simulated school day, the students the script
/// picks as at risk raise safety alerts (with screenshots, the policy allowing), and the students who
/// only send harmless look-alikes raise none.
/// </summary>
public sealed class FleetSafetyTests : IAsyncLifetime
{
    private static readonly GeoPoint Campus = new(41.8781, -87.6298);
    private static readonly TimeSpan SchoolEnd = TimeSpan.FromHours(14.5);
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    // At home too (the simulated devices are in no school zone), typed text and screenshots on.
    private async Task<string> AssignSafetyProfileAsync()
    {
        var profile = await _host.PostJsonAsync<JsonElement>("/api/profiles", new
        {
            name = "Safety",
            settings = new { monitoring = new { safety = true }, safety = new { atHome = true, typedText = true, screenshots = true } },
        });
        await _host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" });
        return await _host.CreateTokenAsync(maxUses: 40);
    }

    [Fact]
    public async Task FleetStartedMidMorning_SendsTheMorningsSignalsAtOnce()
    {
        var token = await AssignSafetyProfileAsync();

        // Like the demo: real speed, starting at 10:00 on a school day. The signals scripted for the
        // morning are sent as soon as each device has its policy, not tomorrow.
        await using var fleet = new Fleet.Fleet(new FleetOptions
        {
            Server = _host.BaseAddress, EnrollToken = token, Devices = 40, Seed = 11, Campus = Campus, AlwaysOnline = true, SlowAnswerChance = 0,
            Speed = 1, StartAt = new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.FromHours(-6)), ActivityInterval = TimeSpan.FromSeconds(1),
        });
        var morning = fleet.Devices.Sum(d => d.ScriptedSignals.Count(s => s.TimeOfDay <= TimeSpan.FromHours(10)));
        var morningAtRisk = fleet.Devices.Where(d => d.ScriptedSignals.Any(s => s.Concerning && s.TimeOfDay <= TimeSpan.FromHours(10))).ToList();
        morningAtRisk.ShouldNotBeEmpty();

        fleet.Start();
        (await fleet.WaitForConnectedAsync(40, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        await Poll.UntilAsync(() => Task.FromResult(fleet.Metrics.SignalsAcknowledged >= morning), TimeSpan.FromSeconds(60));

        var alerted = (await _host.GetJsonAsync<JsonElement>("/api/safety/alerts")).GetProperty("items").EnumerateArray()
            .Select(a => a.GetProperty("deviceId").GetGuid()).ToHashSet();
        // Alerts at once, only for students whose script had concerning signals this morning (the subtler
        // phrases of a kind may pass, so not necessarily every one of them).
        alerted.ShouldNotBeEmpty();
        alerted.ShouldBeSubsetOf(morningAtRisk.Select(d => d.DeviceId!.Value));
    }

    [Fact]
    public async Task SchoolDay_AtRiskStudentsRaiseAlertsWithScreenshots_LookAlikesRaiseNone()
    {
        var token = await AssignSafetyProfileAsync();

        // Tuesday 05:30 in Chicago, twenty minutes of school day per real second: about 7 s to enroll, connect and
        // apply the policy before school starts at 08:00, and the school day is over about 20 s later.
        await using var fleet = new Fleet.Fleet(new FleetOptions
        {
            Server = _host.BaseAddress, EnrollToken = token, Devices = 40, Seed = 11, Campus = Campus, AlwaysOnline = true, SlowAnswerChance = 0,
            Speed = 1200, StartAt = new DateTimeOffset(2026, 11, 24, 5, 30, 0, TimeSpan.FromHours(-6)), ActivityInterval = TimeSpan.FromSeconds(1),
        });
        var atRisk = fleet.Devices.Where(d => d.ScriptedSignals.Any(s => s.Concerning)).ToList();
        var lookAlikeOnly = fleet.Devices.Where(d => d.ScriptedSignals.Count > 0 && d.ScriptedSignals.All(s => !s.Concerning)).ToList();
        atRisk.ShouldNotBeEmpty();
        lookAlikeOnly.ShouldNotBeEmpty();
        var atSchool = fleet.Devices.Sum(d => d.ScriptedSignals.Count(s => s.TimeOfDay < SchoolEnd));

        fleet.Start();
        (await fleet.WaitForConnectedAsync(40, TimeSpan.FromSeconds(30))).ShouldBeTrue();

        // Every signal of the school day sent and acknowledged: scanned, and any alert committed.
        await Poll.UntilAsync(() => Task.FromResult(fleet.Metrics.SignalsAcknowledged >= atSchool), TimeSpan.FromSeconds(90));
        var alerts = (await _host.GetJsonAsync<JsonElement>("/api/safety/alerts")).GetProperty("items").EnumerateArray().ToList();
        var atRiskIds = atRisk.Select(d => d.DeviceId!.Value).ToHashSet();
        alerts.Select(a => a.GetProperty("deviceId").GetGuid()).Distinct().Order().ShouldBe(atRiskIds.Order());
        var evidence = new List<JsonElement>();
        foreach (var alert in alerts)
        {
            var found = await _host.GetJsonAsync<JsonElement>($"/api/safety/alerts/{alert.GetProperty("id").GetGuid()}");
            evidence.AddRange(found.GetProperty("evidence").EnumerateArray());
        }

        var harmless = lookAlikeOnly.SelectMany(d => d.ScriptedSignals).Select(s => s.Text).ToHashSet(StringComparer.Ordinal);
        evidence.ShouldNotContain(e => harmless.Contains(e.GetProperty("excerpt").GetString()!));

        // The server asked for screenshots of the alerts and the devices answered.
        await Poll.UntilAsync(() => Task.FromResult(fleet.Metrics.SafetyScreenshots > 0), TimeSpan.FromSeconds(30));
        await Poll.UntilAsync(async () =>
        {
            foreach (var alert in alerts)
            {
                var found = await _host.GetJsonAsync<JsonElement>($"/api/safety/alerts/{alert.GetProperty("id").GetGuid()}");
                if (found.GetProperty("evidence").EnumerateArray().Any(e => e.GetProperty("screenshotId").ValueKind == JsonValueKind.String))
                {
                    return true;
                }
            }

            return false;
        }, TimeSpan.FromSeconds(30));
    }
}
