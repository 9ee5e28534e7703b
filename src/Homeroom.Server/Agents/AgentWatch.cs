using System.Collections.Concurrent;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Locations;
using Homeroom.Server.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Agents;

/// <summary>
/// Notices a desktop agent that stops reporting while its computer keeps running, and raises an alert
/// (issue 17, self-protection). Two signals, both cheap to hold:
/// <list type="bullet">
/// <item>The agent's own goodbye: an agent closes with 1001 and <see cref="AgentGoingAwayReasons"/>. "agent stopped"
/// means its service stopped while the computer runs; if it is not back within
/// <see cref="AgentOptions.StoppedAlertGraceSeconds"/> (an upgrade or a restart is), an <c>agentStopped</c> alert is raised.
/// "system shutdown" and a normal close raise nothing.</item>
/// <item>A connection that drops without a word (killed, network lost, laptop asleep) says nothing by itself. It raises an
/// <c>agentSilent</c> alert only when the same computer shows itself through another channel after the agent fell silent
/// and the agent stays away for <see cref="AgentOptions.SilentAlertSeconds"/>: today that channel is Apple MDM (a Mac
/// enrolled both ways is one device, matched by platform and serial number, and its MDM check-ins go on without the
/// agent). A device with no other channel is forgotten at once.</item>
/// </list>
/// An alert clears when the agent connects again. The gateway's calls only touch a dictionary; the database is read
/// when a silent agent is first looked at (whether it is also managed through MDM) and when an alert is raised or cleared. Waiting agents are held
/// in memory: after a server restart every agent reconnects or is waited for afresh.
/// </summary>
public sealed class AgentWatch(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    ConnectionRegistry registry,
    PresenceTracker presence,
    AuditTrail audit,
    Notifier notifier,
    IOptions<AgentOptions> options,
    JobLeases leases,
    TimeProvider time,
    ILogger<AgentWatch> logger)
    : PeriodicTask(TimeSpan.FromSeconds(options.Value.WatchIntervalSeconds), leases, time, logger)
{
    /// <summary>How long a silent agent also managed through MDM is watched before it is forgotten (it went home, or was put away).</summary>
    public static readonly TimeSpan SilentWatchLimit = TimeSpan.FromHours(12);

    /// <summary>Each node waits, in its memory, for the agents whose connection to it ended.</summary>
    public override bool RunsOnEveryNode => true;

    private sealed class Waiting(bool stopped, DateTime since)
    {
        public bool Stopped { get; } = stopped;
        public DateTime Since { get; } = since;
        public bool? AlsoMdm { get; set; }
    }

    private readonly ConcurrentDictionary<Guid, Waiting> _waiting = new();
    // Devices with an open agent alert, so a reconnect knows to clear it without reading the database.
    private readonly ConcurrentDictionary<Guid, bool> _open = new();
    private volatile bool _loaded;

    /// <summary>Whether the watch waits for this device's agent now.</summary>
    public bool IsWaitingFor(Guid deviceId) => _waiting.ContainsKey(deviceId);

    /// <summary>The gateway: an agent authenticated.</summary>
    public void Connected(Guid deviceId) => _waiting.TryRemove(deviceId, out _);

    /// <summary>The gateway: a connection the server did not close itself ended (its close code and reason, null when none came).</summary>
    public void Disconnected(Guid deviceId, DevicePlatform platform, int? closeCode, string? reason)
    {
        if (platform is not (DevicePlatform.Windows or DevicePlatform.MacOS or DevicePlatform.Linux))
        {
            return; // Chromebooks' extension is force-installed by Google Admin and iPads have no agent.
        }

        var now = Time.GetUtcNow().UtcDateTime;
        if (closeCode == AgentCloseCodes.ServerShuttingDown && reason == AgentGoingAwayReasons.AgentStopped)
        {
            _waiting[deviceId] = new Waiting(true, now);
        }
        else if (closeCode != (int)System.Net.WebSockets.WebSocketCloseStatus.NormalClosure
            && !(closeCode == AgentCloseCodes.ServerShuttingDown && reason == AgentGoingAwayReasons.SystemShutdown))
        {
            // No goodbye that explains it: the connection dropped (how a dropped TCP connection reads differs between stacks).
            _waiting[deviceId] = new Waiting(false, now);
        }
    }

    protected override async Task RunOnceAsync(CancellationToken cancellationToken) =>
        await RunExclusiveAsync(async ct => { await CheckAsync(ct); return 0; }, cancellationToken);

    /// <summary>One pass: clears the alerts of agents that came back, raises those whose wait ran out.</summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var now = Time.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!_loaded)
        {
            foreach (var id in await db.Alerts.Where(a => (a.Kind == AlertKinds.AgentStopped || a.Kind == AlertKinds.AgentSilent) && a.ClearedAt == null)
                .Select(a => a.DeviceId).ToListAsync(cancellationToken))
            {
                _open[id] = true;
            }

            _loaded = true;
        }

        foreach (var deviceId in _open.Keys.Where(registry.IsOnline).ToList())
        {
            await ClearAsync(db, deviceId, now, cancellationToken);
        }

        foreach (var (deviceId, waiting) in _waiting.ToArray())
        {
            if (registry.IsOnline(deviceId) || _open.ContainsKey(deviceId))
            {
                _waiting.TryRemove(deviceId, out _);
                continue;
            }

            if (waiting.Stopped)
            {
                if (now - waiting.Since >= TimeSpan.FromSeconds(o.StoppedAlertGraceSeconds))
                {
                    _waiting.TryRemove(deviceId, out _);
                    await RaiseAsync(db, deviceId, AlertKinds.AgentStopped, waiting.Since, null, now, cancellationToken);
                }

                continue;
            }

            if (now - waiting.Since >= SilentWatchLimit)
            {
                _waiting.TryRemove(deviceId, out _);
                continue;
            }

            waiting.AlsoMdm ??= await db.AppleDevices.AnyAsync(a => a.DeviceId == deviceId, cancellationToken);
            if (waiting.AlsoMdm == false)
            {
                _waiting.TryRemove(deviceId, out _);
                continue;
            }

            if (now - waiting.Since < TimeSpan.FromSeconds(o.SilentAlertSeconds))
            {
                continue;
            }

            if (presence.Get(deviceId)?.LastMdmContactAt is { } at && at > waiting.Since)
            {
                _waiting.TryRemove(deviceId, out _);
                await RaiseAsync(db, deviceId, AlertKinds.AgentSilent, waiting.Since, at, now, cancellationToken);
            }
        }
    }

    private async Task RaiseAsync(HomeroomDbContext db, Guid deviceId, string kind, DateTime since, DateTime? seenElsewhereAt, DateTime now, CancellationToken cancellationToken)
    {
        var device = await db.Devices.AsNoTracking().Where(d => d.Id == deviceId && d.RevokedAt == null && d.State != DeviceState.Retired)
            .Select(d => new { d.Name, d.SchoolId }).FirstOrDefaultAsync(cancellationToken);
        if (device is null)
        {
            return; // Revoked or retired while we waited: nobody needs telling.
        }

        var details = kind == AlertKinds.AgentStopped
            ? $"The Homeroom agent on {device.Name} was stopped at {since:u} while the computer kept running, and has not come back."
            : $"The Homeroom agent on {device.Name} fell silent at {since:u}, but the computer checked in through Apple MDM at {seenElsewhereAt:u}: it is running without its agent.";
        var alert = new Alert { Id = Guid.CreateVersion7(), Kind = kind, DeviceId = deviceId, RaisedAt = now, Details = details };
        db.Alerts.Add(alert);
        audit.Record(db, "alert.raise", "device", deviceId.ToString(), details, device.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        db.ChangeTracker.Clear();
        _open[deviceId] = true;
        AgentsLog.AgentAway(logger, deviceId, kind);
        notifier.Publish(AlertNotifications.Of(alert, device.SchoolId, device.Name));
    }

    private async Task ClearAsync(HomeroomDbContext db, Guid deviceId, DateTime now, CancellationToken cancellationToken)
    {
        var alerts = await db.Alerts.Where(a => a.DeviceId == deviceId && (a.Kind == AlertKinds.AgentStopped || a.Kind == AlertKinds.AgentSilent) && a.ClearedAt == null)
            .ToListAsync(cancellationToken);
        foreach (var alert in alerts)
        {
            alert.ClearedAt = now;
            audit.Record(db, "alert.clear", "device", deviceId.ToString(), $"The agent reconnected; alert {alert.Id}");
        }

        await db.SaveChangesAsync(cancellationToken);
        db.ChangeTracker.Clear();
        _open.TryRemove(deviceId, out _);
        if (alerts.Count > 0 && await db.Devices.AsNoTracking().Where(d => d.Id == deviceId).Select(d => new { d.Name, d.SchoolId }).FirstOrDefaultAsync(cancellationToken) is { } back)
        {
            foreach (var alert in alerts.Where(a => a.AcknowledgedAt is null))
            {
                notifier.Update(AlertNotifications.Of(alert, back.SchoolId, back.Name));
            }
        }
    }
}
