using System.Threading.Channels;

namespace Homeroom.Server.Hosting;

/// <summary>
/// Collects items from many connections and writes them in batches from one background loop, so a
/// busy fleet costs one transaction per batch instead of one per message. The queue is bounded:
/// when the database falls behind, producers wait (back-pressure on the sending device) rather than
/// the server growing without limit. A batch that fails because the database is unavailable is
/// retried, never dropped; a batch the database refuses for its data (<see cref="WriteErrors.IsDataError"/>)
/// is halved until the items at fault stand alone, so every other item is written and only those
/// are dropped, logged and counted (<see cref="RejectedCount"/>). Items still queued at shutdown
/// are written before the host stops.
/// </summary>
public abstract class BatchingWriter<T>(int capacity, int maxBatch, TimeSpan maxDelay, TimeProvider time, ILogger logger) : BackgroundService
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestRetryDelay = TimeSpan.FromSeconds(10);

    private readonly Channel<T> _channel = Channel.CreateBounded<T>(new BoundedChannelOptions(capacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private long _rejected;

    /// <summary>
    /// Queues an item; waits while the queue is full. Throws <see cref="ChannelClosedException"/> once the writer is
    /// stopping, and <see cref="OperationCanceledException"/> when cancelled while waiting for room; either way the item
    /// is not queued (<see cref="OnNotQueued"/>).
    /// </summary>
    public ValueTask EnqueueAsync(T item, CancellationToken cancellationToken = default)
    {
        var write = _channel.Writer.WriteAsync(item, cancellationToken);
        return write.IsCompletedSuccessfully ? default : AwaitQueuedAsync(write, item);
    }

    private async ValueTask AwaitQueuedAsync(ValueTask write, T item)
    {
        try
        {
            await write;
        }
        catch (Exception ex)
        {
            OnNotQueued(item, ex);
            throw;
        }
    }

    /// <summary>Queues an item if there is room; false when the queue is full.</summary>
    public bool TryEnqueue(T item) => _channel.Writer.TryWrite(item);

    public int Pending => _channel.Reader.Count;

    /// <summary>Items the database refused for their data since start; they were dropped.</summary>
    public long RejectedCount => Interlocked.Read(ref _rejected);

    protected abstract Task WriteBatchAsync(IReadOnlyList<T> batch, CancellationToken cancellationToken);

    /// <summary>
    /// How many rows an item writes. A batch closes when the total passes <see cref="MaxBatchWeight"/>,
    /// so one transaction never holds the database (SQLite's single writer) for long.
    /// </summary>
    protected virtual int Weigh(T item) => 1;

    protected virtual int MaxBatchWeight => int.MaxValue;

    /// <summary>
    /// An item the database refused on its own: the smaller items it can be split into (each written,
    /// and if refused split again, in turn), or null when it cannot be split and is dropped.
    /// </summary>
    protected virtual IReadOnlyList<T>? Split(T item) => null;

    /// <summary>Called after a batch is stored (or given up on at shutdown, with the error).</summary>
    protected virtual void OnBatchCompleted(IReadOnlyList<T> batch, Exception? error)
    {
    }

    /// <summary>Called for an item dropped because the database refused its data; by default as a batch that failed with that error.</summary>
    protected virtual void OnRejected(T item, Exception error) => OnBatchCompleted([item], error);

    /// <summary>Called for an item <see cref="EnqueueAsync"/> could not queue (the writer is stopping, or the sender cancelled), before it throws.</summary>
    protected virtual void OnNotQueued(T item, Exception error)
    {
    }

    /// <summary>A few words naming an item in the log (never its content).</summary>
    protected virtual string Describe(T item) => typeof(T).Name;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await WriteQueuedAsync(stoppingToken);
        }
        catch (Exception ex)
        {
            // The loop broke (an error no retry handles): nothing more will be written, so refuse new items and report
            // the ones still queued as not written, rather than leave their senders waiting.
            _channel.Writer.TryComplete(new ChannelClosedException("The writer stopped after an error.", ex));
            var left = new List<T>();
            while (_channel.Reader.TryRead(out var item))
            {
                left.Add(item);
            }

            if (left.Count > 0)
            {
                OnBatchCompleted(left, ex);
            }

            throw;
        }
    }

    private async Task WriteQueuedAsync(CancellationToken stoppingToken)
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
            // Shutting down: drain what is left. A batch that keeps failing is given up after a few attempts, as one
            // under way when the stop came is, so every item is written or reported as not written before the loop ends.
            // A batch cut short by a cancelled handler has been reported as not written.
            batch.Clear();
        }

        while (reader.TryRead(out var item))
        {
            batch.Add(item);
            if (batch.Count >= maxBatch)
            {
                await WriteWithRetryAsync(batch, stoppingToken);
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            await WriteWithRetryAsync(batch, stoppingToken);
        }
    }

    private async Task WriteWithRetryAsync(List<T> batch, CancellationToken stoppingToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        // The parts still to write, the next on top. Each part is written in its own transaction,
        // so a part written before a failure is never written twice.
        var parts = new Stack<IReadOnlyList<T>>();
        parts.Push(batch.ToArray());
        var delay = FirstRetryDelay;
        var attempt = 0;
        while (parts.TryPeek(out var part))
        {
            try
            {
                await WriteBatchAsync(part, CancellationToken.None);
                parts.Pop();
                OnBatchCompleted(part, null);
                attempt = 0;
                delay = FirstRetryDelay;
            }
            catch (Exception ex) when (ex is not OperationCanceledException && WriteErrors.IsDataError(ex))
            {
                // Retrying cannot help: find the items at fault by halving, and write the others.
                parts.Pop();
                if (part.Count > 1)
                {
                    var half = part.Count / 2;
                    parts.Push(part.Skip(half).ToArray());
                    parts.Push(part.Take(half).ToArray());
                }
                else if (Split(part[0]) is { Count: > 1 } pieces)
                {
                    parts.Push(pieces);
                }
                else
                {
                    Interlocked.Increment(ref _rejected);
                    HostingLog.ItemRejected(logger, GetType().Name, Describe(part[0]), ex);
                    OnRejected(part[0], ex);
                }
            }
            catch (OperationCanceledException ex)
            {
                // Not a failure to retry (the handler is never cancelled from here): the loop ends, and these parts with it.
                while (parts.TryPop(out var left))
                {
                    OnBatchCompleted(left, ex);
                }

                throw;
            }
            catch (Exception ex)
            {
                attempt++;
                HostingLog.BatchWriteFailed(logger, GetType().Name, part.Count, attempt, ex);
                if (attempt >= 5 && stoppingToken.IsCancellationRequested)
                {
                    while (parts.TryPop(out var left))
                    {
                        OnBatchCompleted(left, ex);
                    }

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

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LongestRetryDelay.Ticks));
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _channel.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }
}
