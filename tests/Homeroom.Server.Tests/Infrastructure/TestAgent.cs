using System.Net.WebSockets;
using System.Threading.Channels;
using Homeroom.Contracts.Agents;

namespace Homeroom.Server.Tests.Infrastructure;

/// <summary>
/// A minimal agent over a real <see cref="ClientWebSocket"/>: it reads frames into a queue and, like
/// a real agent, remembers the commands it carried out so a repeated delivery is not run twice.
/// </summary>
public sealed class TestAgent : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly ClientWebSocket _socket;
    private readonly Channel<AgentFrame> _frames = Channel.CreateUnbounded<AgentFrame>();
    private readonly TaskCompletionSource<(WebSocketCloseStatus? Status, string? Description)> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _receiveLoop;

    private TestAgent(ClientWebSocket socket, Guid deviceId, string credential)
    {
        _socket = socket;
        DeviceId = deviceId;
        Credential = credential;
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    public Guid DeviceId { get; }

    public string Credential { get; }

    /// <summary>Commands this agent carried out, in order; a repeat delivery is not added twice.</summary>
    public List<Guid> Executed { get; } = [];

    /// <summary>Every command frame that arrived, repeats included.</summary>
    public List<CommandFrame> Received { get; } = [];

    public WebSocketState State => _socket.State;

    /// <summary>The last policy frame received, whether or not a test has read it yet.</summary>
    public PolicyFrame? LastPolicy { get; private set; }

    /// <summary>Opens the socket and sends the auth frame (unless <paramref name="auth"/> is false).</summary>
    public static async Task<TestAgent> ConnectAsync(Uri uri, Guid deviceId, string credential, bool auth = true, int protocolVersion = AgentProtocol.Version)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(uri, CancellationToken.None).WaitAsync(Timeout);
        var agent = new TestAgent(socket, deviceId, credential);
        if (auth)
        {
            await agent.SendAsync(new AuthFrame(deviceId, credential, protocolVersion, "test-agent/1.0"));
        }

        return agent;
    }

    public Task SendAsync(AgentFrame frame) => SendRawAsync(AgentFrameCodec.Serialize(frame));

    public async Task SendRawAsync(byte[] payload, WebSocketMessageType type = WebSocketMessageType.Text, bool endOfMessage = true) =>
        await _socket.SendAsync(payload, type, endOfMessage, CancellationToken.None).WaitAsync(Timeout);

    public async Task<WelcomeFrame> ExpectWelcomeAsync() => await ExpectAsync<WelcomeFrame>();

    /// <summary>Waits for the next frame of type <typeparamref name="T"/>, skipping others.</summary>
    public async Task<T> ExpectAsync<T>(TimeSpan? timeout = null)
        where T : AgentFrame
    {
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        while (true)
        {
            var frame = await _frames.Reader.ReadAsync(cts.Token);
            if (frame is T match)
            {
                return match;
            }
        }
    }

    /// <summary>True when no frame of type <typeparamref name="T"/> arrives within <paramref name="wait"/>.</summary>
    public async Task<bool> NothingOfTypeAsync<T>(TimeSpan wait)
        where T : AgentFrame
    {
        try
        {
            await ExpectAsync<T>(wait);
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    /// <summary>Receives the next command, carries it out once (idempotently) and reports acknowledged then succeeded.</summary>
    public async Task<CommandFrame> HandleNextCommandAsync(TimeSpan? timeout = null)
    {
        var command = await ExpectAsync<CommandFrame>(timeout);
        await AnswerAsync(command);
        return command;
    }

    public async Task AnswerAsync(CommandFrame command)
    {
        lock (Executed)
        {
            if (!Executed.Contains(command.CommandId))
            {
                Executed.Add(command.CommandId);
            }
        }

        await SendAsync(new CommandStatusFrame(command.CommandId, CommandStatusValues.Acknowledged));
        await SendAsync(new CommandStatusFrame(command.CommandId, CommandStatusValues.Succeeded, Result: "done"));
    }

    /// <summary>Waits until the server closes the connection; returns its close code and reason.</summary>
    public async Task<(int? Code, string? Reason)> WaitForCloseAsync(TimeSpan? timeout = null)
    {
        var (status, description) = await _closed.Task.WaitAsync(timeout ?? Timeout);
        return ((int?)status, description);
    }

    public Task CloseAsync() => CloseAsync(WebSocketCloseStatus.NormalClosure, "bye");

    /// <summary>Closes with the given status and reason (an agent going away says why).</summary>
    public async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        if (_socket.State == WebSocketState.Open)
        {
            using var cts = new CancellationTokenSource(Timeout);
            try
            {
                await _socket.CloseAsync(status, reason, cts.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                _socket.Abort();
            }
        }

        await _receiveLoop.WaitAsync(Timeout);
    }

    /// <summary>Drops the TCP connection without a close handshake, as a device losing its network would.</summary>
    public void Abort() => _socket.Abort();

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[1024 * 1024];
        try
        {
            while (true)
            {
                var count = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    count += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    _closed.TrySetResult((_socket.CloseStatus, _socket.CloseStatusDescription));
                    if (_socket.State == WebSocketState.CloseReceived)
                    {
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "ok", CancellationToken.None);
                    }

                    break;
                }

                if (AgentFrameCodec.TryRead(buffer.AsSpan(0, count), out var frame, out _) == FrameReadError.None && frame is not null)
                {
                    if (frame is CommandFrame command)
                    {
                        lock (Received)
                        {
                            Received.Add(command);
                        }
                    }

                    if (frame is PolicyFrame policy)
                    {
                        LastPolicy = policy;
                    }

                    await _frames.Writer.WriteAsync(frame);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            _closed.TrySetResult((null, ex.Message));
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await CloseAsync();
        }
        catch (Exception ex) when (ex is WebSocketException or TimeoutException or OperationCanceledException)
        {
            _socket.Abort();
        }

        _socket.Dispose();
    }
}
