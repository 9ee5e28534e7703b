using System.Collections.Concurrent;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Homeroom.Server.Devices;

/// <summary>The newest telemetry of one device, held in memory between flushes.</summary>
public sealed class DevicePresence
{
    internal int Dirty;

    public DateTime LastSeenAt { get; internal set; }
    public BatteryState? Battery { get; internal set; }
    public NetworkState? Network { get; internal set; }
    public LocationFix? Location { get; internal set; }
    public long? PolicyVersionApplied { get; internal set; }

    /// <summary>The last check-in or command poll of a device managed through Apple MDM.</summary>
    public DateTime? LastMdmContactAt { get; internal set; }
}

/// <summary>
/// Keeps last-seen times and the latest heartbeat of every device in memory and writes the changed
/// ones in one transaction every <see cref="PresenceOptions.FlushInterval"/>: a heartbeat never
/// causes a database write of its own. Online status is not stored at all (<see cref="IsOnline"/>):
/// an agent is online while it has a live connection (<see cref="Agents.ConnectionRegistry"/>), an
/// Apple device managed through MDM while its last check-in or poll is within
/// <see cref="PresenceOptions.MdmOnlineWindow"/>. When the database is unavailable the devices stay
/// marked and the next flush tries again; a device whose row the database refuses for its data is
/// isolated (the others are written), logged and counted, and its network facts, the only text in
/// the row, are forgotten so its next report writes cleanly. On PostgreSQL with several nodes, an agent
/// connected to another node counts as online while that node says so and is heard
/// (<see cref="DeviceLiveState.OnlineElsewhere"/>).
/// </summary>
public sealed class PresenceTracker(BulkSql bulk, Agents.ConnectionRegistry registry, DeviceLiveState live, IOptions<PresenceOptions> options, JobLeases leases, TimeProvider time, ILogger<PresenceTracker> logger)
    : PeriodicTask(options.Value.FlushInterval, leases, time, logger)
{
    private const string UpdateSql = """
        UPDATE devices SET
            last_seen_at = @ls,
            battery_level = COALESCE(@bl, battery_level),
            battery_charging = COALESCE(@bc, battery_charging),
            network_kind = COALESCE(@nk, network_kind),
            ip_address = COALESCE(@ip, ip_address),
            latitude = COALESCE(@la, latitude),
            longitude = COALESCE(@lo, longitude),
            location_accuracy = COALESCE(@acc, location_accuracy),
            location_at = COALESCE(@lat, location_at),
            policy_version_applied = COALESCE(@pv, policy_version_applied)
        WHERE id = @id
        """;

    /// <summary>
    /// On PostgreSQL the whole slice is one statement over one array per column: a batch of per-row statements cost
    /// eleven parameter objects and a rewritten copy of the statement per row, about a tenth of all the server allocated
    /// after a 10,000-device connect storm (docs/performance.md, PostgreSQL memory per device).
    /// </summary>
    private const string PostgresUpdateSql = """
        UPDATE devices AS d SET
            last_seen_at = v.ls,
            battery_level = COALESCE(v.bl, d.battery_level),
            battery_charging = COALESCE(v.bc, d.battery_charging),
            network_kind = COALESCE(v.nk, d.network_kind),
            ip_address = COALESCE(v.ip, d.ip_address),
            latitude = COALESCE(v.la, d.latitude),
            longitude = COALESCE(v.lo, d.longitude),
            location_accuracy = COALESCE(v.acc, d.location_accuracy),
            location_at = COALESCE(v.lat, d.location_at),
            policy_version_applied = COALESCE(v.pv, d.policy_version_applied)
        FROM unnest(@ls, @bl, @bc, @nk, @ip, @la, @lo, @acc, @lat, @pv, @id) AS v (ls, bl, bc, nk, ip, la, lo, acc, lat, pv, id)
        WHERE d.id = v.id
        """;

    /// <summary>Each node writes the presence of the devices connected to it, held in its memory.</summary>
    public override bool RunsOnEveryNode => true;

    private static readonly string[] Parameters = ["@ls", "@bl", "@bc", "@nk", "@ip", "@la", "@lo", "@acc", "@lat", "@pv", "@id"];

    private readonly ConcurrentDictionary<Guid, DevicePresence> _devices = new();
    private readonly ConcurrentQueue<Guid> _dirty = new();
    private long _rejected;

    /// <summary>Device rows the database refused for their data since start; they were not written.</summary>
    public long RejectedCount => Interlocked.Read(ref _rejected);

    public DevicePresence? Get(Guid deviceId) => _devices.GetValueOrDefault(deviceId);

    public int PendingWrites => _dirty.Count;

    /// <summary>Any frame from the device counts as a sign of life.</summary>
    public void Touch(Guid deviceId) => Update(deviceId, static (_, _) => { }, (object?)null);

    public void Heartbeat(Guid deviceId, HeartbeatFrame frame) => Update(deviceId, static (p, f) =>
    {
        p.Battery = f.Battery ?? p.Battery;
        p.Network = f.Network ?? p.Network;
        p.Location = f.Location ?? p.Location;
    }, frame);

    public void PolicyApplied(Guid deviceId, long version) => Update(deviceId, static (p, v) => p.PolicyVersionApplied = v, version);

    /// <summary>An Apple device checked in or polled for commands over MDM: seen now, and online for <see cref="PresenceOptions.MdmOnlineWindow"/>.</summary>
    public void MdmContact(Guid deviceId) => Update(deviceId, static (p, _) => p.LastMdmContactAt = p.LastSeenAt, (object?)null);

    /// <summary>The one definition of online, for the API and the console: a live agent connection, or an MDM contact within the window.</summary>
    public bool IsOnline(Guid deviceId) => registry.IsOnline(deviceId) || live.OnlineElsewhere(deviceId) || ReachedOverMdm(_devices.GetValueOrDefault(deviceId), MdmOnlineSince());

    /// <summary>Every device online now, in the sense of <see cref="IsOnline"/>.</summary>
    public IReadOnlyCollection<Guid> OnlineDeviceIds
    {
        get
        {
            var since = MdmOnlineSince();
            var online = new HashSet<Guid>(registry.OnlineDeviceIds);
            online.UnionWith(live.OnlineElsewhereIds);
            foreach (var (id, presence) in _devices)
            {
                if (ReachedOverMdm(presence, since))
                {
                    online.Add(id);
                }
            }

            return online;
        }
    }

    private DateTime MdmOnlineSince() => Time.GetUtcNow().UtcDateTime - options.Value.MdmOnlineWindow;

    private static bool ReachedOverMdm(DevicePresence? presence, DateTime since) => presence?.LastMdmContactAt is { } at && at >= since;

    private void Update<TState>(Guid deviceId, Action<DevicePresence, TState> apply, TState state)
    {
        var presence = _devices.GetOrAdd(deviceId, static _ => new DevicePresence());
        lock (presence)
        {
            presence.LastSeenAt = Time.GetUtcNow().UtcDateTime;
            apply(presence, state);
        }

        if (Interlocked.Exchange(ref presence.Dirty, 1) == 0)
        {
            _dirty.Enqueue(deviceId);
        }
    }

    /// <summary>Forgets a device (revoked or deleted) so nothing more is written for it.</summary>
    public void Forget(Guid deviceId) => _devices.TryRemove(deviceId, out _);

    protected override Task RunOnceAsync(CancellationToken cancellationToken) => FlushAsync(cancellationToken);

    /// <summary>Writes every changed device now.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var rows = new List<(Guid Id, DateTime LastSeen, BatteryState? Battery, NetworkState? Network, LocationFix? Location, long? Policy)>();
        while (_dirty.TryDequeue(out var id))
        {
            if (!_devices.TryGetValue(id, out var presence))
            {
                continue;
            }

            Interlocked.Exchange(ref presence.Dirty, 0);
            lock (presence)
            {
                rows.Add((id, presence.LastSeenAt, presence.Battery, presence.Network, presence.Location, presence.PolicyVersionApplied));
            }
        }

        if (rows.Count == 0)
        {
            return;
        }

        try
        {
            // Slices keep each transaction short, so a command issued during a flush waits little.
            foreach (var slice in rows.Chunk(1_000))
            {
                await WriteIsolatingAsync(slice, cancellationToken);
            }
        }
        catch
        {
            // Nothing is lost: mark the devices dirty again so the next flush retries them.
            foreach (var row in rows)
            {
                if (_devices.TryGetValue(row.Id, out var presence) && Interlocked.Exchange(ref presence.Dirty, 1) == 0)
                {
                    _dirty.Enqueue(row.Id);
                }
            }

            throw;
        }
    }

    /// <summary>Writes the rows; when the database refuses their data, halves them until the refused rows stand alone and drops those.</summary>
    private async Task WriteIsolatingAsync((Guid Id, DateTime LastSeen, BatteryState? Battery, NetworkState? Network, LocationFix? Location, long? Policy)[] rows, CancellationToken cancellationToken)
    {
        try
        {
            await WriteAsync(rows, cancellationToken);
        }
        catch (Exception ex) when (WriteErrors.IsDataError(ex))
        {
            if (rows.Length > 1)
            {
                await WriteIsolatingAsync(rows[..(rows.Length / 2)], cancellationToken);
                await WriteIsolatingAsync(rows[(rows.Length / 2)..], cancellationToken);
                return;
            }

            Interlocked.Increment(ref _rejected);
            HostingLog.ItemRejected(Logger, nameof(PresenceTracker), $"the presence of device {rows[0].Id}", ex);
            if (_devices.TryGetValue(rows[0].Id, out var presence))
            {
                lock (presence)
                {
                    presence.Network = null;
                }
            }
        }
    }

    private async Task WriteAsync((Guid Id, DateTime LastSeen, BatteryState? Battery, NetworkState? Network, LocationFix? Location, long? Policy)[] rows, CancellationToken cancellationToken)
    {
        await using var connection = await bulk.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (connection is NpgsqlConnection postgres)
        {
            await WritePostgresAsync(postgres, (NpgsqlTransaction)transaction, rows, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return;
        }

        await bulk.ExecuteManyAsync(connection, transaction, UpdateSql, Parameters, rows, (r, v) =>
        {
            v[0] = r.LastSeen;
            v[1] = r.Battery?.Level;
            v[2] = r.Battery?.Charging;
            v[3] = r.Network?.Kind;
            v[4] = r.Network?.IpAddress;
            v[5] = r.Location?.Latitude;
            v[6] = r.Location?.Longitude;
            v[7] = r.Location?.AccuracyMeters;
            v[8] = r.Location?.CapturedAt.UtcDateTime;
            v[9] = r.Policy;
            v[10] = bulk.Id(r.Id);
        }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task WritePostgresAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        (Guid Id, DateTime LastSeen, BatteryState? Battery, NetworkState? Network, LocationFix? Location, long? Policy)[] rows,
        CancellationToken cancellationToken)
    {
        // A device touched again while a flush collects its rows is queued twice; one statement takes its newest row
        // only (an UPDATE ... FROM would apply any one of the two).
        var newest = new Dictionary<Guid, int>(rows.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            newest[rows[i].Id] = i;
        }

        var count = newest.Count;
        var lastSeen = new DateTime[count];
        var level = new int?[count];
        var charging = new bool?[count];
        var kind = new string?[count];
        var ip = new string?[count];
        var latitude = new double?[count];
        var longitude = new double?[count];
        var accuracy = new double?[count];
        var locatedAt = new DateTime?[count];
        var policy = new long?[count];
        var ids = new Guid[count];
        // In device-id order, as the activity writer advances its sequences: two statements that lock the same devices'
        // rows in different orders deadlock (seen in bench/apps' connect storm on PostgreSQL).
        var order = new Guid[count];
        newest.Keys.CopyTo(order, 0);
        Array.Sort(order);
        var n = 0;
        foreach (var id in order)
        {
            var r = rows[newest[id]];
            lastSeen[n] = r.LastSeen;
            level[n] = r.Battery?.Level;
            charging[n] = r.Battery?.Charging;
            kind[n] = r.Network?.Kind;
            ip[n] = r.Network?.IpAddress;
            latitude[n] = r.Location?.Latitude;
            longitude[n] = r.Location?.Longitude;
            accuracy[n] = r.Location?.AccuracyMeters;
            locatedAt[n] = r.Location?.CapturedAt.UtcDateTime;
            policy[n] = r.Policy;
            ids[n] = r.Id;
            n++;
        }

        await using var command = new NpgsqlCommand(PostgresUpdateSql, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter("ls", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = lastSeen });
        command.Parameters.Add(new NpgsqlParameter("bl", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = level });
        command.Parameters.Add(new NpgsqlParameter("bc", NpgsqlDbType.Array | NpgsqlDbType.Boolean) { Value = charging });
        command.Parameters.Add(new NpgsqlParameter("nk", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = kind });
        command.Parameters.Add(new NpgsqlParameter("ip", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = ip });
        command.Parameters.Add(new NpgsqlParameter("la", NpgsqlDbType.Array | NpgsqlDbType.Double) { Value = latitude });
        command.Parameters.Add(new NpgsqlParameter("lo", NpgsqlDbType.Array | NpgsqlDbType.Double) { Value = longitude });
        command.Parameters.Add(new NpgsqlParameter("acc", NpgsqlDbType.Array | NpgsqlDbType.Double) { Value = accuracy });
        command.Parameters.Add(new NpgsqlParameter("lat", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = locatedAt });
        command.Parameters.Add(new NpgsqlParameter("pv", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = policy });
        command.Parameters.Add(new NpgsqlParameter("id", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = ids });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(CancellationToken.None);
    }
}
