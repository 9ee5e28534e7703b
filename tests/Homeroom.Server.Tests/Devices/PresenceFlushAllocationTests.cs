using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Homeroom.Server.Tests.Devices;

/// <summary>Runs alone, so the process's allocations during a flush are the flush's.</summary>
[CollectionDefinition(nameof(PresenceFlushAllocationCollection), DisableParallelization = true)]
public sealed class PresenceFlushAllocationCollection;

/// <summary>
/// A presence flush writes every device heard from since the last one: after a connect storm, thousands of rows every
/// few seconds. What it allocates per row is garbage the storm's GC carries (docs/performance.md, PostgreSQL memory per
/// device).
/// </summary>
[Collection(nameof(PresenceFlushAllocationCollection))]
[Trait(AloneInProcess.Trait, AloneInProcess.Value)]
public abstract class PresenceFlushAllocationTests(DatabaseProvider provider, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Rows = 5_000;

    /// <summary>
    /// Measured on 2026-12-06 per row: PostgreSQL 5,820 bytes as a batch of one statement per row, 499 as one statement
    /// over arrays; SQLite (one prepared statement run per row) 2,082 to 2,157.
    /// </summary>
    private long AllowedBytesPerRow => provider == DatabaseProvider.Postgres ? 1_500 : 3_000;

    private HomeroomHost Host { get; set; } = null!;

    // The flush is called by the test alone: the periodic one waits ten minutes.
    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(provider, "Homeroom:Presence:FlushInterval=00:10:00");

    public async Task DisposeAsync() => await Host.DisposeAsync();

    [Fact]
    public async Task Flush_ManyDevices_AllocatesLittlePerRow_AndWritesEachDevicesNewestReport()
    {
        var presence = Host.GetService<PresenceTracker>();
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "PRESENCE-1");
        var fix = new LocationFix(47.5, 8.5, 20, DateTimeOffset.UtcNow);
        presence.Heartbeat(enrolled.DeviceId, new HeartbeatFrame(new BatteryState(40, false), new NetworkState("wifi", null, "10.1.0.1"), fix));
        await presence.FlushAsync(CancellationToken.None); // warm-up: the statement's first run

        for (var i = 0; i < Rows; i++)
        {
            presence.Heartbeat(Guid.NewGuid(), new HeartbeatFrame(new BatteryState(i % 100, i % 2 == 0), new NetworkState("wifi", null, $"10.2.{i / 250}.{i % 250}"), fix));
        }

        presence.Heartbeat(enrolled.DeviceId, new HeartbeatFrame(new BatteryState(41, true), new NetworkState("ethernet", null, "10.1.0.2"), null));
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await presence.FlushAsync(CancellationToken.None);
        var perRow = (GC.GetTotalAllocatedBytes(precise: true) - before) / Rows;

        output.WriteLine($"{provider}: {perRow} bytes allocated per presence row flushed");
        perRow.ShouldBeLessThan(AllowedBytesPerRow);
        presence.PendingWrites.ShouldBe(0);
        await Host.RestartAsync(); // what the database holds, not the tracker's memory
        var device = await Host.GetJsonAsync<JsonElement>($"/api/devices/{enrolled.DeviceId}");
        device.GetProperty("batteryLevel").GetInt32().ShouldBe(41);
        device.GetProperty("ipAddress").GetString().ShouldBe("10.1.0.2");
    }
}

public sealed class PresenceFlushAllocationSqliteTests(ITestOutputHelper output) : PresenceFlushAllocationTests(DatabaseProvider.Sqlite, output);

public sealed class PresenceFlushAllocationPostgresTests(ITestOutputHelper output) : PresenceFlushAllocationTests(DatabaseProvider.Postgres, output);
