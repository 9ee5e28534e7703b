using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Homeroom.Contracts.Agents;

namespace Homeroom.Contracts.Tests;

public sealed class AgentClientTests
{
    [Fact]
    public async Task Send_WhenTheSocketIsAbortedUnderIt_ReturnsFalseInsteadOfThrowing()
    {
        // An agent's worker reads "false" as "the connection is gone" and reconnects; an exception instead ended the
        // worker for good when a link dropped while a frame was going out (the read loop aborts the socket, and the
        // socket turns the pending send's I/O error into a cancellation).
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accepted = AcceptWebSocketAsync(listener);
        await using var client = await AgentClient.ConnectAsync(new Uri($"ws://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/agent"), null, CancellationToken.None);
        using var server = await accepted;

        // Larger than every buffer on the way: the send waits, since the server reads nothing more.
        var sending = client.SendAsync(new byte[64 * 1024 * 1024], WebSocketMessageType.Binary);
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        sending.IsCompleted.ShouldBeFalse("the send should still be waiting for the server to read");

        client.Abort();

        (await sending.WaitAsync(TimeSpan.FromSeconds(10))).ShouldBeFalse();
        (await client.SendAsync(new byte[16], WebSocketMessageType.Binary)).ShouldBeFalse("a send after the abort");
    }

    /// <summary>Answers one WebSocket opening handshake (RFC 6455, section 4.2.2) and then reads nothing.</summary>
    private static async Task<Socket> AcceptWebSocketAsync(TcpListener listener)
    {
        var socket = await listener.AcceptSocketAsync();
        var request = new StringBuilder();
        var buffer = new byte[1024];
        while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None);
            read.ShouldBeGreaterThan(0, "the client closed before its handshake ended");
            request.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        var key = request.ToString().Split("\r\n")
            .Single(line => line.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))["Sec-WebSocket-Key:".Length..].Trim();
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        await socket.SendAsync(Encoding.ASCII.GetBytes(
            $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"), SocketFlags.None);
        return socket;
    }
}
