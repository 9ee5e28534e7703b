using System.Net.WebSockets;
using Homeroom.Contracts.Agents;

namespace Homeroom.Server.Agents;

/// <summary>
/// The server's side of one live agent WebSocket. Sends are serialized by a lock and bounded by a
/// timeout; there is no per-connection queue or thread. <c>welcome</c> is the first frame by
/// construction: the connection is visible to other parts (commands, policies, screen views) as
/// soon as it is registered, and whatever they send waits until <see cref="SendWelcomeAsync"/> went out.
/// </summary>
public sealed class AgentConnection(Guid deviceId, WebSocket socket, TimeSpan sendTimeout) : IDisposable
{
    private const int RecentCommandCapacity = 64;
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _closed = new();
    private readonly TaskCompletionSource _welcomed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<Guid> _recentOrder = new();
    private readonly HashSet<Guid> _recentCommands = [];
    private bool _clusterAnnounced;
    private bool _clusterWritten;
    private long _policyVersion;

    public Guid DeviceId { get; } = deviceId;

    public DateTime ConnectedAt { get; init; }

    /// <summary>For a desktop's browser extension (a companion), the desktop: it carries the desktop's browser commands.</summary>
    public Guid? CompanionOf { get; init; }

    /// <summary>Cancelled when a close the server started was not answered in time: abort the socket.</summary>
    public CancellationToken Aborting => _closed.Token;

    public int? CloseCode { get; private set; }

    /// <summary>
    /// The newest policy version this connection holds: the one the device had applied when it connected, or a later one
    /// sent on it. A pass sends a connected device its current version only when this is older, so a connect queued by an
    /// older connection of the device, or a sweep that runs before the device reports, does not send it a second time.
    /// </summary>
    public long PolicyVersion
    {
        get => Interlocked.Read(ref _policyVersion);
        init => _policyVersion = value;
    }

    /// <summary>Records that <paramref name="version"/> was sent on this connection (versions only grow).</summary>
    public void PolicySent(long version)
    {
        var seen = Interlocked.Read(ref _policyVersion);
        while (seen < version)
        {
            var was = Interlocked.CompareExchange(ref _policyVersion, version, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }

    /// <summary>This node's number for the connection in the cluster's connect notices (0 without a backplane: SQLite, or switched off).</summary>
    public long ClusterSequence { get; set; }

    /// <summary>
    /// Whether this node heard its own connect notice for the connection (or listened again after it was sent): from
    /// then on another node's notice for the device means a newer connection there, and this one is closed.
    /// </summary>
    public bool ClusterAnnounced
    {
        get => Volatile.Read(ref _clusterAnnounced);
        set => Volatile.Write(ref _clusterAnnounced, value);
    }

    /// <summary>
    /// Whether this node's row for the connection in <c>cluster_connections</c> is committed (with its connect notice, in one
    /// transaction): from then on a row naming another node means a newer connection there, and this one is closed.
    /// </summary>
    public bool ClusterWritten
    {
        get => Volatile.Read(ref _clusterWritten);
        set => Volatile.Write(ref _clusterWritten, value);
    }

    public string? CloseReason { get; private set; }

    /// <summary>
    /// Whether a screen-view start or end was sent on this connection (set and read by <c>ScreenViews</c> under its lock):
    /// a view that started after the connection registered already reached it, so the welcome's catch-up does not repeat it.
    /// </summary>
    public bool ScreenViewTold { get; set; }

    public Task<bool> SendAsync(AgentFrame frame) => SendAsync(AgentFrameCodec.Serialize(frame), WebSocketMessageType.Text);

    /// <summary>Sends the welcome, then lets the frames other parts queued meanwhile go out.</summary>
    public async Task<bool> SendWelcomeAsync(WelcomeFrame welcome)
    {
        try
        {
            return await SendCoreAsync(AgentFrameCodec.Serialize(welcome), WebSocketMessageType.Text, afterWelcome: false);
        }
        finally
        {
            _welcomed.TrySetResult();
        }
    }

    /// <summary>Sends a command unless this connection already carried it (a command issued while the device was connecting can reach it twice otherwise).</summary>
    public Task<bool> SendCommandAsync(Guid commandId, ReadOnlyMemory<byte> frame)
    {
        lock (_recentCommands)
        {
            if (!_recentCommands.Add(commandId))
            {
                return Task.FromResult(true);
            }

            _recentOrder.Enqueue(commandId);
            if (_recentOrder.Count > RecentCommandCapacity)
            {
                _recentCommands.Remove(_recentOrder.Dequeue());
            }
        }

        return SendAsync(frame, WebSocketMessageType.Text);
    }

    /// <summary>Whether this connection carried the command recently (the last few dozen it was sent).</summary>
    public bool Carried(Guid commandId)
    {
        lock (_recentCommands)
        {
            return _recentCommands.Contains(commandId);
        }
    }

    /// <summary>Sends one whole message, after the welcome. False when the connection is gone or too slow (it is then closed).</summary>
    public Task<bool> SendAsync(ReadOnlyMemory<byte> payload, WebSocketMessageType type) => SendCoreAsync(payload, type, afterWelcome: true);

    private async Task<bool> SendCoreAsync(ReadOnlyMemory<byte> payload, WebSocketMessageType type, bool afterWelcome)
    {
        if (CloseCode is not null || socket.State != WebSocketState.Open)
        {
            return false;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_closed.Token);
        timeout.CancelAfter(sendTimeout);
        try
        {
            if (afterWelcome && !_welcomed.Task.IsCompleted)
            {
                await _welcomed.Task.WaitAsync(timeout.Token);
                if (CloseCode is not null || socket.State != WebSocketState.Open)
                {
                    return false;
                }
            }

            await _sendLock.WaitAsync(timeout.Token);
            try
            {
                await socket.SendAsync(payload, type, endOfMessage: true, timeout.Token);
                return true;
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !_closed.IsCancellationRequested)
        {
            // Only the send timer makes a slow consumer: a socket that dropped under a send cancels it too, and that
            // is a dropped connection (which the agent watch must see as one), not a slow one.
            RequestClose(AgentCloseCodes.SlowConsumer, "send timed out");
            _closed.Cancel();
            return false;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Starts closing with a code and reason; safe from any thread. The close frame is sent at once;
    /// if the peer does not answer it within the grace period the receive loop aborts the socket.
    /// </summary>
    public void RequestClose(int code, string reason)
    {
        lock (_closed)
        {
            if (CloseCode is not null)
            {
                return;
            }

            CloseCode = code;
            CloseReason = reason;
        }

        _ = SendCloseAsync(code, reason);
    }

    private async Task SendCloseAsync(int code, string reason)
    {
        try
        {
            using var timeout = new CancellationTokenSource(CloseGrace);
            await _sendLock.WaitAsync(timeout.Token);
            try
            {
                if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, timeout.Token);
                }
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer is gone or stuck; the abort below ends the connection either way.
        }
        finally
        {
            try
            {
                _closed.CancelAfter(CloseGrace);
            }
            catch (ObjectDisposedException)
            {
                // Already finished.
            }
        }
    }

    public void Dispose()
    {
        // Nothing waits for a welcome that will never be sent.
        _welcomed.TrySetResult();
        _closed.Dispose();
        _sendLock.Dispose();
    }
}
