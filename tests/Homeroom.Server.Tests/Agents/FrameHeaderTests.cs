using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Agents;

/// <summary>
/// Frame headers written by hand over a raw TCP connection: what a hostile or broken client can send
/// that a well-behaved WebSocket library never would. One server for the class: each test enrolls its own
/// device and opens its own connections, and nothing here counts what others stored.
/// </summary>
public sealed class FrameHeaderTests(SharedSqliteHost server) : IClassFixture<SharedSqliteHost>
{
    private HomeroomHost Host => server.Host;

    [Theory]
    [InlineData(1L << 40, false)]
    [InlineData(1L << 40, true)]
    [InlineData(ProtocolLimits.MaxBinaryFrameBytes + 1L, false)]
    public async Task DeclaredFrameLength_AboveTheLimit_ClosesWith4413(long declared, bool authenticateFirst)
    {
        using var client = await RawWebSocket.ConnectAsync(Host.BaseAddress);
        if (authenticateFirst)
        {
            var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "RAW-" + Guid.NewGuid().ToString("N")[..8]);
            await client.SendTextAsync(AgentFrameCodec.Serialize(new AuthFrame(enrolled.DeviceId, enrolled.Credential, AgentProtocol.Version, null)));
            (await client.ReadFrameAsync()).Opcode.ShouldBe(1); // welcome
        }

        await client.SendHeaderAsync(opcode: 1, declared);
        await client.SendBytesAsync(new byte[16]);

        var (code, reason) = await client.ReadCloseAsync();
        code.ShouldBe(AgentCloseCodes.FrameTooLarge);
        reason.ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task Http2WebSocket_ConnectsAndAnOversizedFrameClosesWith4413()
    {
        // Browsers use WebSockets over HTTP/2 (extended CONNECT) where the server offers it; cleartext here.
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Kestrel:EndpointDefaults:Protocols=Http2");
        using var handler = new SocketsHttpHandler();
        using var http = new HttpClient(handler, disposeHandler: false)
        {
            BaseAddress = host.BaseAddress,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", HomeroomHost.ApiKey);
        using var created = await http.PostAsJsonAsync("/api/enrollment-tokens", new { name = "h2" });
        var token = (await created.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
        using var enrollment = await http.PostAsJsonAsync("/agent/v1/enroll", new EnrollRequest(token, DevicePlatform.ChromeOS, "H2-1"), AgentJsonContext.Default.EnrollRequest);
        var enrolled = (await enrollment.EnsureSuccessStatusCode().Content.ReadFromJsonAsync(AgentJsonContext.Default.EnrollResponse))!;

        using var socket = new ClientWebSocket();
        socket.Options.HttpVersion = HttpVersion.Version20;
        socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        socket.Options.AddSubProtocol(AgentProtocol.SubProtocol);
        socket.Options.CollectHttpResponseDetails = true;
        using var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
        await socket.ConnectAsync(host.AgentUri, invoker, CancellationToken.None).WaitAsync(HomeroomHost.Timeout);
        socket.HttpStatusCode.ShouldBe(HttpStatusCode.OK);
        socket.SubProtocol.ShouldBe(AgentProtocol.SubProtocol);
        await socket.SendAsync(AgentFrameCodec.Serialize(new AuthFrame(enrolled.DeviceId, enrolled.Credential, AgentProtocol.Version, null)), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[64 * 1024];
        var welcome = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(HomeroomHost.Timeout);
        AgentFrameCodec.TryRead(buffer.AsSpan(0, welcome.Count), out var frame, out _).ShouldBe(FrameReadError.None);
        frame.ShouldBeOfType<WelcomeFrame>();

        // More than the server's request body limit (1 MB) in all: a socket is not a request body.
        var padded = Encoding.UTF8.GetBytes("{\"type\":\"heartbeat\",\"padding\":\"" + new string('x', 60_000) + "\"}");
        for (var i = 0; i < 20; i++)
        {
            await socket.SendAsync(padded, WebSocketMessageType.Text, true, CancellationToken.None).WaitAsync(HomeroomHost.Timeout);
        }

        using var ping = await http.PostAsJsonAsync("/api/commands", new { kind = "ping", deviceIds = new[] { enrolled.DeviceId } });
        ping.EnsureSuccessStatusCode();
        AgentFrame? received;
        do
        {
            // A policy frame may come first.
            var next = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(HomeroomHost.Timeout);
            AgentFrameCodec.TryRead(buffer.AsSpan(0, next.Count), out received, out _).ShouldBe(FrameReadError.None);
        }
        while (received is not CommandFrame);

        try
        {
            await socket.SendAsync(new byte[ProtocolLimits.MaxTextFrameBytes + 1], WebSocketMessageType.Text, true, CancellationToken.None).WaitAsync(HomeroomHost.Timeout);
        }
        catch (WebSocketException)
        {
            // The server may end the stream before the whole frame is written.
        }

        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(HomeroomHost.Timeout);
        }
        while (result.MessageType != WebSocketMessageType.Close);

        ((int?)result.CloseStatus).ShouldBe(AgentCloseCodes.FrameTooLarge);
    }

    [Fact]
    public async Task ContinuationFrames_DeclaringMoreThanTheLimitInAll_CloseWith4413()
    {
        using var client = await RawWebSocket.ConnectAsync(Host.BaseAddress);
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "RAW-CONT");
        await client.SendTextAsync(AgentFrameCodec.Serialize(new AuthFrame(enrolled.DeviceId, enrolled.Credential, AgentProtocol.Version, null)));
        (await client.ReadFrameAsync()).Opcode.ShouldBe(1);

        await client.SendHeaderAsync(opcode: 1, ProtocolLimits.MaxTextFrameBytes - 10, fin: false);
        await client.SendBytesAsync(new byte[ProtocolLimits.MaxTextFrameBytes - 10]);
        await client.SendHeaderAsync(opcode: 0, 100);

        (await client.ReadCloseAsync()).Code.ShouldBe(AgentCloseCodes.FrameTooLarge);
    }

    [Fact]
    public async Task FramesWithinTheLimit_SentInPieces_PassUnchanged()
    {
        using var client = await RawWebSocket.ConnectAsync(Host.BaseAddress);
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "RAW-OK");
        var auth = AgentFrameCodec.Serialize(new AuthFrame(enrolled.DeviceId, enrolled.Credential, AgentProtocol.Version, null));

        // One byte at a time: the header reader must follow frames across any split.
        await client.SendTextAsync(auth, bytesPerWrite: 1);

        var (opcode, payload) = await client.ReadFrameAsync();
        opcode.ShouldBe(1);
        AgentFrameCodec.TryRead(payload, out var welcome, out _).ShouldBe(FrameReadError.None);
        welcome.ShouldBeOfType<WelcomeFrame>().DeviceId.ShouldBe(enrolled.DeviceId);
    }
}

/// <summary>A WebSocket client written by hand: it upgrades, then writes frame headers as told.</summary>
internal sealed class RawWebSocket : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private RawWebSocket(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawWebSocket> ConnectAsync(Uri server)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port).WaitAsync(Timeout);
        var socket = new RawWebSocket(tcp);
        var request = $"GET /agent/v1 HTTP/1.1\r\nHost: {server.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await socket._stream.WriteAsync(Encoding.ASCII.GetBytes(request)).AsTask().WaitAsync(Timeout);
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await socket._stream.ReadAsync(one).AsTask().WaitAsync(Timeout) == 0)
            {
                throw new IOException("The server closed during the upgrade.");
            }

            head.Append((char)one[0]);
        }

        head.ToString().ShouldStartWith("HTTP/1.1 101");
        return socket;
    }

    public async Task SendHeaderAsync(int opcode, long length, bool fin = true)
    {
        var header = new byte[14];
        header[0] = (byte)((fin ? 0x80 : 0) | opcode);
        header[1] = 0x80 | 127;
        BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(2), length);
        // Mask key 0: the payload goes through unchanged.
        await _stream.WriteAsync(header).AsTask().WaitAsync(Timeout);
    }

    public async Task SendBytesAsync(byte[] bytes) => await _stream.WriteAsync(bytes).AsTask().WaitAsync(Timeout);

    public async Task SendTextAsync(byte[] payload, int bytesPerWrite = int.MaxValue)
    {
        var header = new List<byte> { 0x81 };
        if (payload.Length < 126)
        {
            header.Add((byte)(0x80 | payload.Length));
        }
        else
        {
            header.Add(0x80 | 126);
            header.Add((byte)(payload.Length >> 8));
            header.Add((byte)payload.Length);
        }

        header.AddRange(new byte[4]);
        var frame = header.Concat(payload).ToArray();
        for (var offset = 0; offset < frame.Length; offset += bytesPerWrite)
        {
            await _stream.WriteAsync(frame.AsMemory(offset, Math.Min(bytesPerWrite, frame.Length - offset))).AsTask().WaitAsync(Timeout);
            await _stream.FlushAsync();
        }
    }

    /// <summary>Reads one server frame (servers never mask).</summary>
    public async Task<(int Opcode, byte[] Payload)> ReadFrameAsync()
    {
        var head = await ReadExactlyAsync(2);
        long length = head[1] & 0x7F;
        if (length == 126)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(await ReadExactlyAsync(2));
        }
        else if (length == 127)
        {
            length = BinaryPrimitives.ReadInt64BigEndian(await ReadExactlyAsync(8));
        }

        return (head[0] & 0x0F, await ReadExactlyAsync((int)length));
    }

    /// <summary>Reads frames until a close frame; returns its code and reason.</summary>
    public async Task<(int Code, string Reason)> ReadCloseAsync()
    {
        while (true)
        {
            var (opcode, payload) = await ReadFrameAsync();
            if (opcode == 8)
            {
                return payload.Length < 2 ? (1005, string.Empty) : (BinaryPrimitives.ReadUInt16BigEndian(payload), Encoding.UTF8.GetString(payload, 2, payload.Length - 2));
            }
        }
    }

    private async Task<byte[]> ReadExactlyAsync(int count)
    {
        var buffer = new byte[count];
        await _stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Timeout);
        return buffer;
    }

    public void Dispose() => _tcp.Dispose();
}
