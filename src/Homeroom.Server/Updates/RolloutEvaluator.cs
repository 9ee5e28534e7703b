using Homeroom.Contracts.Agents;
using Homeroom.Rules.Commands;
using Homeroom.Rules.Updates;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Updates;

/// <summary>What one evaluation of one rollout decided.</summary>
public sealed record RolloutEvaluation(Guid RolloutId, int Ring, GateDecision Decision, IReadOnlyList<RolloutEvent> Events, int UpdateCommandsSent);

/// <summary>
/// The periodic job of the rollouts: once a minute (<see cref="UpdateOptions.EvaluationInterval"/>) it
/// evaluates each active rollout's current ring against its gate (<see cref="RingGate"/>) and applies the
/// decision (<see cref="RolloutMachine"/>): a soak started or reset, a promotion, a pause with its reason,
/// each audited as the system. What it reads as health: each device's last check-in or heartbeat (its stored
/// <c>last_seen_at</c>, or this server's presence when that is newer and not yet flushed), its failed <c>updateOs</c> commands (a failed install) and its other failed commands, since
/// the ring started (or was resumed) against as long a time before the ring started. A pass writes with
/// the rollout's concurrency tokens, so two servers, or a pass and an administrator, never both apply a
/// step from the same reading. Apple devices still below the target after their ring's deadline are sent
/// ScheduleOSUpdate once. Desktop agents (Windows, Linux) of a started ring that are not on the target are
/// sent <c>installOsUpdates</c> once per ring start, and again after a failure with back-off
/// (<see cref="UpdateOptions.InstallRetryBase"/>, doubling); their reported update status
/// (<see cref="DeviceOsUpdate"/>) feeds the gate: updates pending keep a device off the target, a failed
/// install it reports counts as a failed install. Finished rollouts are deleted after <see cref="UpdateOptions.FinishedRetention"/>.
/// </summary>
public sealed class RolloutEvaluator(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    AuditTrail audit,
    IssueCommand issueCommand,
    PresenceTracker presence,
    Notifier notifier,
    IOptions<UpdateOptions> options,
    JobLeases leases,
    TimeProvider time,
    ILogger<RolloutEvaluator> logger)
    : PeriodicTask(options.Value.EvaluationInterval, leases, time, logger)
{
    protected override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        await EvaluateAllAsync(cancellationToken);
        await DeleteFinishedAsync(cancellationToken);
    }

    /// <summary>One pass over every active rollout; never at the same time as another pass of this server.</summary>
    public Task<List<RolloutEvaluation>> EvaluateAllAsync(CancellationToken cancellationToken = default) =>
        RunExclusiveAsync(async ct =>
        {
            List<Guid> ids;
            await using (var db = await dbFactory.CreateDbContextAsync(ct))
            {
                ids = await db.UpdateRollouts.Where(r => r.State == RolloutState.Active).Select(r => r.Id).ToListAsync(ct);
            }

            var results = new List<RolloutEvaluation>();
            foreach (var id in ids)
            {
                if (await EvaluateOnceAsync(id, ct) is { } result)
                {
                    results.Add(result);
                }
            }

            return results;
        }, cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> while this server's passes wait: the demo's seeding walks its rollout through a past
    /// week on a clock of its own, which a pass at today's time in between would judge (every device silent for days).
    /// </summary>
    public Task<T> WithoutPassesAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken = default) =>
        RunExclusiveAsync(work, cancellationToken);

    /// <summary>Evaluates one rollout's current ring and applies the decision; null when it is not active or another pass got there first.</summary>
    public async Task<RolloutEvaluation?> EvaluateOnceAsync(Guid rolloutId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rollout = await db.UpdateRollouts.Include(r => r.Rings).FirstOrDefaultAsync(r => r.Id == rolloutId && r.State == RolloutState.Active, cancellationToken);
        if (rollout is null || !OsVersion.TryParse(rollout.TargetVersion, out var target))
        {
            return null;
        }

        var now = Time.GetUtcNow().UtcDateTime;
        var ring = rollout.Rings.Single(r => r.Position == rollout.CurrentRing);
        var startedAt = ring.StartedAt ?? now;
        var since = RingGate.HealthSince(startedAt, rollout.ResumedAt);
        var devices = await LoadRingAsync(db, rollout.Platform, ring.GroupId, startedAt, since, now, cancellationToken);
        var health = new HealthRule(TimeSpan.FromHours(rollout.CheckInHours));
        var progress = RingGate.Measure(target, ring.RequiredPercent, devices, since, rollout.ResumedAt, now, health);
        var rules = rollout.Rings.OrderBy(r => r.Position).Select(RolloutStore.RuleOf).ToList();
        var decision = RingGate.Decide(target, rules[ring.Position], progress, ring.SoakStartedAt, rollout.ResumedAt, now);
        var step = RolloutMachine.Apply(RolloutStore.StatusOf(rollout), rules, decision, now);

        ring.Devices = progress.Devices;
        ring.AtTarget = progress.AtTarget;
        ring.HealthyAtTarget = progress.HealthyAtTarget;
        rollout.StatusText = decision.Reason;
        rollout.EvaluatedAt = now;
        RolloutStore.Apply(rollout, step.Status, now);
        foreach (var e in step.Events)
        {
            var action = e.Kind switch
            {
                RolloutEventKind.Promoted => "updates.rollout.promote",
                RolloutEventKind.Done => "updates.rollout.done",
                RolloutEventKind.Paused => "updates.rollout.pause",
                RolloutEventKind.SoakStarted => "updates.rollout.soak",
                RolloutEventKind.SoakReset => "updates.rollout.soakReset",
                _ => "updates.rollout." + e.Kind.ToString().ToLowerInvariant(),
            };
            audit.Record(db, action, "updateRollout", rollout.Id.ToString(), $"{rollout.Name}: {e.Text}");
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateConcurrencyException)
        {
            UpdatesLog.EvaluationSkipped(Logger, rollout.Id);
            return null;
        }

        foreach (var e in step.Events)
        {
            UpdatesLog.RolloutEvent(Logger, rollout.Id, e.Text);
            if (e.Kind == RolloutEventKind.Paused)
            {
                // The administrators are told at once on any open page, with the gate's reason.
                notifier.Publish(RolloutNotifications.Paused(rollout, e.Text, now));
            }
        }

        var sent = rollout.State != RolloutState.Active ? 0
            : rollout.Platform is UpdatePlatform.Ios or UpdatePlatform.MacOS ? await ScheduleOverdueAsync(db, rollout, target, now, cancellationToken)
            : IsAgentPlatform(rollout.Platform) ? await SendAgentInstallsAsync(db, rollout, target, now, cancellationToken)
            : 0;
        return new RolloutEvaluation(rollout.Id, ring.Position, decision, step.Events, sent);
    }

    /// <summary>The devices of a ring with what the gate reads of them, in a few statements whatever the ring's size.</summary>
    internal async Task<RingDevice[]> LoadRingAsync(
        HomeroomDbContext db, UpdatePlatform platform, Guid groupId, DateTime ringStartedAt, DateTime since, DateTime now, CancellationToken cancellationToken)
    {
        var members = Members(db, platform, groupId);
        var rows = await members.Select(d => new { d.Id, d.OsVersion, d.LastSeenAt }).ToListAsync(cancellationToken);
        var updates = IsAgentPlatform(platform)
            ? await db.DeviceOsUpdates.AsNoTracking().Where(u => members.Select(d => d.Id).Contains(u.DeviceId))
                .Select(u => new { u.DeviceId, u.Pending, u.LastInstallAt, u.LastInstallOk }).ToDictionaryAsync(u => u.DeviceId, cancellationToken)
            : null;

        // Failed commands since the health window start against as long a time before the ring started (at most ErrorBaseline).
        var windowStart = since > now - options.Value.ErrorBaseline ? since : now - options.Value.ErrorBaseline;
        var baselineStart = ringStartedAt - (now - windowStart);
        var from = baselineStart < windowStart ? baselineStart : windowStart;
        var memberIds = members.Select(d => d.Id);
        var failures = await db.CommandDeliveries.AsNoTracking()
            .Where(cd => cd.Status == DeliveryStatus.Failed && cd.UpdatedAt >= from && memberIds.Contains(cd.DeviceId))
            .Join(db.Commands.AsNoTracking(), cd => cd.CommandId, c => c.Id, (cd, c) => new { cd.DeviceId, cd.UpdatedAt, c.Kind })
            .ToListAsync(cancellationToken);
        var byDevice = new Dictionary<Guid, (DateTime? LastFailedInstall, int Since, int Before)>();
        foreach (var failure in failures)
        {
            var (lastFailedInstall, errorsSince, errorsBefore) = byDevice.GetValueOrDefault(failure.DeviceId);
            if (failure.Kind is CommandKinds.UpdateOs or CommandKinds.InstallOsUpdates)
            {
                lastFailedInstall = lastFailedInstall is { } l && l > failure.UpdatedAt ? l : failure.UpdatedAt;
            }
            else if (failure.UpdatedAt >= windowStart)
            {
                errorsSince++;
            }
            else if (failure.UpdatedAt >= baselineStart && failure.UpdatedAt < ringStartedAt)
            {
                errorsBefore++;
            }

            byDevice[failure.DeviceId] = (lastFailedInstall, errorsSince, errorsBefore);
        }

        var devices = new RingDevice[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var (lastFailedInstall, errorsSince, errorsBefore) = byDevice.GetValueOrDefault(row.Id);
            var status = updates?.GetValueOrDefault(row.Id);
            // A failed install the agent reports (also one it was not asked for) counts as one.
            if (status is { LastInstallOk: false, LastInstallAt: { } reportedFailure } && (lastFailedInstall is null || reportedFailure > lastFailedInstall))
            {
                lastFailedInstall = reportedFailure;
            }

            // A device seen since presence last flushed (connected a moment ago, say) has reported all the same.
            var lastSeen = presence.Get(row.Id)?.LastSeenAt is { } live && (row.LastSeenAt is null || live > row.LastSeenAt) ? live : row.LastSeenAt;
            devices[i] = new RingDevice(OsVersion.FromReported(row.OsVersion), lastSeen, lastFailedInstall, errorsSince, errorsBefore, status is { Pending: > 0 });
        }

        return devices;
    }

    /// <summary>A ring's devices now: the group's (placed in it or assigned to its people) of the rollout's platform, neither revoked nor retired.</summary>
    internal static IQueryable<Device> Members(HomeroomDbContext db, UpdatePlatform platform, Guid groupId)
    {
        var platforms = UpdateRollouts.DevicePlatforms(platform);
        return db.Devices.AsNoTracking().InGroup(db, groupId)
            .Where(d => platforms.Contains(d.Platform) && d.RevokedAt == null && d.State != DeviceState.Retired);
    }

    /// <summary>
    /// Sends ScheduleOSUpdate (install as soon as possible) to each Apple device of a started ring whose
    /// deadline passed and that is managed through Apple MDM and still below the target, once per ring: a device that already has an
    /// <c>updateOs</c> command for this version since the ring started is not sent another.
    /// </summary>
    private async Task<int> ScheduleOverdueAsync(HomeroomDbContext db, UpdateRollout rollout, OsVersion target, DateTime now, CancellationToken cancellationToken)
    {
        var sent = 0;
        var version = target.ToString();
        foreach (var ring in rollout.Rings.Where(r => r.Phase is RingPhase.InProgress or RingPhase.Soaking && r.Deadline <= now && r.StartedAt is not null))
        {
            var started = ring.StartedAt!.Value;
            var alreadySent = db.CommandDeliveries.Where(cd => db.Commands.Any(c => c.Id == cd.CommandId && c.Kind == CommandKinds.UpdateOs && c.IssuedAt >= started
                && c.ArgumentsJson.Contains(version)));
            var candidates = await Members(db, rollout.Platform, ring.GroupId)
                .Where(d => db.AppleDevices.Any(a => a.DeviceId == d.Id && a.CheckedOutAt == null) && !alreadySent.Any(cd => cd.DeviceId == d.Id))
                .Select(d => new { d.Id, d.OsVersion }).ToListAsync(cancellationToken);
            var overdue = candidates.Where(d => !OsVersion.FromReported(d.OsVersion).IsAtLeast(target)).Select(d => d.Id)
                .Take(options.Value.MaxUpdateCommandsPerPass - sent).ToList();
            if (overdue.Count == 0)
            {
                continue;
            }

            await issueCommand.ExecuteAsync(StaffScope.System, CommandKinds.UpdateOs,
                new Dictionary<string, string> { ["version"] = version, ["action"] = "install" },
                new CommandTarget(overdue, null, null), null, cancellationToken);
            sent += overdue.Count;
            if (sent >= options.Value.MaxUpdateCommandsPerPass)
            {
                break;
            }
        }

        return sent;
    }

    /// <summary>The platforms whose updates the desktop agent installs.</summary>
    public static bool IsAgentPlatform(UpdatePlatform platform) => platform is UpdatePlatform.Windows or UpdatePlatform.Linux;

    /// <summary>
    /// Sends <c>installOsUpdates</c> (with the ring's deadline, when it has one) to each device of a started ring
    /// that is not on the target: below the target version, or reporting updates pending. Once per ring start:
    /// a device with such a command since the ring started that is still on its way, or that succeeded, is not
    /// sent another; after a failed or expired one it is sent another once <see cref="RetryDelay"/> passed.
    /// </summary>
    private async Task<int> SendAgentInstallsAsync(HomeroomDbContext db, UpdateRollout rollout, OsVersion target, DateTime now, CancellationToken cancellationToken)
    {
        var sent = 0;
        foreach (var ring in rollout.Rings.Where(r => r.Phase is RingPhase.InProgress or RingPhase.Soaking && r.StartedAt is not null).OrderBy(r => r.Position))
        {
            var started = ring.StartedAt!.Value;
            var members = Members(db, rollout.Platform, ring.GroupId);
            var candidates = await members
                .Select(d => new { d.Id, d.OsVersion, Pending = db.DeviceOsUpdates.Where(u => u.DeviceId == d.Id).Select(u => (int?)u.Pending).FirstOrDefault() })
                .ToListAsync(cancellationToken);
            var below = candidates.Where(d => d.Pending > 0 || !OsVersion.FromReported(d.OsVersion).IsAtLeast(target)).Select(d => d.Id).ToHashSet();
            if (below.Count == 0)
            {
                continue;
            }

            var memberIds = members.Select(d => d.Id);
            var earlier = await db.CommandDeliveries.AsNoTracking()
                .Where(cd => memberIds.Contains(cd.DeviceId))
                .Join(db.Commands.AsNoTracking().Where(c => c.Kind == CommandKinds.InstallOsUpdates && c.IssuedAt >= started), cd => cd.CommandId, c => c.Id,
                    (cd, c) => new { cd.DeviceId, cd.Status, cd.UpdatedAt })
                .ToListAsync(cancellationToken);
            var history = earlier.GroupBy(e => e.DeviceId).ToDictionary(g => g.Key, g => g.ToList());
            var due = new List<Guid>();
            foreach (var id in below.Order())
            {
                if (history.GetValueOrDefault(id) is { } attempts)
                {
                    if (attempts.Any(a => a.Status is not (DeliveryStatus.Failed or DeliveryStatus.Expired)))
                    {
                        continue; // on its way, or it succeeded: once per ring start
                    }

                    var last = attempts.Max(a => a.UpdatedAt);
                    if (now < last + RetryDelay(attempts.Count))
                    {
                        continue;
                    }
                }

                due.Add(id);
            }

            due = due.Take(options.Value.MaxUpdateCommandsPerPass - sent).ToList();
            if (due.Count == 0)
            {
                continue;
            }

            var arguments = new Dictionary<string, string>();
            if (ring.Deadline is { } deadline)
            {
                arguments["deadline"] = new DateTimeOffset(DateTime.SpecifyKind(deadline, DateTimeKind.Utc)).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
            }

            await issueCommand.ExecuteAsync(StaffScope.System, CommandKinds.InstallOsUpdates, arguments, new CommandTarget(due, null, null), null, cancellationToken);
            UpdatesLog.InstallsSent(Logger, rollout.Id, ring.Position, due.Count);
            sent += due.Count;
            if (sent >= options.Value.MaxUpdateCommandsPerPass)
            {
                break;
            }
        }

        return sent;
    }

    /// <summary>The wait after the <paramref name="failures"/>-th failed install of a ring: the base, doubling, at most the maximum.</summary>
    internal TimeSpan RetryDelay(int failures)
    {
        var delay = options.Value.InstallRetryBase * Math.Pow(2, Math.Min(Math.Max(0, failures - 1), 20));
        return delay < options.Value.InstallRetryMax ? delay : options.Value.InstallRetryMax;
    }

    /// <summary>Deletes stopped and finished rollouts past retention (their audit entries stay for the audit log's own time).</summary>
    public async Task<int> DeleteFinishedAsync(CancellationToken cancellationToken = default)
    {
        var before = Time.GetUtcNow().UtcDateTime - options.Value.FinishedRetention;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var deleted = await db.UpdateRollouts.Where(r => r.FinishedAt != null && r.FinishedAt < before).ExecuteDeleteAsync(cancellationToken);
        if (deleted > 0)
        {
            UpdatesLog.RetentionDeleted(Logger, deleted);
        }

        return deleted;
    }
}
