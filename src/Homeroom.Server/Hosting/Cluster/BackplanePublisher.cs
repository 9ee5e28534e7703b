using System.Threading.Channels;
using Homeroom.Server.Agents;
using Homeroom.Server.Data;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Homeroom.Server.Hosting.Cluster;

/// <summary>
/// This node's side of the backplane that talks: it tells the other nodes on the same PostgreSQL database
/// which devices have new stored commands or policy versions, which devices connected here and which of them
/// acknowledged a command another node issued, with <c>NOTIFY</c>. Callers
/// only queue (never wait for PostgreSQL), so a backplane that is down never slows a node serving its own
/// devices; one loop sends whatever gathered while the previous send was under way, split into payloads
/// PostgreSQL accepts, in one transaction. What cannot be sent is not retried id by id: once PostgreSQL
/// answers again a sweep notice makes every node deliver what its connected devices still have pending.
/// On SQLite (or when switched off) nothing runs and every call returns at once.
/// </summary>
public sealed class BackplanePublisher(DatabaseOptions database, IOptions<BackplaneOptions> options, TimeProvider time, ILogger<BackplanePublisher> logger)
    : BackgroundService
{
    private readonly BackplaneOptions _options = options.Value;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _gate = new();
    private HashSet<Guid> _devices = [];
    private HashSet<Guid> _policies = [];
    private List<AgentConnection> _connections = [];
    private Dictionary<Guid, HashSet<Guid>> _acknowledged = [];
    private int _acknowledgedCount;
    private bool _acknowledgedOverflow;
    private bool _sweep;
    private long _sequence;
    private long _publishedThrough;

    public bool Enabled { get; } = database.Provider == DatabaseProvider.Postgres && options.Value.Enabled;

    /// <summary>This process's id in the cluster's notifications.</summary>
    public string NodeId { get; } = BackplaneMessages.NewNodeId();

    /// <summary>Every connection numbered up to this one has been announced (its notice committed).</summary>
    public long PublishedThrough => Interlocked.Read(ref _publishedThrough);

    /// <summary>Stored commands wait for these devices, which are not connected here.</summary>
    public void DevicesHaveCommands(IEnumerable<Guid> deviceIds) => Queue(deviceIds, policies: false);

    /// <summary>A new policy version is stored for these devices, which are not connected here.</summary>
    public void DevicesHavePolicy(IEnumerable<Guid> deviceIds) => Queue(deviceIds, policies: true);

    // Beyond MaxQueuedDevices ids are dropped for one sweep notice, which makes every node catch up on both.
    private void Queue(IEnumerable<Guid> deviceIds, bool policies)
    {
        if (!Enabled)
        {
            return;
        }

        var overflow = false;
        lock (_gate)
        {
            var queued = policies ? _policies : _devices; // read under the lock: the sending loop swaps the sets
            foreach (var id in deviceIds)
            {
                if (queued.Count >= _options.MaxQueuedDevices && !queued.Contains(id))
                {
                    overflow = !_sweep;
                    _sweep = true;
                    break;
                }

                queued.Add(id);
            }
        }

        if (overflow)
        {
            BackplaneLog.Overflow(logger, "the queue of devices to publish");
        }

        _wake.Writer.TryWrite(true);
    }

    /// <summary>
    /// A device connected here acknowledged (or finished) a command this node did not issue: the issuing node is told, for
    /// its live progress. An acknowledgement and a final status within one send are one id. Best effort: beyond
    /// <see cref="BackplaneOptions.MaxQueuedDevices"/> or when PostgreSQL refuses the send they are dropped (the stored
    /// statuses stay right; only the issuing page's live count falls short).
    /// </summary>
    public void Acknowledged(Guid commandId, Guid deviceId)
    {
        if (!Enabled)
        {
            return;
        }

        var overflow = false;
        lock (_gate)
        {
            if (!_acknowledged.TryGetValue(commandId, out var devices))
            {
                devices = _acknowledged[commandId] = [];
            }

            if (devices.Contains(deviceId))
            {
                return;
            }

            if (_acknowledgedCount >= _options.MaxQueuedDevices)
            {
                overflow = !_acknowledgedOverflow;
                _acknowledgedOverflow = true;
            }
            else
            {
                devices.Add(deviceId);
                _acknowledgedCount++;
            }
        }

        if (overflow)
        {
            BackplaneLog.Overflow(logger, "the queue of acknowledgements to publish");
        }

        _wake.Writer.TryWrite(true);
    }

    /// <summary>
    /// A device connected here: numbers the connection and announces it, so any older connection of the device on
    /// another node is closed. The number is set before the notice can leave, so this node recognises its own notice.
    /// The same transaction as the notice writes the device's row in <c>cluster_connections</c> (this node, this
    /// number), which a node that missed the notice reads in its sweep (<see cref="BackplaneListener"/>).
    /// </summary>
    public void Connected(AgentConnection connection)
    {
        if (!Enabled)
        {
            return;
        }

        connection.ClusterSequence = Interlocked.Increment(ref _sequence);
        lock (_gate)
        {
            // Beyond the limit a notice is dropped: the older connection elsewhere then lasts until its socket ends.
            if (_connections.Count < _options.MaxQueuedDevices)
            {
                _connections.Add(connection);
            }
        }

        _wake.Writer.TryWrite(true);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }

        var delay = _options.ReconnectMinDelay;
        while (await _wake.Reader.WaitToReadAsync(stoppingToken))
        {
            _wake.Reader.TryRead(out _);
            HashSet<Guid> devices;
            HashSet<Guid> policies;
            List<AgentConnection> connections;
            Dictionary<Guid, HashSet<Guid>> acknowledged;
            bool sweep;
            lock (_gate)
            {
                (devices, _devices) = (_devices, []);
                (policies, _policies) = (_policies, []);
                (connections, _connections) = (_connections, []);
                (acknowledged, _acknowledged) = (_acknowledged, []);
                _acknowledgedCount = 0;
                _acknowledgedOverflow = false;
                (sweep, _sweep) = (_sweep, false);
            }

            if (devices.Count == 0 && policies.Count == 0 && connections.Count == 0 && acknowledged.Count == 0 && !sweep)
            {
                continue;
            }

            var payloads = BackplaneMessages.Connected(NodeId, connections.Select(c => (c.DeviceId, c.ClusterSequence)), _options.MaxPayloadBytes);
            if (sweep)
            {
                payloads.Add(BackplaneMessages.Sweep(NodeId));
            }
            else
            {
                payloads.AddRange(BackplaneMessages.Devices(NodeId, devices, _options.MaxPayloadBytes));
                payloads.AddRange(BackplaneMessages.Policies(NodeId, policies, _options.MaxPayloadBytes));
            }

            // Not replaced by a sweep, and not sent again when this send fails: only a live count depends on them.
            foreach (var (commandId, acknowledgedBy) in acknowledged)
            {
                payloads.AddRange(BackplaneMessages.Acknowledged(NodeId, commandId, acknowledgedBy, _options.MaxPayloadBytes));
            }

            try
            {
                await NotifyAsync(connections, payloads, stoppingToken);
                delay = _options.ReconnectMinDelay;
                // Failed notices are sent again with the next batch, so a success covers every number taken so far.
                if (connections.Count > 0)
                {
                    Interlocked.Exchange(ref _publishedThrough, Math.Max(PublishedThrough, connections.Max(c => c.ClusterSequence)));
                    foreach (var connection in connections)
                    {
                        connection.ClusterWritten = true;
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                BackplaneLog.PublishFailed(logger, payloads.Count, ex.Message, delay);
                lock (_gate)
                {
                    // Connect notices are kept (a device's older connection elsewhere must still end); lost device ids (commands
                    // and policies) are replaced by one sweep, sent once PostgreSQL answers again.
                    foreach (var connection in connections)
                    {
                        if (_connections.Count < _options.MaxQueuedDevices)
                        {
                            _connections.Add(connection);
                        }
                    }

                    _sweep = true;
                }

                await Task.Delay(delay, time, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
                _wake.Writer.TryWrite(true);
            }
        }
    }

    private async Task NotifyAsync(List<AgentConnection> connections, List<string> payloads, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(database.PostgresConnectionString);
        await connection.OpenAsync(cancellationToken);
        // One batch is one transaction: the notices arrive together, in this order, and the connections' rows commit with them.
        await using var batch = connection.CreateBatch();
        if (connections.Count > 0)
        {
            batch.BatchCommands.Add(WriteConnections(batch, connections));
        }

        foreach (var payload in payloads)
        {
            var command = batch.CreateBatchCommand();
            command.CommandText = "SELECT pg_notify($1, $2)";
            command.Parameters.Add(new NpgsqlParameter { Value = BackplaneMessages.Channel });
            command.Parameters.Add(new NpgsqlParameter { Value = payload });
            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The statement that writes a batch's connections: $1 the node, $2 the device ids (each once), $3 the node's numbers
    /// for their connections, $4 when. Public for bench/replay, which measures it.
    /// </summary>
    public const string WriteConnectionsSql = """
        INSERT INTO cluster_connections (device_id, node, connection, connected_at)
        SELECT c.device_id, $1, c.connection, $4
        FROM unnest($2::uuid[], $3::bigint[]) AS c (device_id, connection)
        WHERE EXISTS (SELECT 1 FROM devices d WHERE d.id = c.device_id)
        ORDER BY c.device_id
        ON CONFLICT (device_id) DO UPDATE SET node = excluded.node, connection = excluded.connection, connected_at = excluded.connected_at
        """;

    /// <summary>
    /// Makes these connections the devices' newest in <c>cluster_connections</c>. Two nodes writing one device take its row
    /// in turn (the second waits for the first to commit, then overwrites it), so the row ends naming the connection
    /// whose transaction committed last: the one whose connect notice every listener hears last, the newer by the
    /// notices' rule too; no clock and no sequence decides. Rows are written in device-id order, so two nodes' batches
    /// cannot deadlock; a device deleted meanwhile is skipped (the row would have nothing to name).
    /// </summary>
    private NpgsqlBatchCommand WriteConnections(NpgsqlBatch batch, List<AgentConnection> connections)
    {
        // A batch names a device once (a row cannot be updated twice by one statement): its newest connection here.
        var newest = new Dictionary<Guid, long>();
        foreach (var connection in connections)
        {
            newest[connection.DeviceId] = Math.Max(newest.GetValueOrDefault(connection.DeviceId), connection.ClusterSequence);
        }

        var command = batch.CreateBatchCommand();
        command.CommandText = WriteConnectionsSql;
        command.Parameters.Add(new NpgsqlParameter { Value = NodeId });
        command.Parameters.Add(new NpgsqlParameter { Value = newest.Keys.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = newest.Values.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = time.GetUtcNow().UtcDateTime });
        return command;
    }

    /// <summary>
    /// Sends notices inside the caller's transaction: PostgreSQL delivers them when it commits, so a node that hears one
    /// reads the rows it names already committed.
    /// </summary>
    public static async Task NotifyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<string> payloads, CancellationToken cancellationToken)
    {
        foreach (var payload in payloads)
        {
            await using var notify = new NpgsqlCommand("SELECT pg_notify($1, $2)", connection, transaction);
            notify.Parameters.Add(new NpgsqlParameter { Value = BackplaneMessages.Channel });
            notify.Parameters.Add(new NpgsqlParameter { Value = payload });
            await notify.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    public override void Dispose()
    {
        _wake.Writer.TryComplete();
        base.Dispose();
    }
}
