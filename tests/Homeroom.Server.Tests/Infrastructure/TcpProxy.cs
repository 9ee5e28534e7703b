using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Homeroom.Server.Tests.Infrastructure;

/// <summary>
/// A loopback TCP relay between the agent and the real server, standing for the network: it can be
/// down (connections are closed as they arrive), hold back what the agent sends (as a link that
/// stops delivering before it breaks), and cut every connection at once.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private volatile bool _down;
    private volatile bool _holdUpstream;

    public TcpProxy(Uri server)
    {
        _target = new IPEndPoint(IPAddress.Parse(server.Host), server.Port);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    /// <summary>Connections arriving now are closed at once (the server is unreachable).</summary>
    public bool Down { get => _down; set => _down = value; }

    /// <summary>What the agent sends is read and discarded, never delivered (cut the connections afterwards).</summary>
    public bool HoldUpstream { get => _holdUpstream; set => _holdUpstream = value; }

    public int Accepted { get; private set; }

    /// <summary>Breaks every open connection, both ways.</summary>
    public void CutAll()
    {
        foreach (var socket in _sockets.Keys)
        {
            _sockets.TryRemove(socket, out _);
            socket.Close(0);
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException) when (!_stop.IsCancellationRequested)
            {
                continue; // a connection reset before it was accepted: the proxy keeps listening
            }
            catch (SocketException)
            {
                return;
            }

            Accepted++;
            if (_down)
            {
                client.Close(0);
                continue;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await server.ConnectAsync(_target, _stop.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            client.Close(0);
            server.Dispose();
            return;
        }

        _sockets[client] = 0;
        _sockets[server] = 0;
        await Task.WhenAny(PumpAsync(client, server, upstream: true), PumpAsync(server, client, upstream: false));
        _sockets.TryRemove(client, out _);
        _sockets.TryRemove(server, out _);
        client.Close(0);
        server.Close(0);
    }

    private async Task PumpAsync(Socket from, Socket to, bool upstream)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                if (upstream && _holdUpstream)
                {
                    continue;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        CutAll();
        await _accepting;
        _stop.Dispose();
    }
}
