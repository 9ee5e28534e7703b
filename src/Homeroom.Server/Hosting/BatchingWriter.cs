using System.Threading.Channels;

namespace Homeroom.Server.Hosting;

/// <summary>
/// Collects items from many connections and writes them in batches from one background loop, so a
/// busy fleet costs one transaction per batch instead of one per message. The queue is bounded:
/// when the database falls behind, producers wait (back-pressure on the sending device) rather than
/// the server growing without limit. A failed batch is retried, never dropped, and items still
/// queued at shutdown are written before the host stops.
/// </summary>
public abstract class BatchingWriter<T>(int capacity, int maxBatch, TimeSpan maxDelay, TimeProvider time, ILogger logger) : BackgroundService
{
    private readonly Channel<T> _channel = Channel.CreateBounded<T>(new BoundedChannelOptions(capacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    /// <summary>Queues an item; waits while the queue is full.</summary>
    public ValueTask EnqueueAsync(T item, CancellationToken cancellationToken = default) =>
        _channel.Writer.WriteAsync(item, cancellationToken);

    /// <summary>Queues an item if there is room; false when the queue is full.</summary>
    public bool TryEnqueue(T item) => _channel.Writer.TryWrite(item);

    public int Pending => _channel.Reader.Count;

    protected abstract Task WriteBatchAsync(IReadOnlyList<T> batch, CancellationToken cancellationToken);

    /// <summary>
    /// How many rows an item writes. A batch closes when the total passes <see cref="MaxBatchWeight"/>,
    /// so one transaction never holds the database (SQLite's single writer) for long.
    /// </summary>
    protected virtual int Weigh(T item) => 1;

    protected virtual int MaxBatchWeight => int.MaxValue;

    /// <summary>Called after a batch is stored (or given up on at shutdown).</summary>
    protected virtual void OnBatchCompleted(IReadOnlyList<T> batch, Exception? error)
    {
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<T>(maxBatch);
        var reader = _channel.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken))
            {
                // Give a burst a moment to gather, so one flush carries many items.
                if (reader.Count < maxBatch && maxDelay > TimeSpan.Zero)
                {
                    await Task.Delay(maxDelay, time, stoppingToken);
                }

                var weight = 0;
                while (batch.Count < maxBatch && weight < MaxBatchWeight && reader.TryRead(out var item))
                {
                    batch.Add(item);
                    weight += Weigh(item);
                }

                await WriteWithRetryAsync(batch, stoppingToken);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: drain what is left without the stopping token.
        }

        while (reader.TryRead(out var item))
        {
            batch.Add(item);
            if (batch.Count >= maxBatch)
            {
                await WriteWithRetryAsync(batch, CancellationToken.None);
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            await WriteWithRetryAsync(batch, CancellationToken.None);
        }
    }

    private async Task WriteWithRetryAsync(List<T> batch, CancellationToken stoppingToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await WriteBatchAsync(batch, CancellationToken.None);
                OnBatchCompleted(batch, null);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                HostingLog.BatchWriteFailed(logger, GetType().Name, batch.Count, attempt, ex);
                if (attempt >= 5 && stoppingToken.IsCancellationRequested)
                {
                    OnBatchCompleted(batch, ex);
                    return;
                }

                try
                {
                    await Task.Delay(delay, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    // Keep trying a few more times during shutdown.
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _channel.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }
}
