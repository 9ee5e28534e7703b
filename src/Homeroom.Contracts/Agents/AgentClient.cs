using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
namespace Homeroom.Contracts.Agents;

/// <summary>
/// One agent WebSocket speaking protocol v1: sends frames, and hands every frame it receives to a
/// callback. Used by the simulator and the desktop agent. Optionally binds to a chosen loopback source
/// address, so one process can open more connections than one address has ephemeral ports.
/// </summary>
public sealed class AgentClient : IAsyncDisposable
{
    /// <summary>The largest message read from the server; a longer one closes the connection.</summary>
    public const int MaxIncomingMessageBytes = 1024 * 1024;

    private readonly ClientWebSocket _socket = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private Task? _receiveLoop;

    /// <summary>The socket's state.</summary>
    public WebSocketState State => _socket.State;

    /// <summary>The close code the peer sent, once closed.</summary>
    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    /// <summary>The close reason the peer sent, once closed.</summary>
    public string? CloseDescription => _socket.CloseStatusDescription;

    /// <summary>Opens a connection to the agent endpoint (<c>ws://</c> or <c>wss://</c>), from <paramref name="sourceAddress"/> when given.</summary>
    public static async Task<AgentClient> ConnectAsync(Uri uri, IPAddress? sourceAddress, CancellationToken cancellationToken)
    {
        var client = new AgentClient();
        client._socket.Options.KeepAliveInterval = TimeSpan.Zero;
        if (sourceAddress is null)
        {
            await client._socket.ConnectAsync(uri, cancellationToken);
            return client;
        }

        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, token) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(sourceAddress, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, token);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
        await client._socket.ConnectAsync(uri, invoker, cancellationToken);
        return client;
    }

    /// <summary>Starts reading; <paramref name="onFrame"/> runs for each text frame, in order.</summary>
    public void Start(Func<AgentFrame, Task> onFrame) => _receiveLoop = ReceiveLoopAsync(onFrame);

    /// <summary>Completes when the connection ends.</summary>
    public Task Completion => _receiveLoop ?? Task.CompletedTask;

    /// <summary>Sends a text frame; false when the connection is gone.</summary>
    public Task<bool> SendAsync(AgentFrame frame) => SendAsync(AgentFrameCodec.Serialize(frame), WebSocketMessageType.Text);

    /// <summary>Sends one whole message; false when the connection is gone.</summary>
    public async Task<bool> SendAsync(ReadOnlyMemory<byte> payload, WebSocketMessageType type)
    {
        await _sendLock.WaitAsync();
        try
        {
            if (_socket.State != WebSocketState.Open)
            {
                return false;
            }

            await _socket.SendAsync(payload, type, true, CancellationToken.None);
            return true;
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException or OperationCanceledException)
        {
            // No token is passed, so a cancellation is the socket aborted under the send: the read loop saw the
            // connection drop first (the socket then turns the send's I/O error into a cancellation), or Abort was called.
            return false;
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task ReceiveLoopAsync(Func<AgentFrame, Task> onFrame)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var count = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (count == buffer.Length)
                    {
                        if (count >= MaxIncomingMessageBytes)
                        {
                            // A server never sends more (a policy document is at most 256 KB): refuse rather than grow without bound.
                            await _socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, "frame too large", CancellationToken.None);
                            return;
                        }

                        var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, count).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    count += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                    {
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "ok", CancellationToken.None);
                    }

                    break;
                }

                if (result.MessageType == WebSocketMessageType.Text
                    && AgentFrameCodec.TryRead(buffer.AsSpan(0, count), out var frame, out _) == FrameReadError.None && frame is not null)
                {
                    await onFrame(frame);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException or OperationCanceledException)
        {
            // Connection lost; the owner reconnects.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Closes normally, or aborts when the peer does not answer within 5 s.</summary>
    public Task CloseAsync() => CloseAsync(WebSocketCloseStatus.NormalClosure, "bye");

    /// <summary>Closes with the given status and reason, or aborts when the peer does not answer within 5 s.</summary>
    public async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        if (_socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _socket.CloseAsync(status, reason, timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                _socket.Abort();
            }
        }
    }

    /// <summary>Drops the connection at once.</summary>
    public void Abort() => _socket.Abort();

    /// <summary>Closes, waits for the read loop and frees the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        if (_receiveLoop is not null)
        {
            await _receiveLoop.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(static _ => { }, TaskScheduler.Default);
        }

        _socket.Dispose();
        _sendLock.Dispose();
    }
}
