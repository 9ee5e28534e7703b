using System.Threading.Channels;
using Homeroom.Server.Hosting;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Homeroom.Server.Tests.Hosting;

/// <summary>
/// Each sender of an <see cref="AwaitedBatchingWriter{T}"/> gets its own item's outcome, exactly once, whatever happens to
/// the batch: one bad item among good ones, a handler that keeps failing, a writer stopped or broken while senders wait,
/// a sender that cancels. The writer under test stores notes in a real SQLite database whose table refuses notes longer
/// than eight characters; its handler turns away notes starting with '#', and a gate holds it inside a batch.
/// </summary>
public sealed class AwaitedBatchingWriterTests : IAsyncLifetime
{
    private readonly SqliteConnection _db = new("Data Source=:memory:");

    public async Task InitializeAsync()
    {
        await _db.OpenAsync();
        await using var create = _db.CreateCommand();
        create.CommandText = "CREATE TABLE notes (text TEXT NOT NULL PRIMARY KEY CHECK (length(text) <= 8))";
        await create.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task WriteAsync_BatchWithOneItemTheDatabaseRefuses_EachSenderGetsItsOwnOutcome()
    {
        using var writer = new NoteWriter(_db);
        var notes = new[] { "a", "b", "#comment", "far-too-long", "d", "e" }.Select(t => new Note(t)).ToArray();
        var sent = notes.Select(n => writer.WriteAsync(n)).ToArray(); // all queued before the loop starts: one batch
        await writer.StartAsync(CancellationToken.None);

        var outcomes = await Task.WhenAll(sent).WaitAsync(HomeroomHost.Timeout);

        outcomes.Select(o => o.Kind).ShouldBe([ItemOutcomeKind.Accepted, ItemOutcomeKind.Accepted, ItemOutcomeKind.Rejected, ItemOutcomeKind.Rejected, ItemOutcomeKind.Accepted, ItemOutcomeKind.Accepted]);
        outcomes[2].ShouldBe(ItemOutcome.Rejected("a comment"));
        outcomes[3].Error.ShouldBeOfType<SqliteException>().SqliteErrorCode.ShouldBe(19);
        (await StoredAsync()).ShouldBe(["a", "b", "d", "e"]);
        writer.RejectedCount.ShouldBe(1);
        for (var i = 0; i < notes.Length; i++)
        {
            (await notes[i].Outcome).ShouldBeSameAs(outcomes[i]);
        }

        await writer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task WriteAsync_SplitItemWithOneBadPiece_CompletesOnceEveryPieceHas()
    {
        using var writer = new NoteWriter(_db);
        var mixed = writer.WriteAsync(new Note("ok|far-too-long|#no"));
        var bad = writer.WriteAsync(new Note("too-long-1|too-long-2"));
        await writer.StartAsync(CancellationToken.None);

        (await mixed.WaitAsync(HomeroomHost.Timeout)).Kind.ShouldBe(ItemOutcomeKind.Accepted);
        var refused = await bad.WaitAsync(HomeroomHost.Timeout);
        refused.Kind.ShouldBe(ItemOutcomeKind.Rejected);
        refused.Error.ShouldBeOfType<SqliteException>();
        (await StoredAsync()).ShouldBe(["ok"]);
        await writer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task WriteAsync_HandlerKeepsFailing_EveryWaiterGetsTheFailureWhenTheWriterStops()
    {
        var failure = new TimeoutException("the database does not answer");
        using var writer = new NoteWriter(_db, maxBatch: 2) { Failure = failure };
        var sent = new[] { "a", "b", "c" }.Select(t => writer.WriteAsync(new Note(t))).ToArray(); // a batch of two, and one queued behind it
        await writer.StartAsync(CancellationToken.None);
        await writer.Entered.Task.WaitAsync(HomeroomHost.Timeout);

        await writer.StopAsync(CancellationToken.None).WaitAsync(HomeroomHost.Timeout);

        foreach (var outcome in await Task.WhenAll(sent).WaitAsync(HomeroomHost.Timeout))
        {
            outcome.Kind.ShouldBe(ItemOutcomeKind.Failed);
            outcome.Error.ShouldBeSameAs(failure);
        }

        (await StoredAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task WriteAsync_HandlerBreaksTheLoop_EveryWaiterFailsAndNewItemsAreRefused()
    {
        var failure = new OperationCanceledException("cancelled inside the handler");
        using var writer = new NoteWriter(_db, maxBatch: 2) { Failure = failure };
        var sent = new[] { "a", "b", "c" }.Select(t => writer.WriteAsync(new Note(t))).ToArray();
        await writer.StartAsync(CancellationToken.None);

        foreach (var outcome in await Task.WhenAll(sent).WaitAsync(HomeroomHost.Timeout))
        {
            outcome.Kind.ShouldBe(ItemOutcomeKind.Failed);
            outcome.Error.ShouldBeSameAs(failure);
        }

        var late = new Note("late");
        (await CaughtAsync(() => writer.WriteAsync(late))).ShouldBeOfType<ChannelClosedException>();
        (await late.Outcome.WaitAsync(HomeroomHost.Timeout)).Kind.ShouldBe(ItemOutcomeKind.Failed);
        await writer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task WriteAsync_WriterStoppedWhileSendersWait_QueuedItemsAreWrittenAndLaterOnesFail()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var writer = new NoteWriter(_db, maxBatch: 1) { Gate = gate.Task };
        var sent = new[] { "a", "b", "c" }.Select(t => writer.WriteAsync(new Note(t))).ToArray(); // one in the handler, two queued
        await writer.StartAsync(CancellationToken.None);
        await writer.Entered.Task.WaitAsync(HomeroomHost.Timeout);

        var stopping = writer.StopAsync(CancellationToken.None);
        var late = new Note("late");
        (await CaughtAsync(() => writer.WriteAsync(late))).ShouldBeOfType<ChannelClosedException>();
        gate.SetResult();
        await stopping.WaitAsync(HomeroomHost.Timeout);

        (await Task.WhenAll(sent).WaitAsync(HomeroomHost.Timeout)).ShouldAllBe(o => o.Kind == ItemOutcomeKind.Accepted);
        (await late.Outcome.WaitAsync(HomeroomHost.Timeout)).Kind.ShouldBe(ItemOutcomeKind.Failed);
        (await StoredAsync()).ShouldBe(["a", "b", "c"]);
    }

    [Fact]
    public async Task WriteAsync_SenderCancelsWhileWaiting_TheWaitEndsAndTheItemIsStillWritten()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var writer = new NoteWriter(_db) { Gate = gate.Task };
        await writer.StartAsync(CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var note = new Note("a");
        var sent = writer.WriteAsync(note, cancel.Token);
        await writer.Entered.Task.WaitAsync(HomeroomHost.Timeout);

        await cancel.CancelAsync();

        (await CaughtAsync(() => sent.WaitAsync(HomeroomHost.Timeout))).ShouldBeAssignableTo<OperationCanceledException>();
        note.Outcome.IsCompleted.ShouldBeFalse();
        gate.SetResult();
        (await note.Outcome.WaitAsync(HomeroomHost.Timeout)).Kind.ShouldBe(ItemOutcomeKind.Accepted);
        (await StoredAsync()).ShouldBe(["a"]);
        await writer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task WriteAsync_CancelledWhileTheQueueIsFull_TheItemIsNeverQueuedAndFails()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var writer = new NoteWriter(_db, capacity: 1, maxBatch: 1) { Gate = gate.Task };
        await writer.StartAsync(CancellationToken.None);
        var first = writer.WriteAsync(new Note("a"));
        await writer.Entered.Task.WaitAsync(HomeroomHost.Timeout);
        var second = writer.WriteAsync(new Note("b")); // fills the queue
        using var cancel = new CancellationTokenSource();
        var third = new Note("c");
        var waiting = writer.WriteAsync(third, cancel.Token);
        waiting.IsCompleted.ShouldBeFalse();

        await cancel.CancelAsync();

        (await CaughtAsync(() => waiting.WaitAsync(HomeroomHost.Timeout))).ShouldBeAssignableTo<OperationCanceledException>();
        var outcome = await third.Outcome.WaitAsync(HomeroomHost.Timeout);
        outcome.Kind.ShouldBe(ItemOutcomeKind.Failed);
        outcome.Error.ShouldBeAssignableTo<OperationCanceledException>();
        gate.SetResult();
        (await first.WaitAsync(HomeroomHost.Timeout)).IsAccepted.ShouldBeTrue();
        (await second.WaitAsync(HomeroomHost.Timeout)).IsAccepted.ShouldBeTrue();
        await writer.StopAsync(CancellationToken.None);
        (await StoredAsync()).ShouldBe(["a", "b"]);
    }

    [Fact]
    public async Task WriteAsync_BatchWrittenAgainAfterAFailure_TheHandlerDecidesAgain()
    {
        // The first attempt turns the note away and then fails; the second writes it: only the second counts.
        using var writer = new NoteWriter(_db) { FailFirstAttempt = true };
        var sent = writer.WriteAsync(new Note("a"));
        await writer.StartAsync(CancellationToken.None);

        (await sent.WaitAsync(HomeroomHost.Timeout)).Kind.ShouldBe(ItemOutcomeKind.Accepted);
        writer.Attempts.ShouldBe(2);
        (await StoredAsync()).ShouldBe(["a"]);
        await writer.StopAsync(CancellationToken.None);
    }

    private async Task<IEnumerable<string>> StoredAsync()
    {
        await using var read = _db.CreateCommand();
        read.CommandText = "SELECT text FROM notes ORDER BY text";
        await using var reader = await read.ExecuteReaderAsync();
        var texts = new List<string>();
        while (await reader.ReadAsync())
        {
            texts.Add(reader.GetString(0));
        }

        return texts;
    }

    private static async Task<Exception> CaughtAsync(Func<Task> act)
    {
        try
        {
            await act();
        }
        catch (Exception ex)
        {
            return ex;
        }

        throw new ShouldAssertException("expected an exception");
    }

    private sealed class Note(string text) : AwaitedItem
    {
        public string Text { get; } = text;
    }

    private sealed class NoteWriter(SqliteConnection db, int capacity = 64, int maxBatch = 100)
        : AwaitedBatchingWriter<Note>(capacity, maxBatch, TimeSpan.Zero, TimeProvider.System, NullLogger.Instance)
    {
        /// <summary>Set once the handler has a batch.</summary>
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The handler waits for it before writing.</summary>
        public Task Gate { get; init; } = Task.CompletedTask;

        /// <summary>Thrown by the handler instead of writing.</summary>
        public Exception? Failure { get; init; }

        /// <summary>The first attempt turns the batch's first note away, then fails as a lost connection does.</summary>
        public bool FailFirstAttempt { get; init; }

        public int Attempts => Volatile.Read(ref _attempts);

        private int _attempts;

        protected override async Task WriteItemsAsync(IReadOnlyList<Note> batch, CancellationToken cancellationToken)
        {
            await Task.Yield();
            Entered.TrySetResult();
            await Gate;
            if (Failure is not null)
            {
                throw Failure;
            }

            if (Interlocked.Increment(ref _attempts) == 1 && FailFirstAttempt)
            {
                batch[0].Reject("turned away on the first attempt");
                throw new TimeoutException("the first attempt fails");
            }

            await using var transaction = (SqliteTransaction)await db.BeginTransactionAsync(cancellationToken);
            foreach (var note in batch)
            {
                if (note.Text.StartsWith('#'))
                {
                    note.Reject("a comment");
                    continue;
                }

                await using var insert = db.CreateCommand();
                insert.Transaction = transaction;
                insert.CommandText = "INSERT INTO notes (text) VALUES ($text)";
                insert.Parameters.AddWithValue("$text", note.Text);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        protected override IReadOnlyList<Note>? SplitItem(Note item) =>
            item.Text.Contains('|', StringComparison.Ordinal) ? item.Text.Split('|').Select(t => new Note(t)).ToArray() : null;
    }
}
