namespace Homeroom.Server.Hosting;

public enum ItemOutcomeKind
{
    /// <summary>Written: its batch's transaction committed.</summary>
    Accepted,

    /// <summary>Not written, and never will be: the batch handler turned it away, or the database refused its data.</summary>
    Rejected,

    /// <summary>Not written: given up at shutdown, the writer stopped or broke, or the sender cancelled before it was queued.</summary>
    Failed,
}

/// <summary>What became of one item of an <see cref="AwaitedBatchingWriter{T}"/>.</summary>
/// <param name="Kind">Written, rejected or failed.</param>
/// <param name="Reason">Why it was rejected, in a few words for the log.</param>
/// <param name="Error">The database's refusal of a rejected item, or what made a failed one fail.</param>
public sealed record ItemOutcome(ItemOutcomeKind Kind, string? Reason = null, Exception? Error = null)
{
    public static ItemOutcome Written { get; } = new(ItemOutcomeKind.Accepted);

    public bool IsAccepted => Kind == ItemOutcomeKind.Accepted;

    public static ItemOutcome Rejected(string reason, Exception? error = null) => new(ItemOutcomeKind.Rejected, reason, error);

    public static ItemOutcome Failed(Exception error) => new(ItemOutcomeKind.Failed, null, error);
}

/// <summary>A sender's view of its item's outcome: a task of the answer it needs (for an activity batch, whether the agent may forget its events).</summary>
public sealed class Completion<TResult>(Task<TResult> task)
{
    public Task<TResult> Task { get; } = task;
}

/// <summary>
/// An item whose sender waits for its outcome (<see cref="Outcome"/>), set exactly once by the
/// <see cref="AwaitedBatchingWriter{T}"/> that writes it.
/// </summary>
public abstract class AwaitedItem
{
    private readonly TaskCompletionSource<ItemOutcome> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _rejection;

    // Set on the pieces an item was split into: the item they complete together, and their outcome so far.
    private AwaitedItem? _whole;
    private Lock? _piecesGate;
    private int _piecesLeft;
    private ItemOutcome? _piecesOutcome;

    /// <summary>Completes once the item is written or will not be; never faults or cancels.</summary>
    public Task<ItemOutcome> Outcome => _outcome.Task;

    /// <summary>
    /// Called by the batch handler: the item is not to be written, for this reason. It holds once the handler returns;
    /// when the batch is written again (after a failure) the handler decides again.
    /// </summary>
    public void Reject(string reason) => _rejection = reason;

    internal void ClearVerdict() => _rejection = null;

    internal ItemOutcome Verdict => _rejection is null ? ItemOutcome.Written : ItemOutcome.Rejected(_rejection);

    internal bool Complete(ItemOutcome outcome)
    {
        if (!_outcome.TrySetResult(outcome))
        {
            return false;
        }

        _whole?.PieceCompleted(outcome);
        return true;
    }

    /// <summary>This item completes when all the pieces do: failed if any failed, else written if any was, else rejected.</summary>
    internal void CompleteWith(IReadOnlyList<AwaitedItem> pieces)
    {
        _piecesGate = new Lock();
        _piecesLeft = pieces.Count;
        foreach (var piece in pieces)
        {
            piece._whole = this;
        }
    }

    private void PieceCompleted(ItemOutcome outcome)
    {
        ItemOutcome whole;
        lock (_piecesGate!)
        {
            if (_piecesOutcome is null || Rank(outcome) > Rank(_piecesOutcome))
            {
                _piecesOutcome = outcome;
            }

            if (--_piecesLeft > 0)
            {
                return;
            }

            whole = _piecesOutcome;
        }

        Complete(whole);
    }

    private static int Rank(ItemOutcome outcome) => outcome.Kind switch
    {
        ItemOutcomeKind.Rejected => 0,
        ItemOutcomeKind.Accepted => 1,
        _ => 2,
    };
}

/// <summary>
/// A <see cref="BatchingWriter{T}"/> whose senders wait for their own item's outcome (<see cref="WriteAsync"/>). The
/// batch handler (<see cref="WriteItemsAsync"/>) only calls <see cref="AwaitedItem.Reject"/> on the items it turns
/// away; once the batch commits the others are accepted. Every item's outcome is set exactly once: accepted or rejected
/// when its batch is written; rejected when the database refuses its data; failed when its batch is given up at
/// shutdown, when the writer's loop breaks, or when it could not be queued (the writer is stopping, or the sender
/// cancelled while the queue was full). An item split into pieces completes when they all have.
/// </summary>
public abstract class AwaitedBatchingWriter<T>(int capacity, int maxBatch, TimeSpan maxDelay, TimeProvider time, ILogger logger)
    : BatchingWriter<T>(capacity, maxBatch, maxDelay, time, logger)
    where T : AwaitedItem
{
    /// <summary>
    /// Queues the item (waiting while the queue is full) and waits for its outcome. Cancelling ends the wait with
    /// <see cref="OperationCanceledException"/>; an item already queued is still written, and its
    /// <see cref="AwaitedItem.Outcome"/> still set. Throws as <see cref="BatchingWriter{T}.EnqueueAsync"/> does when it
    /// cannot be queued.
    /// </summary>
    public async Task<ItemOutcome> WriteAsync(T item, CancellationToken cancellationToken = default)
    {
        await EnqueueAsync(item, cancellationToken);
        return await item.Outcome.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Writes a batch in one transaction, calling <see cref="AwaitedItem.Reject"/> on each item it does not write. Throws
    /// as <see cref="BatchingWriter{T}.WriteBatchAsync"/> may; the batch is then written again, or halved, as there.
    /// </summary>
    protected abstract Task WriteItemsAsync(IReadOnlyList<T> batch, CancellationToken cancellationToken);

    /// <summary>The smaller items an item the database refused can be split into, or null (as <see cref="BatchingWriter{T}.Split"/>).</summary>
    protected virtual IReadOnlyList<T>? SplitItem(T item) => null;

    /// <summary>Called once an item's outcome is set (for a split item, for each piece), for logging.</summary>
    protected virtual void OnCompleted(T item, ItemOutcome outcome)
    {
    }

    protected sealed override async Task WriteBatchAsync(IReadOnlyList<T> batch, CancellationToken cancellationToken)
    {
        foreach (var item in batch)
        {
            item.ClearVerdict();
        }

        await WriteItemsAsync(batch, cancellationToken);
    }

    protected sealed override IReadOnlyList<T>? Split(T item)
    {
        var pieces = SplitItem(item);
        if (pieces is { Count: > 1 })
        {
            item.CompleteWith(pieces);
        }

        return pieces;
    }

    protected sealed override void OnBatchCompleted(IReadOnlyList<T> batch, Exception? error)
    {
        foreach (var item in batch)
        {
            Complete(item, error is null ? item.Verdict : ItemOutcome.Failed(error));
        }
    }

    protected sealed override void OnRejected(T item, Exception error) => Complete(item, ItemOutcome.Rejected("the database refused its data", error));

    protected sealed override void OnNotQueued(T item, Exception error) => Complete(item, ItemOutcome.Failed(error));

    private void Complete(T item, ItemOutcome outcome)
    {
        if (item.Complete(outcome))
        {
            OnCompleted(item, outcome);
        }
    }
}
