using Homeroom.Rules.Safety;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Safety;

/// <summary>
/// Walks the escalation chain of imminent alerts no one acknowledged. An alert still <c>new</c> its
/// school's delay (<see cref="SafetySettings.EscalateAfterMinutes"/>, else <see cref="SafetyOptions.EscalateAfter"/>)
/// after it was raised is marked escalated, told again to the safety leads and mailed to the chain's
/// first step; each further delay without a person acknowledging it (a status change or an assignment)
/// mails the next step: the school's contacts in order, then the district's contacts
/// (<see cref="SafetyOptions.EscalationContacts"/>), the only step for an alert of no school. Each step is
/// in the case's history and the audit log.
/// </summary>
public sealed class SafetyEscalation(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    AuditTrail audit,
    Notifier notifier,
    EmailSender email,
    SafetySettingsDirectory routing,
    JobLeases leases,
    TimeProvider time,
    ILogger<SafetyEscalation> logger)
    : PeriodicTask(TimeSpan.FromMinutes(1), leases, time, logger)
{
    /// <summary>Open, unacknowledged imminent alerts looked at per run (those told least first, then the oldest).</summary>
    public const int BatchSize = 500;

    protected override async Task RunOnceAsync(CancellationToken cancellationToken) => await EscalateAsync(cancellationToken);

    /// <summary>Takes every overdue step of every unacknowledged imminent alert; returns how many steps were taken.</summary>
    public Task<int> EscalateAsync(CancellationToken cancellationToken) => RunExclusiveAsync(EscalateOnceAsync, cancellationToken);

    private async Task<int> EscalateOnceAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var candidates = await db.SafetyAlerts()
            .Where(a => a.AcknowledgedAt == null && a.SeverityRank >= (int)SafetySeverity.Imminent
                && (a.Status == SafetyStatuses.New || a.Status == SafetyStatuses.Escalated)
                && a.EscalationStep <= SafetySettingsDirectory.MaxContacts)
            .OrderBy(a => a.EscalationStep).ThenBy(a => a.FirstSeenAt).Take(BatchSize).ToListAsync(cancellationToken);
        if (candidates.Count == 0)
        {
            return 0;
        }

        var routes = new Dictionary<Guid, SafetyRoute>();
        var noSchool = await routing.RouteAsync(db, null, cancellationToken);
        var steps = new List<(SafetyAlert Alert, EscalationStep? Step, SafetyRoute Route)>();
        foreach (var alert in candidates)
        {
            SafetyRoute route;
            if (alert.SchoolId is { } school)
            {
                if (!routes.TryGetValue(school, out route!))
                {
                    route = await routing.RouteAsync(db, school, cancellationToken);
                    routes[school] = route;
                }
            }
            else
            {
                route = noSchool;
            }

            var since = alert.EscalationStep == 0 ? alert.FirstSeenAt : alert.LastEscalatedAt ?? alert.EscalatedAt ?? alert.FirstSeenAt;
            // The first step is always taken (marked escalated, told again) even with no one to mail.
            var last = Math.Max(route.Chain.Count, 1);
            if (alert.EscalationStep >= last || since + route.EscalateAfter > now)
            {
                continue;
            }

            steps.Add((alert, alert.EscalationStep < route.Chain.Count ? route.Chain[alert.EscalationStep] : null, route));
        }

        if (steps.Count == 0)
        {
            return 0;
        }

        using (AuditTrail.ActAs(AuditActor.Of(StaffScope.System, null)))
        {
            foreach (var (alert, step, route) in steps)
            {
                alert.EscalationStep++;
                alert.Status = SafetyStatuses.Escalated;
                alert.EscalatedAt ??= now;
                alert.LastEscalatedAt = now;
                alert.UpdatedAt = now;
                var minutes = route.EscalateAfter.TotalMinutes.ToString("0", System.Globalization.CultureInfo.InvariantCulture);
                var to = step is null ? "no one to mail (no escalation contacts)" : step.Label;
                db.SafetyCaseEvents().Add(new SafetyCaseEvent
                {
                    Id = Guid.CreateVersion7(), AlertId = alert.Id, At = now, Actor = "system", Kind = "escalated", Status = SafetyStatuses.Escalated,
                    Text = $"Imminent and not acknowledged within {minutes} minutes: escalation step {alert.EscalationStep} of {Math.Max(route.Chain.Count, 1)}, to {to}.",
                });
                audit.Record(db, "safety.alert.escalate", "safetyAlert", alert.Id.ToString(),
                    $"step {alert.EscalationStep} to {to}: not acknowledged within {route.EscalateAfter}", alert.SchoolId);
            }

            await db.SaveChangesAsync(cancellationToken);
        }

        var ids = steps.Select(s => s.Alert.DeviceId).ToList();
        var names = await db.Devices.AsNoTracking().Where(d => ids.Contains(d.Id)).ToDictionaryAsync(d => d.Id, d => d.Name, cancellationToken);
        foreach (var (alert, step, route) in steps)
        {
            SafetyLog.Escalated(Logger, alert.Id);
            var notification = SafetyNotifications.Of(alert, names.GetValueOrDefault(alert.DeviceId) ?? "a device") with
            {
                Title = $"ESCALATED safety alert: {SafetyNotifications.CategoryLabel(alert.Category)} (imminent)",
                Text = $"An imminent safety alert was not acknowledged within {route.EscalateAfter.TotalMinutes:0} minutes (escalation step {alert.EscalationStep}).",
                At = now,
            };
            if (alert.EscalationStep == 1)
            {
                notifier.Publish(notification);
            }
            else
            {
                notifier.Update(notification);
            }

            if (step is not null)
            {
                var outcome = await email.SendAsync(notification, step.Addresses, cancellationToken);
                if (!outcome.Succeeded)
                {
                    SafetyLog.EscalationMailFailed(Logger, alert.Id, outcome.Result);
                }
            }
        }

        return steps.Count;
    }
}

/// <summary>
/// Deletes closed cases (resolved or false positive) with their evidence and screenshots
/// <see cref="SafetyOptions.ClosedCaseRetention"/> after closing, and screenshots of any case
/// <see cref="SafetyOptions.ScreenshotRetention"/> after they arrived. Open cases are kept.
/// </summary>
public sealed class SafetyRetention(IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<SafetyOptions> options, SqliteMaintenance housekeeping, JobLeases leases, TimeProvider time, ILogger<SafetyRetention> logger)
    : PeriodicTask(TimeSpan.FromHours(1), leases, time, logger)
{
    protected override async Task RunOnceAsync(CancellationToken cancellationToken) => await PurgeAsync(cancellationToken);

    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow().UtcDateTime;
        var closedBefore = now - options.Value.ClosedCaseRetention;
        var shotsBefore = now - options.Value.ScreenshotRetention;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var total = await db.SafetyScreenshots().Where(s => s.ReceivedAt < shotsBefore).ExecuteDeleteAsync(cancellationToken);
        var closed = db.SafetyAlerts().Where(a => a.ClosedAt != null && a.ClosedAt < closedBefore
            && (a.Status == SafetyStatuses.Resolved || a.Status == SafetyStatuses.FalsePositive)).Select(a => a.Id);
        total += await db.SafetyScreenshots().Where(s => closed.Contains(s.AlertId)).ExecuteDeleteAsync(cancellationToken);
        total += await db.SafetyEvidence().Where(e => closed.Contains(e.AlertId)).ExecuteDeleteAsync(cancellationToken);
        total += await db.SafetyCaseEvents().Where(e => closed.Contains(e.AlertId)).ExecuteDeleteAsync(cancellationToken);
        await db.SafetyLexiconAdjustments().Where(a => a.AlertId != null && closed.Contains(a.AlertId.Value))
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.AlertId, (Guid?)null), cancellationToken);
        total += await db.SafetyAlerts().Where(a => a.ClosedAt != null && a.ClosedAt < closedBefore
            && (a.Status == SafetyStatuses.Resolved || a.Status == SafetyStatuses.FalsePositive)).ExecuteDeleteAsync(cancellationToken);
        if (total > 0)
        {
            HostingLog.RetentionPurged(Logger, nameof(SafetyRetention), total);
            await housekeeping.AfterPurgeAsync(total, cancellationToken);
        }

        return total;
    }
}
