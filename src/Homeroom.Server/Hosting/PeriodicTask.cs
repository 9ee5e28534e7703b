namespace Homeroom.Server.Hosting;

/// <summary>A background job that runs every <paramref name="interval"/>; a failed run is logged and the next one goes ahead.</summary>
public abstract class PeriodicTask(TimeSpan interval, TimeProvider time, ILogger logger) : BackgroundService
{
    protected TimeProvider Time { get; } = time;

    protected ILogger Logger { get; } = logger;

    private readonly SemaphoreSlim _exclusive = new(1, 1);

    protected abstract Task RunOnceAsync(CancellationToken cancellationToken);

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
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                HostingLog.MaintenanceFailed(Logger, GetType().Name, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
