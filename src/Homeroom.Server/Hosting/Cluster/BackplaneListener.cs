using System.Threading.Channels;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Agents;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Homeroom.Server.Hosting.Cluster;

/// <summary>
/// This node's side of the backplane that hears: <c>LISTEN</c> on a connection of its own, kept open and
/// reconnected with back-off after PostgreSQL restarts or the link drops. A device named in a notice that
/// is connected here gets its pending stored commands exactly as at connect
/// (<see cref="CommandDispatcher.DeliverPendingAsync(AgentConnection, CancellationToken)"/>: oldest first, the agent
/// de-duplicates by id, acknowledgements take the usual path). After every (re)connection, whenever notices
/// were lost, and every <see cref="BackplaneOptions.SweepInterval"/>, it sweeps: each connected device with pending
/// commands gets them. A device named in a policy notice gets its current policy from the
/// <see cref="Policies.PolicyDistributor"/>; the sweep also sends it to each connected device whose last report is
/// older than its stored version.
/// <para>
/// Two connections of one device on two nodes: PostgreSQL hands every listener the notices in the same (commit)
/// order, so "newer" needs no clock. A connection here counts as announced once this node heard its own connect
/// notice; another node's notice for the device heard after that closes it with 4409. A notice missed while this node
/// did not listen is caught up by every sweep: each connect notice commits with its device's row in
/// <c>cluster_connections</c>, which ends naming the last committed connection, so a connection here whose row
/// committed and that the row no longer names is older than one elsewhere, and is closed the same way.
/// </para>
/// <para>
/// The teacher's classroom across nodes: <c>v</c> and <c>t</c> notices go to <see cref="Classroom.ScreenViews"/>, <c>l</c>
/// and <c>h</c> to <see cref="Devices.ClusterDeviceState"/>. After every (re)connection both read everything again, in
/// the order of the notices; when the connection is lost, what this node heard about other nodes' devices is forgotten
/// (shown as unknown: offline, unlocked) until it hears again. <c>a</c> notices go to <see cref="CommandProgress"/>: the
/// live count of a command issued here, acknowledged by devices connected elsewhere. <c>n</c> notices go to
/// <see cref="Notifications.ClusterNotifications"/>: staff notifications raised elsewhere, shown on this node's open pages.
/// </para>
/// </summary>
public sealed class BackplaneListener(
    BackplanePublisher publisher,
    ConnectionRegistry registry,
    CommandDispatcher dispatcher,
    CommandProgress progress,
    Policies.PolicyDistributor policies,
    Classroom.ScreenViews views,
    Devices.ClusterDeviceState devices,
    Notifications.ClusterNotifications notifications,
    IDbContextFactory<HomeroomDbContext> dbFactory,
    DatabaseOptions database,
    IOptions<BackplaneOptions> options,
    TimeProvider time,
    ILogger<BackplaneListener> logger) : BackgroundService
{
    /// <summary>The reason sent with 4409 when a newer connection of the device is on another node.</summary>
    public const string ReplacedReason = "replaced by a newer connection on another node";

    /// <summary>
    /// The sweep's read of the devices (among $1) whose newest connection is on a node other than $2. Public for
    /// bench/replay, which measures it.
    /// </summary>
    public const string NewerConnectionsSql = "SELECT device_id, node FROM cluster_connections WHERE device_id = ANY($1) AND node <> $2";

    /// <summary>Devices read at a time by a sweep (pending commands, policies behind, newer connections elsewhere).</summary>
    public const int SweepChunk = 1_000;

    private static readonly TimeSpan PolicyReportGrace = TimeSpan.FromSeconds(10);

    // Queued with the notices after every (re)connection, so the classroom reads everything again in their order.
    private const string ReloadMarker = "\0reload";

    private readonly BackplaneOptions _options = options.Value;
    private readonly Channel<string> _received = Channel.CreateBounded<string>(
        new BoundedChannelOptions(options.Value.MaxQueuedNotifications) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Channel<bool> _sweepWake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private volatile bool _listening;

    // Set when the classroom must read everything again (a (re)connection, or notices dropped for a full queue); the
    // handler does it at the next item it takes, so a marker lost to a full queue still takes effect.
    private volatile bool _reloadClassroom;
    private volatile int _processId;

    /// <summary>Whether the listening connection is open now.</summary>
    public bool IsListening => _listening;

    /// <summary>The PostgreSQL server process of the listening connection (0 when none).</summary>
    public int ListenerProcessId => _processId;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!publisher.Enabled)
        {
            return;
        }

        var handling = HandleAsync(stoppingToken);
        var periodic = SweepPeriodicallyAsync(stoppingToken);
        try
        {
            await ListenAsync(stoppingToken);
        }
        finally
        {
            _received.Writer.TryComplete();
            await handling.ContinueWith(static _ => { }, TaskScheduler.Default);
            await periodic.ContinueWith(static _ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// A notice is sent after its commands are stored, so a node killed in between leaves devices on other nodes
    /// without one; a sweep now and then delivers those too (and anything else no notice announced).
    /// </summary>
    private async Task SweepPeriodicallyAsync(CancellationToken stoppingToken)
    {
        if (_options.SweepInterval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(_options.SweepInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (_listening)
                {
                    _sweepWake.Writer.TryWrite(true);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(database.PostgresConnectionString)
        {
            // Its own physical connection: a LISTEN must not go back to a pool, and keep-alive queries notice a dead link.
            Pooling = false,
            KeepAlive = _options.KeepAliveSeconds,
            ApplicationName = "homeroom-backplane",
        };
        var delay = _options.ReconnectMinDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += OnNotification;
                await using (var listen = connection.CreateCommand())
                {
                    listen.CommandText = "LISTEN " + BackplaneMessages.Channel;
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                _processId = connection.ProcessID;
                _listening = true;
                BackplaneLog.Listening(logger, publisher.NodeId, BackplaneMessages.Channel);
                delay = _options.ReconnectMinDelay;
                // Whatever was announced before this point is older than anything heard from now on; and whatever was
                // said while nobody here listened is caught up by a sweep.
                var published = publisher.PublishedThrough;
                foreach (var deviceId in registry.OnlineDeviceIds)
                {
                    if (registry.Get(deviceId) is { ClusterSequence: > 0 } local && local.ClusterSequence <= published)
                    {
                        local.ClusterAnnounced = true;
                    }
                }

                _sweepWake.Writer.TryWrite(true);
                _reloadClassroom = true;
                _received.Writer.TryWrite(ReloadMarker);
                while (true)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _listening = false;
                _processId = 0;
                devices.ForgetOtherNodes();
                // Jittered, so the nodes of a cluster do not all come back in the same instant after a database restart.
                var wait = delay * (0.8 + (Random.Shared.NextDouble() * 0.4));
                BackplaneLog.ListenerLost(logger, ex.Message, wait);
                try
                {
                    await Task.Delay(wait, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
            }
            finally
            {
                _listening = false;
                _processId = 0;
            }
        }
    }

    // Runs inside WaitAsync on the listening connection: only queue here.
    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (e.Channel == BackplaneMessages.Channel && !_received.Writer.TryWrite(e.Payload))
        {
            BackplaneLog.Overflow(logger, "the queue of received notifications");
            _sweepWake.Writer.TryWrite(true);
            _reloadClassroom = true;
        }
    }

    private async Task HandleAsync(CancellationToken stoppingToken)
    {
        var sweeps = SweepLoopAsync(stoppingToken);
        await foreach (var payload in _received.Reader.ReadAllAsync(CancellationToken.None))
        {
            if (_reloadClassroom)
            {
                _reloadClassroom = false;
                await ClassroomAsync("reading the classroom again", async () =>
                {
                    await views.ReloadAsync(null, stoppingToken);
                    await devices.ReloadAsync(stoppingToken);
                });
            }

            if (payload == ReloadMarker)
            {
                continue;
            }

            if (BackplaneMessages.Parse(payload) is not { } message)
            {
                BackplaneLog.Malformed(logger, payload.Length);
                continue;
            }

            var own = message.Node == publisher.NodeId;
            switch (message.Kind)
            {
                case BackplaneMessageKind.Connected:
                    OnConnected(message, own);
                    break;
                case BackplaneMessageKind.Devices when !own:
                    // This node sent its own devices their commands when it stored them.
                    await DeliverAsync(message.Devices.Select(registry.Get).OfType<AgentConnection>().ToList(), stoppingToken);
                    break;
                case BackplaneMessageKind.Policies when !own:
                    foreach (var deviceId in message.Devices)
                    {
                        if (registry.Get(deviceId) is not null)
                        {
                            policies.PolicyStoredElsewhere(deviceId);
                        }
                    }

                    break;
                case BackplaneMessageKind.Sweep when !own:
                    _sweepWake.Writer.TryWrite(true);
                    break;
                case BackplaneMessageKind.Views when !own:
                    await ClassroomAsync("reading screen views", () => views.OnViewsChangedAsync(message.Devices, stoppingToken));
                    break;
                case BackplaneMessageKind.Thumbnails when !own:
                    views.OnThumbnailsStored(message.Devices, message.Sequences);
                    break;
                case BackplaneMessageKind.Live when !own:
                    await ClassroomAsync("reading live device state", () => devices.OnChangedAsync(message.Node, message.Devices, stoppingToken));
                    break;
                case BackplaneMessageKind.Heartbeat when !own:
                    devices.OnHeartbeat(message.Node);
                    break;
                case BackplaneMessageKind.Acknowledged when !own:
                    progress.AcknowledgedElsewhere(message.Command, message.Devices);
                    break;
                case BackplaneMessageKind.Notifications when !own:
                    await ClassroomAsync("reading staff notifications", () => notifications.OnNoticeAsync(message.Devices, stoppingToken));
                    break;
            }
        }

        _sweepWake.Writer.TryComplete();
        await sweeps.ContinueWith(static _ => { }, TaskScheduler.Default);
    }

    private async Task ClassroomAsync(string what, Func<Task> work)
    {
        try
        {
            await work();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Views are read again every few seconds and live rows at the next notice or reconnection.
            BackplaneLog.ClassroomSyncFailed(logger, what, ex);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void OnConnected(BackplaneMessage message, bool own)
    {
        for (var i = 0; i < message.Devices.Count; i++)
        {
            if (registry.Get(message.Devices[i]) is not { } local)
            {
                continue;
            }

            if (own)
            {
                if (local.ClusterSequence == message.Sequences[i])
                {
                    local.ClusterAnnounced = true;
                }
            }
            else if (local.ClusterAnnounced)
            {
                // Announced before the other node's notice: this is the older connection.
                BackplaneLog.ReplacedElsewhere(logger, local.DeviceId, message.Node);
                local.RequestClose(AgentCloseCodes.Replaced, ReplacedReason);
                // A command this node sent to the old connection after the new one connected is sent there again.
                publisher.DevicesHaveCommands([local.DeviceId]);
            }
        }
    }

    private async Task SweepLoopAsync(CancellationToken stoppingToken)
    {
        await foreach (var _ in _sweepWake.Reader.ReadAllAsync(CancellationToken.None))
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The listener's reconnection sweeps again once PostgreSQL answers.
                BackplaneLog.DeliveryFailed(logger, ex);
            }
        }
    }

    /// <summary>
    /// Delivers the pending commands of every device connected here that has any, and has the current policy sent to
    /// every one whose last report is of an older version (a policy notice lost, or never sent by a node killed after storing).
    /// </summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        var online = registry.OnlineDeviceIds.ToList();
        var pending = 0;
        var replaced = 0;
        foreach (var chunk in online.Chunk(SweepChunk))
        {
            replaced += await CloseReplacedAsync(chunk, cancellationToken);
            var now = time.GetUtcNow().UtcDateTime;
            List<Guid> withPending;
            await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
            {
                // Stored a few seconds ago at least: a device just sent its version has had time to report it.
                var storedBefore = now - PolicyReportGrace;
                var behind = await db.DevicePolicies.AsNoTracking()
                    .Where(p => chunk.Contains(p.DeviceId) && p.Version > 0 && p.ReportedVersion < p.Version && p.ComputedAt < storedBefore)
                    .Select(p => new { p.DeviceId, p.ReportedVersion })
                    .ToListAsync(cancellationToken);
                foreach (var device in behind)
                {
                    policies.PolicyStoredElsewhere(device.DeviceId, device.ReportedVersion);
                }

                withPending = await db.CommandDeliveries.AsNoTracking()
                    .Where(d => chunk.Contains(d.DeviceId))
                    .Where(CommandDelivery.Unfinished)
                    .Join(db.Commands, d => d.CommandId, c => c.Id, (d, c) => new { d.DeviceId, c.ExpiresAt })
                    .Where(x => x.ExpiresAt > now)
                    .Select(x => x.DeviceId)
                    .Distinct()
                    .ToListAsync(cancellationToken);
            }

            pending += withPending.Count;
            await DeliverAsync(withPending.Select(registry.Get).OfType<AgentConnection>().ToList(), cancellationToken);
        }

        if (pending > 0)
        {
            BackplaneLog.Swept(logger, online.Count, pending);
        }

        if (replaced > 0)
        {
            BackplaneLog.ReplacedFoundBySweep(logger, replaced);
        }
    }

    /// <summary>
    /// Closes with 4409 each of these devices' connections here that has a newer connection on another node: its row in
    /// <c>cluster_connections</c> was committed (with its connect notice) and the row now names another node, which can
    /// only be a connection committed after it, whose notice this node missed (it was not listening, or dropped notices).
    /// A connection whose row is not committed yet is left alone (it may be the newest), as is one whose row was never
    /// written; a row left by a node that died names its last connection, older than any written after it, so it closes
    /// only connections older than that one. One indexed read per chunk, of this node's devices only.
    /// </summary>
    private async Task<int> CloseReplacedAsync(Guid[] chunk, CancellationToken cancellationToken)
    {
        // Taken before the read: a row committed before it was read is all the read can be compared with.
        var written = new Dictionary<Guid, AgentConnection>();
        foreach (var deviceId in chunk)
        {
            if (registry.Get(deviceId) is { ClusterWritten: true, CloseCode: null } connection)
            {
                written[deviceId] = connection;
            }
        }

        if (written.Count == 0)
        {
            return 0;
        }

        var newer = new List<(Guid DeviceId, string Node)>();
        await using (var connection = new NpgsqlConnection(database.PostgresConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var read = new NpgsqlCommand(NewerConnectionsSql, connection)
            {
                Parameters = { new() { Value = written.Keys.ToArray() }, new() { Value = publisher.NodeId } },
            };
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                newer.Add((reader.GetGuid(0), reader.GetString(1)));
            }
        }

        foreach (var (deviceId, node) in newer)
        {
            var local = written[deviceId];
            BackplaneLog.ReplacedElsewhere(logger, deviceId, node);
            local.RequestClose(AgentCloseCodes.Replaced, ReplacedReason);
        }

        if (newer.Count > 0)
        {
            // A command this node sent to an old connection after the new one connected is sent there again.
            publisher.DevicesHaveCommands(newer.Select(n => n.DeviceId));
        }

        return newer.Count;
    }

    private async Task DeliverAsync(List<AgentConnection> connections, CancellationToken cancellationToken)
    {
        if (connections.Count == 0)
        {
            return;
        }

        try
        {
            // One read of pending deliveries per batch of devices, a few batches at once (a sweep names every device here).
            await Parallel.ForEachAsync(
                connections.Chunk(BackplaneOptions.DeliveryBatch),
                new ParallelOptions { MaxDegreeOfParallelism = _options.DeliveryParallelism, CancellationToken = cancellationToken },
                async (batch, token) => await dispatcher.DeliverPendingAsync(batch, CommandDispatcher.BackplanePath, token));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception ex)
        {
            BackplaneLog.DeliveryFailed(logger, ex);
        }
    }
}
