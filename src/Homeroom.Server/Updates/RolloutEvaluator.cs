using Homeroom.Contracts.Agents;
using Homeroom.Rules.Commands;
using Homeroom.Rules.Updates;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Updates;

/// <summary>What one evaluation of one rollout decided.</summary>
public sealed record RolloutEvaluation(Guid RolloutId, int Ring, GateDecision Decision, IReadOnlyList<RolloutEvent> Events, int UpdateCommandsSent);

/// <summary>
/// The periodic job of the rollouts: once a minute (<see cref="UpdateOptions.EvaluationInterval"/>) it
/// evaluates each active rollout's current ring against its gate (<see cref="RingGate"/>) and applies the
/// decision (<see cref="RolloutMachine"/>): a soak started or reset, a promotion, a pause with its reason,
/// each audited as the system. What it reads as health: each device's <c>last_seen_at</c> (check-ins and
/// heartbeats), its failed <c>updateOs</c> commands (a failed install) and its other failed commands, since
/// the ring started (or was resumed) against as long a time before the ring started. A pass writes with
/// the rollout's concurrency tokens, so two servers, or a pass and an administrator, never both apply a
/// step from the same reading. Apple devices still below the target after their ring's deadline are sent
/// ScheduleOSUpdate once. Finished rollouts are deleted after <see cref="UpdateOptions.FinishedRetention"/>.
/// </summary>
public sealed class RolloutEvaluator(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    AuditTrail audit,
    IssueCommand issueCommand,
    IOptions<UpdateOptions> options,
    TimeProvider time,
    ILogger<RolloutEvaluator> logger)
    : PeriodicTask(options.Value.EvaluationInterval, time, logger)
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
        }

        var sent = rollout.State == RolloutState.Active && rollout.Platform is UpdatePlatform.Ios or UpdatePlatform.MacOS
            ? await ScheduleOverdueAsync(db, rollout, target, now, cancellationToken)
            : 0;
        return new RolloutEvaluation(rollout.Id, ring.Position, decision, step.Events, sent);
    }

    /// <summary>The devices of a ring with what the gate reads of them, in a few statements whatever the ring's size.</summary>
    internal async Task<RingDevice[]> LoadRingAsync(
        HomeroomDbContext db, UpdatePlatform platform, Guid groupId, DateTime ringStartedAt, DateTime since, DateTime now, CancellationToken cancellationToken)
    {
        var members = Members(db, platform, groupId);
        var rows = await members.Select(d => new { d.Id, d.OsVersion, d.LastSeenAt }).ToListAsync(cancellationToken);

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
            if (failure.Kind == CommandKinds.UpdateOs)
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
            devices[i] = new RingDevice(OsVersion.FromReported(row.OsVersion), row.LastSeenAt, lastFailedInstall, errorsSince, errorsBefore);
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
