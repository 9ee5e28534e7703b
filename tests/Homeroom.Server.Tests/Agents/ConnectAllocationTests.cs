using System.Net.WebSockets;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Roster;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Homeroom.Server.Tests.Agents;

/// <summary>Runs alone, so the process's allocations while devices enroll and connect are theirs (and the server's work for them).</summary>
[CollectionDefinition(nameof(ConnectAllocationCollection), DisableParallelization = true)]
public sealed class ConnectAllocationCollection;

/// <summary>
/// What one device's enrollment and first connection allocate in the server. In a connect storm this garbage is what
/// survives into the GC's older generations while requests wait on the database, and so what the resident memory per
/// device grows with (docs/performance.md, PostgreSQL memory per device). Most of it was building a database context
/// per unit of work; contexts are now pooled.
/// </summary>
[Collection(nameof(ConnectAllocationCollection))]
[Trait(AloneInProcess.Trait, AloneInProcess.Value)]
public abstract class ConnectAllocationTests(DatabaseProvider provider, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Devices = 40;

    /// <summary>
    /// The test process's allocations per enrolled and connected device, server and client together. Measured on
    /// 2026-12-06 with a context built per unit of work: 957 KB (SQLite) and 813 KB (PostgreSQL); pooled, 679 and 548 KB.
    /// </summary>
    private const long AllowedBytesPerDevice = 750 * 1024;

    private HomeroomHost Host { get; set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await Host.DisposeAsync();

    [Fact]
    public async Task ContextFactory_ContextsGivenBack_AreReusedWithNothingTracked()
    {
        var factory = Host.GetService<IDbContextFactory<HomeroomDbContext>>();
        var reused = false;
        // The server's own services rent contexts meanwhile, so which one comes back is not known; but the pool holds at
        // most ContextPoolSize, so more rentals than that in a row must include one given back before.
        for (var i = 0; i <= DatabaseSetup.ContextPoolSize; i++)
        {
            await using var db = await factory.CreateDbContextAsync();
            db.ContextId.Lease.ShouldBeGreaterThan(0); // 0 is a context built for this use alone
            db.ChangeTracker.Entries().ShouldBeEmpty();
            reused |= db.ContextId.Lease > 1;
            db.Districts.Attach(new District { Id = Guid.NewGuid(), Name = "Tracked", TimeZone = "UTC" });
        }

        reused.ShouldBeTrue();
        await using var last = await factory.CreateDbContextAsync();
        (await last.Devices.CountAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task EnrollAndConnect_PerDevice_AllocatesLittle()
    {
        var token = await Host.CreateTokenAsync();
        // Warm-up: the first devices pay for compiling the queries and the code paths.
        await EnrollAndConnectAsync(token, "WARM", 5);

        var before = GC.GetTotalAllocatedBytes(precise: true);
        await EnrollAndConnectAsync(token, "MEASURED", Devices);
        var perDevice = (GC.GetTotalAllocatedBytes(precise: true) - before) / Devices;

        output.WriteLine($"{provider}: {perDevice / 1024} KB allocated per enrolled and connected device");
        perDevice.ShouldBeLessThan(AllowedBytesPerDevice);
    }

    // A bare client (not TestAgent, whose 1 MiB receive buffer would outweigh the server's share): enroll, open the socket,
    // authenticate, read the welcome.
    private async Task EnrollAndConnectAsync(string token, string prefix, int count)
    {
        var sockets = new List<ClientWebSocket>();
        var buffer = new byte[16 * 1024];
        try
        {
            for (var i = 0; i < count; i++)
            {
                var enrolled = await Host.EnrollAsync(token, $"{prefix}-{i}");
                var socket = new ClientWebSocket();
                sockets.Add(socket);
                await socket.ConnectAsync(Host.AgentUri, CancellationToken.None).WaitAsync(HomeroomHost.Timeout);
                var auth = AgentFrameCodec.Serialize(new AuthFrame(enrolled.DeviceId, enrolled.Credential, AgentProtocol.Version, "test-agent/1.0"));
                await socket.SendAsync(auth, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).WaitAsync(HomeroomHost.Timeout);
                var received = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(HomeroomHost.Timeout);
                received.EndOfMessage.ShouldBeTrue();
                AgentFrameCodec.TryRead(buffer.AsSpan(0, received.Count), out var frame, out _).ShouldBe(FrameReadError.None);
                frame.ShouldBeOfType<WelcomeFrame>();
            }
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Abort();
                socket.Dispose();
            }
        }
    }
}

public sealed class ConnectAllocationSqliteTests(ITestOutputHelper output) : ConnectAllocationTests(DatabaseProvider.Sqlite, output);

public sealed class ConnectAllocationPostgresTests(ITestOutputHelper output) : ConnectAllocationTests(DatabaseProvider.Postgres, output);
