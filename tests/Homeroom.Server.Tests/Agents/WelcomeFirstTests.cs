using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Agents;

/// <summary><c>welcome</c> is the first frame on every connection, whatever other parts send meanwhile.</summary>
public sealed class WelcomeFirstTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Send_BeforeTheWelcome_WaitsForIt()
    {
        var (server, client) = WebSocketPair.Create();
        var deviceId = Guid.NewGuid();
        using var connection = new AgentConnection(deviceId, server, TimeSpan.FromSeconds(10));

        // The connection is registered (so visible) before its welcome: what others send must wait.
        var policy = connection.SendAsync(new PolicyFrame(3, JsonDocument.Parse("{}").RootElement));
        var command = connection.SendCommandAsync(Guid.NewGuid(), AgentFrameCodec.Serialize(new CommandFrame(
            Guid.NewGuid(), "ping", null, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddHours(1))));
        (await connection.SendWelcomeAsync(new WelcomeFrame(deviceId, DateTimeOffset.UtcNow, 30, 0, 0, 65536, 20)).WaitAsync(Timeout)).ShouldBeTrue();

        (await policy.WaitAsync(Timeout)).ShouldBeTrue();
        (await command.WaitAsync(Timeout)).ShouldBeTrue();
        var frames = new List<AgentFrame>();
        var buffer = new byte[64 * 1024];
        for (var i = 0; i < 3; i++)
        {
            var result = await client.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).AsTask().WaitAsync(Timeout);
            AgentFrameCodec.TryRead(buffer.AsSpan(0, result.Count), out var frame, out _).ShouldBe(FrameReadError.None);
            frames.Add(frame!);
        }

        frames[0].ShouldBeOfType<WelcomeFrame>();
        frames.Skip(1).Select(f => f.GetType()).ShouldBe([typeof(PolicyFrame), typeof(CommandFrame)], ignoreOrder: true);
    }

    [Fact]
    public async Task QuickReconnects_WithPolicyAndCommandsPending_AlwaysStartWithWelcome()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);
        var profile = await host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Everyone", settings = new { webFilter = new { safeSearch = true } } });
        (await host.PostJsonAsync("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" })).EnsureSuccessStatusCode();
        var enrolled = await host.EnrollAsync(await host.CreateTokenAsync(), "QUICK-1");
        // Pending commands are sent on every connection until acknowledged; this agent never acknowledges.
        for (var i = 0; i < 3; i++)
        {
            (await host.PostJsonAsync("/api/commands", new { kind = "ping", deviceIds = new[] { enrolled.DeviceId } })).EnsureSuccessStatusCode();
        }

        TestAgent? previous = null;
        try
        {
            for (var i = 0; i < 300; i++)
            {
                // Each connection replaces the one before while the server may still be sending to it.
                var agent = await TestAgent.ConnectAsync(host.AgentUri, enrolled.DeviceId, enrolled.Credential);
                var first = await agent.ExpectAsync<AgentFrame>();
                await DropAsync(previous);
                previous = agent;
                first.ShouldBeOfType<WelcomeFrame>($"connection {i + 1} began with {first.GetType().Name}");
            }
        }
        finally
        {
            await DropAsync(previous);
        }
    }

    private static async Task DropAsync(TestAgent? agent)
    {
        if (agent is not null)
        {
            agent.Abort();
            await agent.DisposeAsync();
        }
    }
}

/// <summary>Two WebSockets joined in memory, for testing one side against the other.</summary>
internal static class WebSocketPair
{
    public static (WebSocket Server, WebSocket Client) Create()
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        var server = WebSocket.CreateFromStream(new DuplexStream(toServer.Reader.AsStream(), toClient.Writer.AsStream()), new WebSocketCreationOptions { IsServer = true });
        var client = WebSocket.CreateFromStream(new DuplexStream(toClient.Reader.AsStream(), toServer.Writer.AsStream()), new WebSocketCreationOptions { IsServer = false });
        return (server, client);
    }

    private sealed class DuplexStream(Stream read, Stream write) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => write.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => write.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => read.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => read.ReadAsync(buffer, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => write.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => write.WriteAsync(buffer, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                read.Dispose();
                write.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
