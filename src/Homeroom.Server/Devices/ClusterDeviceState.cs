using System.Collections.Concurrent;
using Homeroom.Server.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Homeroom.Server.Devices;

/// <summary>
/// The live facts of the classroom tiles across the nodes of a cluster on PostgreSQL: whether a device is connected
/// (to some node), locked, focused, on which page. Each node holds its own devices' facts in
/// <see cref="DeviceLiveState"/>; this service tells the others and hears from them.
/// <para>
/// Telling: whenever something a tile shows changes for a device connected here (or one that just left), the device
/// is marked; every <see cref="BackplaneOptions.LiveStateInterval"/> the marked devices' rows in <c>device_live</c> are
/// written in one transaction with one <c>l NODE ID,…</c> notice naming them (so a device that changes ten times in
/// an interval costs one row and one id; a touch that changes nothing a tile shows, such as a thumbnail, costs none). The page address and title can be as long as the agent protocol allows,
/// which no notice could carry: the notice says only that the row changed, and the reader reads it. A device that
/// leaves this node is written offline only where the row still names this node (a newer connection elsewhere wins).
/// Every <see cref="BackplaneOptions.HeartbeatInterval"/> the node also sends <c>h NODE</c>.
/// </para>
/// <para>
/// Hearing: an <c>l</c> notice from another node makes this node read those rows and keep them beside its own facts
/// (<see cref="DeviceLiveState.SetRemote"/>, which fires <see cref="DeviceLiveState.Changed"/>, so the teacher's page
/// updates at once). A node not heard for <see cref="BackplaneOptions.NodeSilenceTimeout"/> (stopped, killed, cut off)
/// is taken for gone and its devices show offline here; when this node's listening connection drops, everything other
/// nodes said is forgotten until it is read again after reconnecting (<see cref="ReloadAsync"/>). Nothing runs on
/// SQLite or with the backplane off.
/// </para>
/// </summary>
public sealed class ClusterDeviceState : BackgroundService
{
    private readonly BackplanePublisher _backplane;
    private readonly ConnectionRegistry _registry;
    private readonly DeviceLiveState _live;
    private readonly DatabaseOptions _database;
    private readonly BackplaneOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ClusterDeviceState> _logger;

    private readonly ConcurrentDictionary<Guid, byte> _marked = new();
    // What this node last published as online, per device: a change that changes nothing a tile shows (a thumbnail, a
    // heartbeat's touch) is not written again.
    private readonly ConcurrentDictionary<Guid, LiveDevice> _publishedOnline = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _heard = new(StringComparer.Ordinal);

    public ClusterDeviceState(
        BackplanePublisher backplane,
        ConnectionRegistry registry,
        DeviceLiveState live,
        DatabaseOptions database,
        IOptions<BackplaneOptions> options,
        TimeProvider time,
        ILogger<ClusterDeviceState> logger)
    {
        _backplane = backplane;
        _registry = registry;
        _live = live;
        _database = database;
        _options = options.Value;
        _time = time;
        _logger = logger;
        if (backplane.Enabled)
        {
            live.Changed += OnChanged;
        }
    }

    /// <summary>Devices whose change is not published yet.</summary>
    public int Marked => _marked.Count;

    // Handlers must be quick: only mark. A change heard from another node is about a device not connected here and
    // never announced from here, so it is not sent back.
    private void OnChanged(Guid deviceId)
    {
        if (_registry.IsOnline(deviceId) || _publishedOnline.ContainsKey(deviceId))
        {
            _marked.TryAdd(deviceId, 0);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_backplane.Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(_options.LiveStateInterval, _time);
        var lastHeartbeat = DateTimeOffset.MinValue;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = _time.GetUtcNow();
                var heartbeat = now - lastHeartbeat >= _options.HeartbeatInterval;
                var devices = _marked.Keys.ToList();
                foreach (var deviceId in devices)
                {
                    _marked.TryRemove(deviceId, out _);
                }

                if (devices.Count > 0 || heartbeat)
                {
                    try
                    {
                        await PublishAsync(devices, heartbeat, now, stoppingToken);
                        if (heartbeat)
                        {
                            lastHeartbeat = now;
                        }
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                    {
                        // Marked again and sent with the next interval's.
                        foreach (var deviceId in devices)
                        {
                            _marked.TryAdd(deviceId, 0);
                        }

                        BackplaneLog.ClassroomSyncFailed(_logger, "publishing live device state", ex);
                    }
                }

                ForgetSilentNodes(now);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task PublishAsync(List<Guid> devices, bool heartbeat, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var online = new List<(Guid Id, LiveDevice Live)>();
        var offline = new List<Guid>();
        foreach (var deviceId in devices)
        {
            if (_registry.IsOnline(deviceId))
            {
                var live = _live.Local(deviceId);
                if (_publishedOnline.GetValueOrDefault(deviceId) != live)
                {
                    online.Add((deviceId, live));
                }
            }
            else if (_publishedOnline.ContainsKey(deviceId))
            {
                offline.Add(deviceId);
            }
        }

        if (online.Count == 0 && offline.Count == 0 && !heartbeat)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(_database.PostgresConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (online.Count > 0)
        {
            await using var upsert = new NpgsqlCommand(
                """
                INSERT INTO device_live (device_id, node, online, locked, focus_sites, current_url, current_title, last_command, changed_at)
                SELECT x.d, $2, true, x.l, x.f, x.u, x.t, x.c, $8
                FROM unnest($1::uuid[], $3::boolean[], $4::text[], $5::text[], $6::text[], $7::text[]) AS x(d, l, f, u, t, c)
                WHERE EXISTS (SELECT 1 FROM devices WHERE devices.id = x.d)
                ON CONFLICT (device_id) DO UPDATE SET node = excluded.node, online = true, locked = excluded.locked,
                    focus_sites = excluded.focus_sites, current_url = excluded.current_url, current_title = excluded.current_title,
                    last_command = excluded.last_command, changed_at = excluded.changed_at
                """, connection, transaction);
            upsert.Parameters.Add(new NpgsqlParameter { Value = online.Select(o => o.Id).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = _backplane.NodeId });
            upsert.Parameters.Add(new NpgsqlParameter { Value = online.Select(o => o.Live.Locked).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = online.Select(o => o.Live.FocusSites).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = online.Select(o => o.Live.CurrentUrl).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = online.Select(o => o.Live.CurrentTitle).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = online.Select(o => o.Live.LastCommand).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = now.ToUniversalTime() });
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        if (offline.Count > 0)
        {
            await using var update = new NpgsqlCommand(
                "UPDATE device_live SET online = false, changed_at = $3 WHERE device_id = ANY($1) AND node = $2", connection, transaction);
            update.Parameters.Add(new NpgsqlParameter { Value = offline.ToArray() });
            update.Parameters.Add(new NpgsqlParameter { Value = _backplane.NodeId });
            update.Parameters.Add(new NpgsqlParameter { Value = now.ToUniversalTime() });
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        var notices = BackplaneMessages.Live(_backplane.NodeId, online.Select(o => o.Id).Concat(offline), _options.MaxPayloadBytes);
        if (heartbeat)
        {
            notices.Add(BackplaneMessages.Heartbeat(_backplane.NodeId));
        }

        await BackplanePublisher.NotifyAsync(connection, transaction, notices, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        foreach (var (deviceId, live) in online)
        {
            _publishedOnline[deviceId] = live;
            _live.ForgetRemote(deviceId);
        }

        foreach (var deviceId in offline)
        {
            _publishedOnline.TryRemove(deviceId, out _);
        }
    }

    /// <summary>Another node is alive (an <c>h</c> notice).</summary>
    public void OnHeartbeat(string node) => _heard[node] = _time.GetUtcNow();

    /// <summary>Another node changed these devices' rows (an <c>l</c> notice): reads them.</summary>
    public async Task OnChangedAsync(string node, IReadOnlyList<Guid> deviceIds, CancellationToken cancellationToken)
    {
        OnHeartbeat(node);
        await ReadAsync("WHERE device_id = ANY($1)", deviceIds.ToArray(), cancellationToken);
    }

    /// <summary>After the listening connection is back: everything other nodes said is read again.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        if (!_backplane.Enabled)
        {
            return;
        }

        ForgetOtherNodes();
        await ReadAsync("WHERE online AND node <> $1", _backplane.NodeId, cancellationToken);
    }

    private async Task ReadAsync(string where, object parameter, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_database.PostgresConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var select = new NpgsqlCommand(
            "SELECT device_id, node, online, locked, focus_sites, current_url, current_title, last_command FROM device_live " + where, connection);
        select.Parameters.Add(new NpgsqlParameter { Value = parameter });
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var now = _time.GetUtcNow();
        while (await reader.ReadAsync(cancellationToken))
        {
            var node = reader.GetString(1);
            if (node == _backplane.NodeId)
            {
                // This node's own row: its memory is the truth.
                _live.ForgetRemote(reader.GetGuid(0));
                continue;
            }

            // A node first met in a row has a full timeout to be heard.
            _heard.TryAdd(node, now);
            _live.SetRemote(reader.GetGuid(0), new RemoteDevice(node, reader.GetBoolean(2), new LiveDevice(
                reader.GetBoolean(3), Text(reader, 4), Text(reader, 5), Text(reader, 6), Text(reader, 7))));
        }
    }

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>The listening connection is lost: what other nodes said can no longer be kept true, so it is forgotten.</summary>
    public void ForgetOtherNodes()
    {
        _heard.Clear();
        _live.ForgetRemote();
    }

    private void ForgetSilentNodes(DateTimeOffset now)
    {
        foreach (var (node, heard) in _heard)
        {
            if (now - heard > _options.NodeSilenceTimeout && _heard.TryRemove(new KeyValuePair<string, DateTimeOffset>(node, heard)))
            {
                BackplaneLog.NodeSilent(_logger, node, _live.ForgetRemote(node));
            }
        }
    }

    public override void Dispose()
    {
        _live.Changed -= OnChanged;
        base.Dispose();
    }
}
