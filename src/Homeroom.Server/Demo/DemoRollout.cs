using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Roster;
using Homeroom.Server.Updates;
using Homeroom.Simulator.Fleet;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Demo;

/// <summary>
/// The demo district's OS update rollout, written by the real state machine: the rollout is created a week
/// back in time and <see cref="RolloutEvaluator"/> runs every two hours of that week on a stepped clock, while
/// the middle school's Chromebooks take the update as the simulator's <see cref="OsUpdates"/> plans say (the
/// same plans the live fleet then follows: most install within days, 3 % fail, 2 % go quiet). Whatever the gate
/// decided is what the demo shows; with the default fleet the pilot ring passes its gate and the second ring
/// is paused because devices stopped reporting. The audit log carries every step at its simulated time.
/// </summary>
public sealed class DemoRollout(IServiceProvider services, IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<DemoOptions> options, TimeProvider time)
{
    public const string RolloutName = "ChromeOS 131 for the middle school (demo)";
    public const string TargetVersion = "131.0.6778.85";
    public const string PilotGroupName = "OS update pilot (demo)";
    public const string SecondGroupName = "Middle school Chromebooks (demo)";
    public const int PilotDevices = 12;
    public const int CheckInHours = 48;
    public static readonly TimeSpan History = TimeSpan.FromDays(7);
    public static readonly TimeSpan Step = TimeSpan.FromHours(2);

    /// <summary>Seeds the rollout and its week of history; returns its id, or null when the district has no middle school Chromebooks.</summary>
    public Task<Guid?> SeedAsync(CancellationToken cancellationToken) =>
        // The server's own evaluator waits meanwhile: at today's time it would judge the half-walked week.
        services.GetRequiredService<RolloutEvaluator>().WithoutPassesAsync(WalkTheWeekAsync, cancellationToken);

    private async Task<Guid?> WalkTheWeekAsync(CancellationToken cancellationToken)
    {
        var end = time.GetUtcNow();
        var start = end - History;
        var fleet = FleetProfile.Create(options.Value.Devices, options.Value.Seed, DemoDistrict.Campus)
            .Where(s => s.Platform == DevicePlatform.ChromeOS && !s.IsSpare && s.Grade is >= 5 and <= 8)
            .ToDictionary(s => s.Serial);
        Guid pilotId, secondId;
        Dictionary<Guid, DeviceSpec> ring;
        Dictionary<Guid, Guid> groupOf;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var school = await db.Schools.SingleAsync(s => s.Code == "DEMO-MS", cancellationToken);
            var devices = await db.Devices.Where(d => fleet.Keys.Contains(d.Serial)).OrderBy(d => d.Serial).Select(d => new { d.Id, d.Serial }).ToListAsync(cancellationToken);
            if (devices.Count <= PilotDevices)
            {
                return null;
            }

            ring = devices.ToDictionary(d => d.Id, d => fleet[d.Serial]);
            var pilot = new Group { Id = Guid.CreateVersion7(), SchoolId = school.Id, Kind = GroupKind.Custom, Name = PilotGroupName, CreatedAt = start.UtcDateTime };
            var second = new Group { Id = Guid.CreateVersion7(), SchoolId = school.Id, Kind = GroupKind.Custom, Name = SecondGroupName, CreatedAt = start.UtcDateTime };
            db.Groups.AddRange(pilot, second);
            await db.SaveChangesAsync(cancellationToken);
            db.GroupDevices.AddRange(devices.Select((d, i) => new GroupDevice { GroupId = i < PilotDevices ? pilot.Id : second.Id, DeviceId = d.Id }));
            await db.SaveChangesAsync(cancellationToken);
            (pilotId, secondId) = (pilot.Id, second.Id);
            groupOf = devices.Select((d, i) => (d.Id, Group: i < PilotDevices ? pilot.Id : second.Id)).ToDictionary(x => x.Id, x => x.Group);
        }

        // The rollout service, the evaluator and the audit trail as the server has them, on a clock that walks through the week.
        var clock = new SteppedClock(start);
        var audit = ActivatorUtilities.CreateInstance<AuditTrail>(services, clock);
        var rollouts = ActivatorUtilities.CreateInstance<UpdateRollouts>(services, clock, audit);
        using var evaluator = ActivatorUtilities.CreateInstance<RolloutEvaluator>(services, clock, audit);
        // Google Admin's pin reaches a ring's Chromebooks when the ring starts (the rollout page says which value to pin).
        var offered = new Dictionary<Guid, DateTimeOffset>();
        await SimulateAsync(ring, groupOf, offered, start, cancellationToken);
        var rollout = await rollouts.CreateAsync(StaffScope.System, new RolloutRequest(RolloutName, "chromeos", TargetVersion, CheckInHours,
        [
            new RingRequest(pilotId, 80, 24, null),
            new RingRequest(secondId, 99, 48, null),
        ]), cancellationToken);
        for (var at = start + Step; at <= end; at += Step)
        {
            clock.Now = at;
            foreach (var (group, startedAt) in await RingStartsAsync(rollout.Id, cancellationToken))
            {
                offered.TryAdd(group, startedAt);
            }

            await SimulateAsync(ring, groupOf, offered, at, cancellationToken);
            await evaluator.EvaluateOnceAsync(rollout.Id, cancellationToken);
        }

        return rollout.Id;
    }

    /// <summary>When each started ring of the demo rollout started, by its group; the live fleet's Chromebooks take the pin from then.</summary>
    public async Task<Dictionary<string, DateTimeOffset>> OffersAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var started = await (
            from r in db.UpdateRollouts
            from ring in r.Rings
            where r.Name == RolloutName && ring.StartedAt != null
            join gd in db.GroupDevices on ring.GroupId equals gd.GroupId
            join d in db.Devices on gd.DeviceId equals d.Id
            select new { d.Serial, ring.StartedAt }).ToListAsync(cancellationToken);
        return started.ToDictionary(x => x.Serial, x => new DateTimeOffset(DateTime.SpecifyKind(x.StartedAt!.Value, DateTimeKind.Utc)));
    }

    private async Task<List<(Guid Group, DateTimeOffset StartedAt)>> RingStartsAsync(Guid rolloutId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rings = await db.Set<UpdateRing>().Where(r => r.RolloutId == rolloutId && r.StartedAt != null).Select(r => new { r.GroupId, r.StartedAt }).ToListAsync(cancellationToken);
        return rings.Select(r => (r.GroupId, new DateTimeOffset(DateTime.SpecifyKind(r.StartedAt!.Value, DateTimeKind.Utc)))).ToList();
    }

    /// <summary>Deletes the demo rollout (its rings go with it; its audit entries stay, as history).</summary>
    public static Task<int> RemoveAsync(HomeroomDbContext db, CancellationToken cancellationToken) =>
        db.UpdateRollouts.Where(r => r.Name == RolloutName).ExecuteDeleteAsync(cancellationToken);

    // The ring devices at a moment of the week: the version their plan gives, and seen then unless they went quiet.
    private async Task SimulateAsync(
        Dictionary<Guid, DeviceSpec> ring, Dictionary<Guid, Guid> groupOf, Dictionary<Guid, DateTimeOffset> offered, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var reporting = new List<Guid>();
        foreach (var group in ring.GroupBy(d => StateAt(d.Value, offered.TryGetValue(groupOf[d.Key], out var since) ? since : null, at)))
        {
            var ids = group.Select(d => d.Key).ToList();
            var (version, lastSeen) = group.Key;
            if (lastSeen == at)
            {
                reporting.AddRange(ids);
            }
            else
            {
                await db.Devices.Where(d => ids.Contains(d.Id)).ExecuteUpdateAsync(s => s.SetProperty(d => d.OsVersion, version).SetProperty(d => d.LastSeenAt, lastSeen.UtcDateTime), cancellationToken);
            }
        }

        foreach (var byVersion in reporting.GroupBy(id => StateAt(ring[id], offered.TryGetValue(groupOf[id], out var since) ? since : null, at).Version))
        {
            var ids = byVersion.ToList();
            await db.Devices.Where(d => ids.Contains(d.Id)).ExecuteUpdateAsync(s => s.SetProperty(d => d.OsVersion, byVersion.Key).SetProperty(d => d.LastSeenAt, at.UtcDateTime), cancellationToken);
        }
    }

    private (string Version, DateTimeOffset LastSeen) StateAt(DeviceSpec spec, DateTimeOffset? offered, DateTimeOffset at)
    {
        if (offered is not { } offeredAt)
        {
            return (spec.OsVersion, at);
        }

        var plan = OsUpdates.For(options.Value.Seed, spec.Index);
        var lastSeen = OsUpdates.IsSilent(plan, offeredAt, at) ? plan.DueAt(offeredAt) : at;
        return (OsUpdates.VersionAt(plan, spec.OsVersion, TargetVersion, offeredAt, at), lastSeen);
    }

    private sealed class SteppedClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
