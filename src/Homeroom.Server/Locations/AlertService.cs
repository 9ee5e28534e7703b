using System.Collections.Concurrent;
using System.Threading.Channels;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Notifications;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Locations;

/// <summary>A device's bounds state as last evaluated.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="OutOfBounds">Whether it is out of bounds now.</param>
/// <param name="Message">What to tell the device when it is.</param>
/// <param name="Latitude">Where it was, when a fix decided.</param>
/// <param name="Longitude">Where it was, when a fix decided.</param>
/// <param name="Explanation">Which signal decided (the fix or the network range), shown on the alert; null when not known.</param>
public sealed record BoundsReport(Guid DeviceId, bool OutOfBounds, string? Message, double? Latitude, double? Longitude, string? Explanation = null);

/// <summary>Kinds of alert.</summary>
public static class AlertKinds
{
    public const string OutOfBounds = "outOfBounds";

    /// <summary>A desktop agent said it was stopped while its computer kept running, and did not come back (see <c>AgentWatch</c>).</summary>
    public const string AgentStopped = "agentStopped";

    /// <summary>A desktop agent fell silent while its computer went on checking in through Apple MDM.</summary>
    public const string AgentSilent = "agentSilent";

    /// <summary>How the console names an alert's kind, and its state.</summary>
    public static string Title(string kind) => kind switch
    {
        OutOfBounds => "out of bounds",
        AgentStopped => "agent stopped",
        AgentSilent => "agent silent",
        _ => kind,
    };

    /// <summary>The state column: what is wrong, or what cleared it.</summary>
    public static string State(string kind, bool cleared) => (kind, cleared) switch
    {
        (OutOfBounds, false) => "out of bounds",
        (OutOfBounds, true) => "back in bounds",
        (AgentStopped or AgentSilent, false) => "agent not reporting",
        (AgentStopped or AgentSilent, true) => "agent back",
        (_, false) => kind,
        (_, true) => "cleared",
    };
}

/// <summary>
/// Raises and clears out-of-bounds alerts. Raising one stores it, writes the audit log and sends
/// the device a message (a durable command); coming back in bounds clears it. One open alert per
/// device at most. Runs off the heartbeat path: reports are queued and handled in order.
/// </summary>
public sealed class AlertService(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    IssueCommand issueCommand,
    AuditTrail audit,
    TimeProvider time,
    Notifier notifier,
    ILogger<AlertService> logger) : BackgroundService
{
    private readonly Channel<BoundsReport> _reports = Channel.CreateBounded<BoundsReport>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
    // Devices with an open out-of-bounds alert. Read by Report on heartbeat threads, changed by the loop.
    private readonly ConcurrentDictionary<Guid, bool> _open = new();
    private volatile bool _loaded;

    /// <summary>Raised after an alert was stored (tests and live views listen).</summary>
    public event Action<Alert>? Raised;

    public void Report(BoundsReport report)
    {
        if (_loaded && report.OutOfBounds == _open.ContainsKey(report.DeviceId))
        {
            return; // Nothing changes.
        }

        _reports.Writer.TryWrite(report);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using (var db = await dbFactory.CreateDbContextAsync(stoppingToken))
        {
            foreach (var deviceId in await db.Alerts.Where(a => a.Kind == AlertKinds.OutOfBounds && a.ClearedAt == null).Select(a => a.DeviceId).ToListAsync(stoppingToken))
            {
                _open[deviceId] = true;
            }

            _loaded = true;
        }

        await foreach (var report in _reports.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await HandleAsync(report, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LocationsLog.AlertFailed(logger, report.DeviceId, e);
            }
        }
    }

    private async Task HandleAsync(BoundsReport report, CancellationToken cancellationToken)
    {
        if (report.OutOfBounds == _open.ContainsKey(report.DeviceId))
        {
            return;
        }

        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!report.OutOfBounds)
        {
            var alerts = await db.Alerts.Where(a => a.DeviceId == report.DeviceId && a.Kind == AlertKinds.OutOfBounds && a.ClearedAt == null).ToListAsync(cancellationToken);
            foreach (var alert in alerts)
            {
                alert.ClearedAt = now;
                audit.Record(db, "alert.clear", "device", report.DeviceId.ToString(), report.Explanation is null ? $"Back in bounds; alert {alert.Id}" : $"Back in bounds; alert {alert.Id}. {report.Explanation}");
            }

            await db.SaveChangesAsync(cancellationToken);
            _open.TryRemove(report.DeviceId, out _);
            if (alerts.Count > 0 && await db.Devices.AsNoTracking().Where(d => d.Id == report.DeviceId).Select(d => new { d.Name, d.SchoolId }).FirstOrDefaultAsync(cancellationToken) is { } back)
            {
                foreach (var alert in alerts.Where(a => a.AcknowledgedAt is null))
                {
                    notifier.Update(AlertNotifications.Of(alert, back.SchoolId, back.Name));
                }
            }

            return;
        }

        var device = await db.Devices.AsNoTracking().Where(d => d.Id == report.DeviceId).Select(d => new { d.Name, d.Latitude, d.Longitude, d.SchoolId }).FirstOrDefaultAsync(cancellationToken);
        if (device is null)
        {
            return;
        }

        var raised = new Alert
        {
            Id = Guid.CreateVersion7(),
            Kind = AlertKinds.OutOfBounds,
            DeviceId = report.DeviceId,
            RaisedAt = now,
            Latitude = report.Latitude ?? device.Latitude,
            Longitude = report.Longitude ?? device.Longitude,
            Details = report.Explanation is null ? $"{device.Name} left its allowed zones." : $"{device.Name} left its allowed zones. {report.Explanation}",
        };
        db.Alerts.Add(raised);
        audit.Record(db, "alert.raise", "device", report.DeviceId.ToString(), raised.Details);
        await db.SaveChangesAsync(cancellationToken);
        _open[report.DeviceId] = true;
        LocationsLog.OutOfBounds(logger, report.DeviceId);
        Raised?.Invoke(raised);
        notifier.Publish(AlertNotifications.Of(raised, device.SchoolId, device.Name));

        var message = new Dictionary<string, string>
        {
            ["title"] = "Out of bounds",
            ["text"] = report.Message ?? "This device is outside the area it may be used in.",
        };
        await issueCommand.ExecuteAsync(StaffScope.System, CommandKinds.Message, message, new CommandTarget([report.DeviceId], null, null), TimeSpan.FromHours(1), cancellationToken);
    }
}

internal static partial class LocationsLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {DeviceId} is out of bounds")]
    public static partial void OutOfBounds(ILogger logger, Guid deviceId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling the bounds of device {DeviceId} failed")]
    public static partial void AlertFailed(ILogger logger, Guid deviceId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Whether device {DeviceId} may report its location could not be read; its fix is not taken")]
    public static partial void ConsentUnknown(ILogger logger, Guid deviceId, Exception exception);
}
