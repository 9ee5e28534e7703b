using System.Text.Json;
using Homeroom.Rules.Updates;
using Homeroom.Server.Data;
using Homeroom.Server.Demo;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Server.Updates;
using Homeroom.Simulator.Fleet;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Demo;

/// <summary>
/// The demo district `start` seeds (default size and seed) has an OS update rollout whose pilot ring passed its gate
/// and whose second ring is paused with a reason, written by the real evaluator over a simulated week; the data
/// behind it agrees with the gate and with the simulator's update plans.
/// </summary>
public sealed class DemoRolloutTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Seed_DefaultDemo_PilotPassedAndSecondRingPausedByTheRealGate()
    {
        (await _host.GetService<DemoDistrict>().SeedAsync(CancellationToken.None)).ShouldBeTrue();
        var id = (await _host.GetService<DemoRollout>().SeedAsync(CancellationToken.None)).ShouldNotBeNull();

        var rollout = await _host.GetJsonAsync<JsonElement>($"/api/updates/rollouts/{id}");
        rollout.GetProperty("state").GetString().ShouldBe("paused");
        rollout.GetProperty("currentRing").GetInt32().ShouldBe(1);
        var pilot = rollout.GetProperty("rings")[0];
        var second = rollout.GetProperty("rings")[1];
        pilot.GetProperty("phase").GetString().ShouldBe("passed");
        var passedAt = pilot.GetProperty("passedAt").GetDateTime();
        second.GetProperty("startedAt").GetDateTime().ShouldBe(passedAt);
        var reason = rollout.GetProperty("pauseReason").GetString().ShouldNotBeNull();
        reason.ShouldContain("have not reported since");
        reason.ShouldContain(DemoRollout.SecondGroupName);
        rollout.GetProperty("googleAdminPin").GetString().ShouldBe("131.");

        // The history the gate wrote, in its order: the pilot soaked and passed, the second ring paused.
        var actions = await AuditAsync(id);
        actions.ShouldContain("updates.rollout.create");
        actions.IndexOf("updates.rollout.soak").ShouldBeLessThan(actions.IndexOf("updates.rollout.promote"));
        actions.IndexOf("updates.rollout.promote").ShouldBeLessThan(actions.IndexOf("updates.rollout.pause"));
        actions.Count(a => a == "updates.rollout.pause").ShouldBe(1);

        // The data behind the pause: more of the second ring silent for longer than the check-in window than 99 % allows,
        // and exactly the devices the simulator's plans send quiet.
        var options = _host.GetService<Microsoft.Extensions.Options.IOptions<DemoOptions>>().Value;
        var specs = FleetProfile.Create(options.Devices, options.Seed, DemoDistrict.Campus).ToDictionary(s => s.Serial);
        await using var db = await _host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var secondGroup = second.GetProperty("groupId").GetGuid();
        var ring = await db.GroupDevices.Where(g => g.GroupId == secondGroup).Join(db.Devices, g => g.DeviceId, d => d.Id, (_, d) => new { d.Serial, d.LastSeenAt, d.OsVersion }).ToListAsync();
        var now = _host.Clock.GetUtcNow().UtcDateTime;
        var silent = ring.Where(d => d.LastSeenAt < now.AddHours(-DemoRollout.CheckInHours)).Select(d => d.Serial).ToList();
        var required = (int)Math.Ceiling(ring.Count * 0.99);
        silent.Count.ShouldBeGreaterThan(ring.Count - required);
        silent.ShouldBe(ring.Where(d => OsUpdates.For(options.Seed, specs[d.Serial].Index).Outcome == OsUpdateOutcome.NeverReports).Select(d => d.Serial), ignoreOrder: true);
        reason.ShouldStartWith($"{silent.Count} of {ring.Count}");
        // The ring's numbers are those of the evaluation that paused it (a paused rollout is not evaluated again); the
        // devices kept updating to the end of the week as their plans say, so at least as many are on the target now.
        var target = OsVersion.FromReported(DemoRollout.TargetVersion);
        ring.Count(d => OsVersion.FromReported(d.OsVersion).IsAtLeast(target)).ShouldBeGreaterThanOrEqualTo(second.GetProperty("atTarget").GetInt32());
        ring.Where(d => OsVersion.FromReported(d.OsVersion).IsAtLeast(target)).Select(d => d.Serial)
            .ShouldAllBe(serial => OsUpdates.For(options.Seed, specs[serial].Index).Outcome == OsUpdateOutcome.Installs);

        // The evaluator, run now on this data, leaves the paused rollout as it is.
        var evaluatedAt = rollout.GetProperty("evaluatedAt").GetDateTime();
        (await _host.GetService<RolloutEvaluator>().EvaluateAllAsync()).ShouldBeEmpty();
        var after = await _host.GetJsonAsync<JsonElement>($"/api/updates/rollouts/{id}");
        after.GetProperty("state").GetString().ShouldBe("paused");
        after.GetProperty("pauseReason").GetString().ShouldBe(reason);
        after.GetProperty("evaluatedAt").GetDateTime().ShouldBe(evaluatedAt);
    }

    private async Task<List<string>> AuditAsync(Guid rolloutId)
    {
        var page = await _host.GetJsonAsync<JsonElement>($"/api/audit?targetId={rolloutId}&pageSize=200");
        return page.GetProperty("items").EnumerateArray().OrderBy(e => e.GetProperty("at").GetDateTime()).ThenBy(e => e.GetProperty("id").GetInt64())
            .Select(e => e.GetProperty("action").GetString()!).ToList();
    }
}
