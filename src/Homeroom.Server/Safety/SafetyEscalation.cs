using Homeroom.Rules.Safety;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Safety;

/// <summary>
/// Escalates imminent alerts no one acknowledged: one still <c>new</c> <see cref="SafetyOptions.EscalateAfter"/>
/// after it was raised is marked escalated (in its history and the audit log), told again to the
/// safety leads, and sent by e-mail to the district's contacts (<see cref="SafetyOptions.EscalationContacts"/>).
/// </summary>
public sealed class SafetyEscalation(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    AuditTrail audit,
    Notifier notifier,
    EmailSender email,
    IOptions<SafetyOptions> options,
    TimeProvider time,
    ILogger<SafetyEscalation> logger)
    : PeriodicTask(TimeSpan.FromMinutes(1), time, logger)
{
    protected override async Task RunOnceAsync(CancellationToken cancellationToken) => await EscalateAsync(cancellationToken);

    /// <summary>Escalates every overdue imminent alert; returns how many.</summary>
    public async Task<int> EscalateAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow().UtcDateTime;
        var due = now - options.Value.EscalateAfter;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var alerts = await db.SafetyAlerts()
            .Where(a => a.Status == SafetyStatuses.New && a.SeverityRank >= (int)SafetySeverity.Imminent && a.FirstSeenAt <= due)
            .OrderBy(a => a.FirstSeenAt).Take(100).ToListAsync(cancellationToken);
        if (alerts.Count == 0)
        {
            return 0;
        }

        using (AuditTrail.ActAs(AuditActor.Of(StaffScope.System, null)))
        {
            foreach (var alert in alerts)
            {
                alert.Status = SafetyStatuses.Escalated;
                alert.EscalatedAt = now;
                alert.UpdatedAt = now;
                db.SafetyCaseEvents().Add(new SafetyCaseEvent
                {
                    Id = Guid.CreateVersion7(), AlertId = alert.Id, At = now, Actor = "system", Kind = "escalated", Status = SafetyStatuses.Escalated,
                    Text = $"Imminent and not acknowledged within {options.Value.EscalateAfter.TotalMinutes:0} minutes: escalated to the district's contacts.",
                });
                audit.Record(db, "safety.alert.escalate", "safetyAlert", alert.Id.ToString(), $"not acknowledged within {options.Value.EscalateAfter}", alert.SchoolId);
            }

            await db.SaveChangesAsync(cancellationToken);
        }

        var names = await db.Devices.AsNoTracking().Where(d => alerts.Select(a => a.DeviceId).Contains(d.Id))
            .ToDictionaryAsync(d => d.Id, d => d.Name, cancellationToken);
        foreach (var alert in alerts)
        {
            SafetyLog.Escalated(Logger, alert.Id);
            var notification = SafetyNotifications.Of(alert, names.GetValueOrDefault(alert.DeviceId) ?? "a device") with
            {
                Title = $"ESCALATED safety alert: {SafetyNotifications.CategoryLabel(alert.Category)} (imminent)",
                Text = $"An imminent safety alert was not acknowledged within {options.Value.EscalateAfter.TotalMinutes:0} minutes.",
                At = now,
            };
            notifier.Publish(notification);
            if (options.Value.EscalationContacts.Count > 0)
            {
                var outcome = await email.SendAsync(notification, options.Value.EscalationContacts, cancellationToken);
                if (!outcome.Succeeded)
                {
                    SafetyLog.EscalationMailFailed(Logger, alert.Id, outcome.Result);
                }
            }
        }

        return alerts.Count;
    }
}

/// <summary>
/// Deletes closed cases (resolved or false positive) with their evidence and screenshots
/// <see cref="SafetyOptions.ClosedCaseRetention"/> after closing, and screenshots of any case
/// <see cref="SafetyOptions.ScreenshotRetention"/> after they arrived. Open cases are kept.
/// </summary>
public sealed class SafetyRetention(IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<SafetyOptions> options, SqliteMaintenance housekeeping, TimeProvider time, ILogger<SafetyRetention> logger)
    : PeriodicTask(TimeSpan.FromHours(1), time, logger)
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
