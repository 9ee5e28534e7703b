using System.Text.Json;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Updates;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Fleet;

namespace Homeroom.Simulator.Tests;

public sealed class FleetOsUpdateTests : IAsyncLifetime
{
    private const string Target = "131.0.6778.85";
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 14, 0, 0, TimeSpan.Zero);
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public void For_TwentyThousandDevices_SharesAndDelaysAsDocumented()
    {
        var plans = Enumerable.Range(0, 20_000).Select(i => OsUpdates.For(7, i)).ToList();

        (plans.Count(p => p.Outcome == OsUpdateOutcome.Fails) / 20_000.0).ShouldBe(OsUpdates.FailShare, 0.005);
        (plans.Count(p => p.Outcome == OsUpdateOutcome.NeverReports) / 20_000.0).ShouldBe(OsUpdates.SilentShare, 0.005);
        plans.ShouldAllBe(p => p.After >= TimeSpan.FromHours(2) && p.After <= TimeSpan.FromHours(96));
        (plans.Count(p => p.After <= TimeSpan.FromHours(26)) / 20_000.0).ShouldBeGreaterThan(0.45); // half within about a day
        OsUpdates.For(7, 123).ShouldBe(OsUpdates.For(7, 123));
    }

    [Fact]
    public void VersionAt_BeforeDueFailedOrOlderTarget_KeepsTheVersion()
    {
        var installs = new OsUpdatePlan(OsUpdateOutcome.Installs, TimeSpan.FromHours(10));

        OsUpdates.VersionAt(installs, "130.0.6723.84", Target, Start, Start.AddHours(9)).ShouldBe("130.0.6723.84");
        OsUpdates.VersionAt(installs, "130.0.6723.84", Target, Start, Start.AddHours(10)).ShouldBe(Target);
        OsUpdates.VersionAt(installs, "132.0.6834.0", Target, Start, Start.AddDays(5)).ShouldBe("132.0.6834.0");
        OsUpdates.VersionAt(installs with { Outcome = OsUpdateOutcome.Fails }, "130.0.6723.84", Target, Start, Start.AddDays(5)).ShouldBe("130.0.6723.84");
        OsUpdates.IsSilent(installs with { Outcome = OsUpdateOutcome.NeverReports }, Start, Start.AddHours(10)).ShouldBeTrue();
        OsUpdates.IsSilent(installs, Start, Start.AddDays(9)).ShouldBeFalse();
    }

    [Fact]
    public async Task ChromeOsTarget_OverSimulatedDays_ChromebooksReportItAsTheirPlansSay()
    {
        var token = await _host.CreateTokenAsync(maxUses: 40);
        // A simulated day in about three seconds of real time: every plan is due within about twelve seconds.
        await using var fleet = new Fleet.Fleet(new FleetOptions
        {
            Server = _host.BaseAddress, EnrollToken = token, Devices = 40, Seed = 11, AlwaysOnline = true, SlowAnswerChance = 0,
            SafetySignals = false, HelpRequests = false, ActivityInterval = TimeSpan.FromSeconds(1), Speed = 30_000, StartAt = Start, ChromeOsTarget = Target,
        });
        var chromebooks = fleet.Devices.Where(d => d.Spec.Platform == DevicePlatform.ChromeOS).ToList();
        var plans = chromebooks.ToDictionary(d => d.Spec.Serial, d => OsUpdates.For(11, d.Spec.Index));
        plans.Values.ShouldContain(p => p.Outcome == OsUpdateOutcome.Installs);
        fleet.Start();

        await Poll.UntilAsync(() => Task.FromResult(chromebooks.All(d => d.Silent || d.OsVersion == Target || plans[d.Spec.Serial].Outcome == OsUpdateOutcome.Fails)
            && fleet.Clock.Now > Start.AddHours(100)), TimeSpan.FromSeconds(60));
        await Poll.UntilAsync(async () =>
        {
            var page = await _host.GetJsonAsync<JsonElement>("/api/devices?platform=chromeos&pageSize=200");
            return page.GetProperty("items").EnumerateArray()
                .Where(d => plans.TryGetValue(d.GetProperty("serial").GetString()!, out var plan) && plan.Outcome == OsUpdateOutcome.Installs)
                .All(d => d.GetProperty("osVersion").GetString() == Target);
        }, TimeSpan.FromSeconds(30));

        foreach (var device in chromebooks)
        {
            var plan = plans[device.Spec.Serial];
            device.OsVersion.ShouldBe(plan.Outcome == OsUpdateOutcome.Installs && !OsVersion.FromReported(device.Spec.OsVersion).IsAtLeast(OsVersion.FromReported(Target)) ? Target : device.Spec.OsVersion);
            device.Silent.ShouldBe(plan.Outcome == OsUpdateOutcome.NeverReports);
        }

        // Devices of other platforms are not Chromebooks: Google Admin's pin does nothing to them.
        fleet.Devices.Where(d => d.Spec.Platform != DevicePlatform.ChromeOS).ShouldAllBe(d => d.OsVersion == d.Spec.OsVersion && !d.Silent);
    }
}
