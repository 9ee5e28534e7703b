using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Updates;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Homeroom.Server.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Updates;

/// <summary>A ring of a new rollout: an existing group, its required share (1 to 100 %), its soak time in hours and an optional deadline (UTC).</summary>
public sealed record RingRequest(Guid? GroupId, int? RequiredPercent, int? SoakHours, DateTime? Deadline);

/// <summary>
/// A new rollout: <c>name</c>, <c>platform</c> (ios, macos, chromeos, windows, linux), <c>targetVersion</c>
/// (dotted numbers, compared numerically), <c>checkInHours</c> (a device is healthy only when it checked
/// in within them; default 24) and 1 to <see cref="UpdateRollouts.MaxRings"/> <c>rings</c> in order.
/// </summary>
public sealed record RolloutRequest(string? Name, string? Platform, string? TargetVersion, int? CheckInHours, IReadOnlyList<RingRequest>? Rings);

/// <summary>One ring as the API and console show it: its gate, phase, the counts of its last evaluation and the soak time left.</summary>
public sealed record RingDto(
    int Position, Guid GroupId, string Name, int RequiredPercent, int SoakHours, DateTime? Deadline, RingPhase Phase,
    DateTime? StartedAt, DateTime? SoakStartedAt, DateTime? PassedAt, int Devices, int AtTarget, int HealthyAtTarget, int Required, int? SoakMinutesLeft);

/// <summary>A rollout: where it is, why (<c>pauseReason</c> when paused or stopped, <c>statusText</c> what the gate said last), its rings, and how the platform receives it.</summary>
public sealed record RolloutDto(
    Guid Id, string Name, string Platform, string TargetVersion, RolloutState State, int CurrentRing, string? PauseReason, string? StatusText,
    int CheckInHours, string CreatedBy, DateTime CreatedAt, DateTime UpdatedAt, DateTime? EvaluatedAt, DateTime? FinishedAt,
    IReadOnlyList<RingDto> Rings, string Delivery, string? GoogleAdminPin);

/// <summary>A device's place in a rollout: which ring, its phase, whether the device is on the target.</summary>
public sealed record DeviceRingDto(Guid RolloutId, string Rollout, string TargetVersion, RolloutState State, int Position, string Ring, RingPhase Phase, string? OsVersion, bool AtTarget);

/// <summary>
/// OS update rollouts (docs/updates.md): created, paused, resumed and stopped by district administrators
/// (<see cref="Permission.ManageUpdates"/>), read by staff with <see cref="Permission.ReadUpdates"/>
/// within their scope (a school administrator sees the rollouts whose rings hold their school's groups
/// or devices). Every action is audited; <see cref="RolloutEvaluator"/> applies the gate.
/// </summary>
public sealed class UpdateRollouts(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, Notifier notifier, IOptions<UpdateOptions> options, TimeProvider time)
{
    public const int MaxRings = 5;
    public const int MaxNameLength = 100;
    public const int MaxSoakHours = 24 * 30;

    public static readonly IReadOnlyDictionary<string, UpdatePlatform> PlatformNames = new Dictionary<string, UpdatePlatform>(StringComparer.Ordinal)
    {
        ["ios"] = UpdatePlatform.Ios, ["macos"] = UpdatePlatform.MacOS, ["chromeos"] = UpdatePlatform.ChromeOS, ["windows"] = UpdatePlatform.Windows,
        ["linux"] = UpdatePlatform.Linux,
    };

    public static string NameOf(UpdatePlatform platform) => platform switch
    {
        UpdatePlatform.Ios => "ios",
        UpdatePlatform.MacOS => "macos",
        UpdatePlatform.ChromeOS => "chromeos",
        UpdatePlatform.Windows => "windows",
        UpdatePlatform.Linux => "linux",
        _ => platform.ToString().ToLowerInvariant(),
    };

    /// <summary>The device platforms a rollout's platform covers.</summary>
    public static DevicePlatform[] DevicePlatforms(UpdatePlatform platform) => platform switch
    {
        UpdatePlatform.Ios => [DevicePlatform.IOS, DevicePlatform.IPadOS],
        UpdatePlatform.MacOS => [DevicePlatform.MacOS],
        UpdatePlatform.ChromeOS => [DevicePlatform.ChromeOS],
        UpdatePlatform.Windows => [DevicePlatform.Windows],
        UpdatePlatform.Linux => [DevicePlatform.Linux],
        _ => [],
    };

    /// <summary>How the platform's devices receive the target, said plainly.</summary>
    public static string DeliveryOf(UpdatePlatform platform) => platform switch
    {
        UpdatePlatform.Ios or UpdatePlatform.MacOS =>
            "Each started ring's devices get the target and the ring's deadline through declarative software-update enforcement; " +
            "after the deadline, a device not on the target is sent ScheduleOSUpdate (install as soon as possible) once.",
        UpdatePlatform.ChromeOS =>
            "Chromebooks report their OS version to Homeroom, which gates the rings; the update itself is pinned in Google Admin " +
            "(Devices > Chrome > Settings > Device update settings, for the ring's organisational unit): Homeroom cannot pin it.",
        UpdatePlatform.Windows =>
            "When a ring starts, the desktop agent on each of its devices below the target (or with updates pending) is sent installOsUpdates once: " +
            "it installs every pending update through the Windows Update Agent and reports its status; a failed install counts against the gate " +
            "and is retried later with back-off. The agent's Windows Update code has not been run on Windows yet (docs/desktop-agent.md).",
        UpdatePlatform.Linux =>
            "When a ring starts, the desktop agent on each of its devices with updates pending (or below the target distribution version) is sent " +
            "installOsUpdates once: it installs every pending update with apt-get upgrade and reports its status; a failed install counts against " +
            "the gate and is retried later with back-off. A device is on the target when it runs that distribution version or newer and reports no updates pending.",
        _ => "",
    };

    /// <summary>The Google Admin "Target version" value for a Chrome OS target: the major version, as Google Admin lists it ("120.").</summary>
    public static string? GoogleAdminPinOf(UpdatePlatform platform, string target) =>
        platform == UpdatePlatform.ChromeOS && OsVersion.FromReported(target).ToString().Split('.')[0] is { Length: > 0 } major ? major + "." : null;

    public async Task<List<RolloutDto>> ListAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadUpdates);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rollouts = await Visible(db, scope).Include(r => r.Rings).AsNoTracking()
            .OrderByDescending(r => r.CreatedAt).ThenBy(r => r.Id).Take(200).ToListAsync(cancellationToken);
        return rollouts.Select(ToDto).ToList();
    }

    public async Task<RolloutDto?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadUpdates);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rollout = await Visible(db, scope).Include(r => r.Rings).AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, cancellationToken);
        return rollout is null ? null : ToDto(rollout);
    }

    /// <summary>The rollouts touching a device (its groups are rings of them), newest first.</summary>
    public async Task<List<DeviceRingDto>> ForDeviceAsync(StaffScope scope, Guid deviceId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadUpdates);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await scope.Devices(db).Where(d => d.Id == deviceId).Select(d => new { d.Id, d.Platform, d.OsVersion, d.AssignedPersonId }).FirstOrDefaultAsync(cancellationToken)
            ?? throw new NotFoundException("No such device.");
        var groups = db.GroupDevices.Where(m => m.DeviceId == device.Id).Select(m => m.GroupId)
            .Concat(db.GroupMembers.Where(m => device.AssignedPersonId != null && m.PersonId == device.AssignedPersonId).Select(m => m.GroupId));
        var rings = await db.UpdateRings.AsNoTracking().Where(r => groups.Contains(r.GroupId))
            .Join(db.UpdateRollouts.AsNoTracking(), r => r.RolloutId, o => o.Id, (r, o) => new { Ring = r, Rollout = o })
            .ToListAsync(cancellationToken);
        var version = OsVersion.FromReported(device.OsVersion);
        // A desktop agent reporting updates pending is not on the target whatever its version (RingDevice.IsAtTarget).
        var pending = await db.DeviceOsUpdates.AnyAsync(u => u.DeviceId == device.Id && u.Pending > 0, cancellationToken);
        return rings
            .Where(x => DevicePlatforms(x.Rollout.Platform).Contains(device.Platform))
            .OrderByDescending(x => x.Rollout.CreatedAt).ThenBy(x => x.Ring.Position)
            .GroupBy(x => x.Rollout.Id).Select(g => g.First()) // A device in two rings of one rollout updates with the first.
            .Select(x => new DeviceRingDto(x.Rollout.Id, x.Rollout.Name, x.Rollout.TargetVersion, x.Rollout.State, x.Ring.Position, x.Ring.Name, x.Ring.Phase,
                device.OsVersion, OsVersion.TryParse(x.Rollout.TargetVersion, out var target)
                    && new RingDevice(version, null, null, 0, 0, pending && RolloutEvaluator.IsAgentPlatform(x.Rollout.Platform)).IsAtTarget(target)))
            .ToList();
    }

    public async Task<RolloutDto> CreateAsync(StaffScope scope, RolloutRequest request, CancellationToken cancellationToken = default)
    {
        EnsureMayManage(scope);
        var validation = new Validation().Required("name", request.Name, MaxNameLength).Range("checkInHours", request.CheckInHours, 1, 24 * 14);
        UpdatePlatform platform = default;
        validation.Check(request.Platform is not null && PlatformNames.TryGetValue(request.Platform, out platform), "platform", "One of ios, macos, chromeos, windows, linux.");
        validation.Check(OsVersion.TryParse(request.TargetVersion, out var target), "targetVersion", "A version of 1 to 4 dot-separated numbers, such as 18.2 or 120.0.6099.235.");
        var rings = request.Rings ?? [];
        if (rings.Count is 0 or > MaxRings)
        {
            validation.Add("rings", $"1 to {MaxRings} rings, in the order they update.");
        }

        var now = time.GetUtcNow().UtcDateTime;
        for (var i = 0; i < rings.Count && i < MaxRings; i++)
        {
            var ring = rings[i];
            validation.Check(ring is not null && ring.GroupId is not null, $"rings[{i}].groupId", "The group whose devices form the ring.");
            validation.Check(ring?.RequiredPercent is >= 1 and <= 100, $"rings[{i}].requiredPercent", "The share of the ring's devices that must be on the target, 1 to 100.");
            validation.Check(ring?.SoakHours is >= 0 and <= MaxSoakHours, $"rings[{i}].soakHours", $"How long they must stay healthy, 0 to {MaxSoakHours} hours.");
            validation.Check(ring?.Deadline is null || ring.Deadline.Value.ToUniversalTime() > now, $"rings[{i}].deadline", "A deadline in the future (UTC).");
            // Apple's declarative enforcement installs by a date: an Apple ring without one would reach no device.
            validation.Check(ring?.Deadline is not null || platform is not (UpdatePlatform.Ios or UpdatePlatform.MacOS), $"rings[{i}].deadline",
                "Apple rings need a deadline: devices are told to install the target by it.");
        }

        if (rings.Where(r => r?.GroupId is not null).GroupBy(r => r.GroupId).Any(g => g.Count() > 1))
        {
            validation.Add("rings", "Each ring is a different group.");
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var groupIds = rings.Select(r => r.GroupId!.Value).ToList();
        var groups = await scope.Groups(db).Where(g => groupIds.Contains(g.Id)).ToDictionaryAsync(g => g.Id, g => g.Name, cancellationToken);
        for (var i = 0; i < rings.Count; i++)
        {
            validation.Check(groups.ContainsKey(groupIds[i]), $"rings[{i}].groupId", "No such group.");
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        // A target older than what the rings' devices already run would ask them to go back: OS updates cannot.
        var platforms = DevicePlatforms(platform);
        for (var i = 0; i < rings.Count; i++)
        {
            var versions = await db.Devices.AsNoTracking().InGroup(db, groupIds[i])
                .Where(d => platforms.Contains(d.Platform) && d.RevokedAt == null && d.OsVersion != null)
                .Select(d => d.OsVersion).Distinct().OrderBy(v => v).Take(options.Value.MaxDistinctVersions).ToListAsync(cancellationToken);
            var newer = versions.Select(OsVersion.FromReported).Where(v => v.IsKnown && v > target).OrderDescending().ToList();
            if (newer.Count > 0)
            {
                var count = await db.Devices.AsNoTracking().InGroup(db, groupIds[i])
                    .Where(d => platforms.Contains(d.Platform) && d.RevokedAt == null && d.OsVersion != null)
                    .Select(d => d.OsVersion).ToListAsync(cancellationToken);
                var ahead = count.Count(v => OsVersion.FromReported(v) > target);
                validation.Add($"rings[{i}].groupId",
                    $"{ahead} {(ahead == 1 ? "device" : "devices")} of {groups[groupIds[i]]} {(ahead == 1 ? "already runs" : "already run up to")} {newer[0]}, newer than the target {target}: " +
                    "an OS update cannot go back. Choose a target at least as new, or take those devices out of the group.");
            }
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        // A device in two unfinished rollouts of a platform would be told two targets.
        var busy = await db.UpdateRings.Where(g => groupIds.Contains(g.GroupId))
            .Join(db.UpdateRollouts.Where(r => r.Platform == platform && (r.State == RolloutState.Active || r.State == RolloutState.Paused)),
                g => g.RolloutId, r => r.Id, (g, r) => new { g.Name, Rollout = r.Name })
            .FirstOrDefaultAsync(cancellationToken);
        if (busy is not null)
        {
            throw new ConflictException($"{busy.Name} is a ring of the {NameOf(platform)} rollout '{busy.Rollout}', which is under way; stop it or let it finish first.");
        }

        var status = RolloutStatus.Start(rings.Count, now);
        var rollout = new UpdateRollout
        {
            Id = Guid.CreateVersion7(),
            Name = request.Name!.Trim(),
            Platform = platform,
            TargetVersion = target.ToString(),
            State = status.State,
            CheckInHours = request.CheckInHours ?? 24,
            CreatedBy = scope.Username,
            CreatedAt = now,
            UpdatedAt = now,
            StatusText = "Started: the first ring's devices are updating.",
        };
        for (var i = 0; i < rings.Count; i++)
        {
            rollout.Rings.Add(new UpdateRing
            {
                RolloutId = rollout.Id,
                Position = i,
                GroupId = groupIds[i],
                Name = groups[groupIds[i]],
                RequiredPercent = rings[i].RequiredPercent!.Value,
                SoakMinutes = rings[i].SoakHours!.Value * 60,
                Deadline = rings[i].Deadline?.ToUniversalTime(),
                Phase = status.Rings[i].Phase,
                StartedAt = status.Rings[i].StartedAt,
            });
        }

        db.UpdateRollouts.Add(rollout);
        audit.Record(db, "updates.rollout.create", "updateRollout", rollout.Id.ToString(),
            $"{rollout.Name}: {NameOf(platform)} to {rollout.TargetVersion}, rings " +
            string.Join(" → ", rollout.Rings.Select(r => $"{r.Name} ({r.RequiredPercent} %, soak {r.SoakMinutes / 60} h{(r.Deadline is { } d ? ", deadline " + RingGate.Day(d) : "")})")));
        await db.SaveChangesAsync(cancellationToken);
        return ToDto(rollout);
    }

    public Task<RolloutDto?> PauseAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default) =>
        TransitionAsync(scope, id, "updates.rollout.pause", RolloutMachine.Pause, cancellationToken);

    public Task<RolloutDto?> ResumeAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default) =>
        TransitionAsync(scope, id, "updates.rollout.resume", RolloutMachine.Resume, cancellationToken);

    public Task<RolloutDto?> StopAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default) =>
        TransitionAsync(scope, id, "updates.rollout.stop", RolloutMachine.Stop, cancellationToken);

    private async Task<RolloutDto?> TransitionAsync(
        StaffScope scope, Guid id, string action, Func<RolloutStatus, string, DateTime, RolloutStep> transition, CancellationToken cancellationToken)
    {
        EnsureMayManage(scope);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rollout = await db.UpdateRollouts.Include(r => r.Rings).FirstOrDefaultAsync(r => r.Id == id, cancellationToken);
        if (rollout is null)
        {
            return null;
        }

        var now = time.GetUtcNow().UtcDateTime;
        RolloutStep step;
        try
        {
            step = transition(RolloutStore.StatusOf(rollout), scope.DisplayName, now);
        }
        catch (RolloutTransitionException refused)
        {
            throw new ConflictException(refused.Message);
        }

        RolloutStore.Apply(rollout, step.Status, now);
        foreach (var e in step.Events)
        {
            audit.Record(db, action, "updateRollout", rollout.Id.ToString(), $"{rollout.Name}, ring {rollout.Rings.First(r => r.Position == e.Ring).Name}: {e.Text}");
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateConcurrencyException)
        {
            throw new ConflictException("The rollout changed meanwhile (the gate was evaluated); look again and retry.");
        }

        if (rollout.State != RolloutState.Paused)
        {
            // Resumed or stopped: a pause notice still shown on open pages has been dealt with.
            notifier.Resolve(RolloutNotifications.Paused(rollout, rollout.StatusText ?? "", now));
        }

        return ToDto(rollout);
    }

    private static void EnsureMayManage(StaffScope scope)
    {
        scope.EnsureCan(Permission.ManageUpdates);
        if (!scope.IsDistrictWide)
        {
            throw new ForbiddenException("District administrators only", "OS update rollouts are managed for the whole district.");
        }
    }

    /// <summary>The rollouts a scope reads: all district-wide; for a school, those whose rings hold the school's groups or devices.</summary>
    private static IQueryable<UpdateRollout> Visible(HomeroomDbContext db, StaffScope scope)
    {
        if (scope.IsDistrictWide)
        {
            return db.UpdateRollouts;
        }

        var school = scope.Role == StaffRole.Teacher ? Guid.Empty : scope.SchoolId ?? Guid.Empty;
        return db.UpdateRollouts.Where(r => db.UpdateRings.Any(g => g.RolloutId == r.Id
            && (db.Groups.Any(x => x.Id == g.GroupId && x.SchoolId == school)
                || db.GroupDevices.Any(m => m.GroupId == g.GroupId && db.Devices.Any(d => d.Id == m.DeviceId && d.SchoolId == school))
                || db.GroupMembers.Any(m => m.GroupId == g.GroupId && db.Devices.Any(d => d.AssignedPersonId == m.PersonId && d.SchoolId == school)))));
    }

    internal RolloutDto ToDto(UpdateRollout r)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var rings = r.Rings.OrderBy(x => x.Position).Select(x => new RingDto(
            x.Position, x.GroupId, x.Name, x.RequiredPercent, x.SoakMinutes / 60, x.Deadline, x.Phase, x.StartedAt, x.SoakStartedAt, x.PassedAt,
            x.Devices, x.AtTarget, x.HealthyAtTarget, RingGate.RequiredOf(x.Devices, x.RequiredPercent),
            x.Phase == RingPhase.Soaking && x.SoakStartedAt is { } s ? Math.Max(0, (int)Math.Ceiling((s.AddMinutes(x.SoakMinutes) - now).TotalMinutes)) : null)).ToList();
        return new RolloutDto(r.Id, r.Name, NameOf(r.Platform), r.TargetVersion, r.State, r.CurrentRing, r.PauseReason, r.StatusText, r.CheckInHours,
            r.CreatedBy, r.CreatedAt, r.UpdatedAt, r.EvaluatedAt, r.FinishedAt, rings, DeliveryOf(r.Platform), GoogleAdminPinOf(r.Platform, r.TargetVersion));
    }
}

/// <summary>Moves a rollout's state between its rows and the pure <see cref="RolloutStatus"/>.</summary>
internal static class RolloutStore
{
    public static RolloutStatus StatusOf(UpdateRollout rollout) => new(
        rollout.State, rollout.CurrentRing, rollout.PauseReason, rollout.ResumedAt,
        rollout.Rings.OrderBy(r => r.Position).Select(r => new RingState(r.Phase, r.StartedAt, r.SoakStartedAt, r.PassedAt)).ToList());

    public static RingRule RuleOf(UpdateRing ring) => new(ring.Name, ring.RequiredPercent, TimeSpan.FromMinutes(ring.SoakMinutes), ring.Deadline);

    public static void Apply(UpdateRollout rollout, RolloutStatus status, DateTime now)
    {
        var changed = rollout.State != status.State || rollout.CurrentRing != status.CurrentRing || rollout.PauseReason != status.PauseReason || rollout.ResumedAt != status.ResumedAt;
        rollout.State = status.State;
        rollout.CurrentRing = status.CurrentRing;
        rollout.PauseReason = status.PauseReason;
        rollout.ResumedAt = status.ResumedAt;
        if (status.State is RolloutState.Stopped or RolloutState.Done && rollout.FinishedAt is null)
        {
            rollout.FinishedAt = now;
        }

        foreach (var ring in rollout.Rings)
        {
            var state = status.Rings[ring.Position];
            changed |= ring.Phase != state.Phase || ring.SoakStartedAt != state.SoakStartedAt;
            ring.Phase = state.Phase;
            ring.StartedAt = state.StartedAt;
            ring.SoakStartedAt = state.SoakStartedAt;
            ring.PassedAt = state.PassedAt;
        }

        if (changed)
        {
            rollout.UpdatedAt = now;
        }
    }
}
