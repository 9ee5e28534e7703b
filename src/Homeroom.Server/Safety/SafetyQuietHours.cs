using System.Globalization;
using System.Text;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Safety;

/// <summary>
/// Sends what a school's quiet hours held: once they have ended, the high alerts whose e-mail and
/// webhook were held (<see cref="SafetyAlert.QuietHeldAt"/>) go out as one summary notification per
/// school, by the school's notification settings (kind <c>safety</c>). Like every safety e-mail it names
/// category, severity, device, status and a link, never the matched text.
/// </summary>
public sealed class SafetyQuietHours(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    SafetySettingsDirectory routing,
    Notifier notifier,
    IOptions<NotificationOptions> notificationOptions,
    JobLeases leases,
    TimeProvider time,
    ILogger<SafetyQuietHours> logger)
    : PeriodicTask(TimeSpan.FromMinutes(1), leases, time, logger)
{
    /// <summary>Alerts named one by one in a summary; the rest are counted.</summary>
    public const int MaxListed = 50;

    protected override async Task RunOnceAsync(CancellationToken cancellationToken) => await SendSummariesAsync(cancellationToken);

    /// <summary>Sends a summary for every school whose quiet hours ended with alerts held; returns how many summaries.</summary>
    public Task<int> SendSummariesAsync(CancellationToken cancellationToken) => RunExclusiveAsync(SendOnceAsync, cancellationToken);

    private async Task<int> SendOnceAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var held = await db.SafetyAlerts().AsNoTracking().Where(a => a.QuietHeldAt != null && a.SchoolId != null)
            .OrderBy(a => a.QuietHeldAt).ThenBy(a => a.Id)
            .Select(a => new
            {
                a.Id, SchoolId = a.SchoolId!.Value, a.Category, a.Severity, a.Status, a.FirstSeenAt,
                Device = db.Devices.Where(d => d.Id == a.DeviceId).Select(d => d.Name).FirstOrDefault(),
            })
            .ToListAsync(cancellationToken);
        var sent = 0;
        foreach (var school in held.GroupBy(a => a.SchoolId))
        {
            var quiet = (await routing.RouteAsync(db, school.Key, cancellationToken)).Quiet;
            if (quiet?.Contains(now) == true)
            {
                continue; // Still quiet: keep holding.
            }

            var ids = school.Select(a => a.Id).ToList();
            // Cleared before it is queued: a second run must not send the same summary again.
            await db.SafetyAlerts().Where(a => ids.Contains(a.Id))
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.QuietHeldAt, (DateTime?)null), cancellationToken);

            var options = notificationOptions.Value;
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"{ids.Count} high safety alert(s) were raised during this school's quiet hours; their e-mails and webhooks were held until now.\n");
            foreach (var alert in school.Take(MaxListed))
            {
                text.Append(CultureInfo.InvariantCulture,
                    $"\n- {SafetyNotifications.CategoryLabel(alert.Category)} ({alert.Severity}) on {alert.Device ?? "a device"}, raised {alert.FirstSeenAt:yyyy-MM-dd HH:mm} UTC, now {alert.Status}: {NotificationLinks.Absolute(options, $"/safety/alerts/{alert.Id}")}");
            }

            if (ids.Count > MaxListed)
            {
                text.Append(CultureInfo.InvariantCulture, $"\n- and {ids.Count - MaxListed} more.");
            }

            notifier.SendOutward(new Notification(
                NotificationKinds.Safety,
                NotificationSeverity.High,
                Guid.CreateVersion7(),
                school.Key,
                null,
                $"Safety alerts held during quiet hours: {ids.Count}",
                text.ToString(),
                "/safety",
                now,
                Accounts.Permission.ReadSafety));
            SafetyLog.QuietSummary(Logger, school.Key, ids.Count);
            sent++;
        }

        return sent;
    }
}
