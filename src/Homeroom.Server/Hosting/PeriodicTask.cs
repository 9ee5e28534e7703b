using Homeroom.Server.Hosting.Cluster;

namespace Homeroom.Server.Hosting;

/// <summary>
/// A background job that runs every <paramref name="interval"/>; a failed run is logged and the next one goes ahead.
/// Once per cluster by default: before each run the node takes or renews the job's lease (<see cref="JobLeases"/>,
/// lasting a few intervals) and skips the run while another node holds it; a stopping node releases its leases once
/// its jobs have stopped (<see cref="JobLeases.StopAsync"/>). A job
/// that acts on this node's own memory (its connections, its live sessions) runs on every node instead
/// (<see cref="RunsOnEveryNode"/>).
/// </summary>
public abstract class PeriodicTask(TimeSpan interval, JobLeases leases, TimeProvider time, ILogger logger) : BackgroundService
{
    protected TimeProvider Time { get; } = time;

    protected ILogger Logger { get; } = logger;

    private readonly SemaphoreSlim _exclusive = new(1, 1);
    private long _runs;
    private long _skips;
    private int _lastTake; // 0 not tried yet, 1 held here, 2 held elsewhere: the log says only when it changes

    /// <summary>The job's name in <c>job_leases</c> and in the metrics: its class name.</summary>
    public virtual string JobName => GetType().Name;

    /// <summary>Whether every node runs this job on its own state (no lease); false: once across the cluster.</summary>
    public virtual bool RunsOnEveryNode => false;

    /// <summary>Ticks this node ran the job since start.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>Ticks this node skipped because another node held the job's lease.</summary>
    public long Skips => Interlocked.Read(ref _skips);

    protected abstract Task RunOnceAsync(CancellationToken cancellationToken);

    /// <summary>Work of a once-per-cluster job on this node's own memory, done at every tick whoever holds the lease.</summary>
    protected virtual Task RunOnThisNodeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Runs <paramref name="work"/> never at the same time as another call through here: a job whose
    /// background run and a direct call (tests, a future "run now") must not do one step twice.
    /// </summary>
    protected async Task<T> RunExclusiveAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        await _exclusive.WaitAsync(cancellationToken);
        try
        {
            return await work(cancellationToken);
        }
        finally
        {
            _exclusive.Release();
        }
    }

    public override void Dispose()
    {
        _exclusive.Dispose();
        base.Dispose();
        GC.SuppressFinalize(this);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, Time);
        do
        {
            try
            {
                if (await MayRunAsync(stoppingToken))
                {
                    Interlocked.Increment(ref _runs);
                    leases.Count(JobName, ran: true);
                    await RunOnceAsync(stoppingToken);
                }
                else
                {
                    Interlocked.Increment(ref _skips);
                    leases.Count(JobName, ran: false);
                }

                await RunOnThisNodeAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                HostingLog.MaintenanceFailed(Logger, GetType().Name, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task<bool> MayRunAsync(CancellationToken cancellationToken)
    {
        if (RunsOnEveryNode)
        {
            return true;
        }

        var held = await leases.TryTakeAsync(JobName, leases.LeaseFor(interval), cancellationToken);
        if (Interlocked.Exchange(ref _lastTake, held ? 1 : 2) != (held ? 1 : 2))
        {
            if (held)
            {
                ClusterLog.LeaseTaken(Logger, JobName);
            }
            else
            {
                ClusterLog.LeaseHeldElsewhere(Logger, JobName);
            }
        }

        return held;
    }
}
