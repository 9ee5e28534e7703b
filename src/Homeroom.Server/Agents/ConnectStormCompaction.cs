using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Agents;

/// <summary>
/// Hands the memory a connect storm leaves behind back to the operating system once the storm is over.
/// <para>
/// Thousands of agents connecting at once (every morning, after a restart, when a school's network comes back)
/// allocate far more than the connections keep: TLS and HTTP handshakes, enrollment and authentication queries, the first
/// policy and location passes. Much of it lives just long enough to reach the oldest generation, where it stays, with
/// the memory the GC committed for it, until a full collection that a quiet fleet's steady allocation may not cause
/// for hours. Measured on PostgreSQL at 10,000 devices, the heap after the last collection was nearly twice the live
/// data (docs/performance.md). So once at least <see cref="AgentOptions.CompactAfterConnects"/> agents connected and the
/// connecting stopped, the node runs one blocking, compacting full collection in the GC's aggressive mode, which also
/// decommits what it freed. It pauses the process for the length of one full collection (logged, event 3021), at
/// most once every <see cref="AgentOptions.CompactAtMostEverySeconds"/>. Every node looks at its own connections.
/// </para>
/// </summary>
public sealed class ConnectStormCompaction(ConnectionRegistry registry, IOptions<AgentOptions> options, TimeProvider time, ILogger<ConnectStormCompaction> logger)
    : BackgroundService
{
    private readonly Lock _lock = new();
    private long _atLastTick;
    private long _atLastCompaction;
    private DateTimeOffset _lastCompaction = DateTimeOffset.MinValue;
    private int _compactions;

    /// <summary>Collections this node ran after a connect storm since start.</summary>
    public int Compactions => Volatile.Read(ref _compactions);

    /// <summary>
    /// Counts the connections made since the last check and compacts when a storm has ended; true when it did. Called by
    /// the timer every <see cref="AgentOptions.CompactCheckSeconds"/> (and by tests).
    /// </summary>
    public bool Check()
    {
        var settings = options.Value;
        lock (_lock)
        {
            var registered = registry.Registered;
            var recent = registered - _atLastTick;
            _atLastTick = registered;
            var now = time.GetUtcNow();
            if (settings.CompactAfterConnects == 0
                || registered - _atLastCompaction < settings.CompactAfterConnects
                || recent >= settings.CompactWhenFewerConnects
                || now - _lastCompaction < TimeSpan.FromSeconds(settings.CompactAtMostEverySeconds))
            {
                return false;
            }

            var before = GC.GetGCMemoryInfo();
            var started = Stopwatch.GetTimestamp();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            var pause = Stopwatch.GetElapsedTime(started);
            var after = GC.GetGCMemoryInfo();
            AgentsLog.StormCompacted(logger, registered - _atLastCompaction, pause.TotalMilliseconds,
                before.HeapSizeBytes / 1048576.0, after.HeapSizeBytes / 1048576.0, before.TotalCommittedBytes / 1048576.0, after.TotalCommittedBytes / 1048576.0);
            _atLastCompaction = registered;
            _lastCompaction = now;
            Interlocked.Increment(ref _compactions);
            return true;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.CompactAfterConnects == 0)
        {
            return;
        }

        // Wall-clock time: the check counts real connections, whatever clock the rest of the server is given.
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.CompactCheckSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Check();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
