using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Npgsql;
using NpgsqlTypes;

namespace Homeroom.Server.Activity;

/// <summary>A batch of activity events from one device, and how to tell the device once it is stored.</summary>
public sealed class ActivityBatch : AwaitedItem
{
    /// <summary>
    /// How far ahead of the server's clock an event may be dated. A device whose clock runs further ahead has its events
    /// dated when the server received them, so they never fill days to come in the reports or outlive their retention.
    /// </summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(2);

    public ActivityBatch(Guid deviceId, IReadOnlyList<ActivityEvent> events, DateTime receivedAt, Guid? personId = null)
    {
        DeviceId = deviceId;
        Events = NotAhead(events, receivedAt);
        ReceivedAt = receivedAt;
        PersonId = personId;
        Stored = new Completion<bool>(HandledAsync(Outcome));
    }

    public Guid DeviceId { get; }

    public IReadOnlyList<ActivityEvent> Events { get; }

    public DateTime ReceivedAt { get; }

    /// <summary>The student signed in on the (shared) device when the batch arrived; stored with each event.</summary>
    public Guid? PersonId { get; }

    /// <summary>
    /// Completes with true once the events are handled: stored, except any the database refused for
    /// their data (sending those again cannot help); false when they were given up at shutdown.
    /// </summary>
    public Completion<bool> Stored { get; }

    /// <summary>Two halves, which complete this batch once both are handled.</summary>
    internal ActivityBatch[] Halve()
    {
        var half = Events.Count / 2;
        return [new(DeviceId, Events.Take(half).ToArray(), ReceivedAt, PersonId), new(DeviceId, Events.Skip(half).ToArray(), ReceivedAt, PersonId)];
    }

    private static IReadOnlyList<ActivityEvent> NotAhead(IReadOnlyList<ActivityEvent> events, DateTime receivedAt)
    {
        var received = new DateTimeOffset(DateTime.SpecifyKind(receivedAt, DateTimeKind.Utc));
        var latest = received + MaxClockSkew;
        if (!events.Any(e => e.OccurredAt > latest))
        {
            return events;
        }

        return [.. events.Select(e => e.OccurredAt > latest ? e with { OccurredAt = received } : e)];
    }

    // Refused for their data counts as handled, so the agent may forget them: resending could never store them.
    private static async Task<bool> HandledAsync(Task<ItemOutcome> outcome) => (await outcome).Kind != ItemOutcomeKind.Failed;
}

/// <summary>
/// Stores activity events in large transactions. (device, seq) is unique and inserts skip
/// duplicates, so a batch the agent resends after a reconnect is stored once. A batch's task
/// completes only after its transaction commits; only then is the agent told to forget it. An event
/// the database refuses (a deleted device's, say) is isolated down to itself and dropped, and the
/// events around it are stored. The insight rollups fold what it stored afterwards, in memory, and
/// write it in their own short transactions (<see cref="Insights.InsightFolder"/>), so ingestion never
/// waits for them.
/// </summary>
public sealed class ActivityWriter(BulkSql bulk, SqliteCheckpointer checkpointer, TimeProvider time, ILogger<ActivityWriter> logger)
    : AwaitedBatchingWriter<ActivityBatch>(capacity: 4096, maxBatch: 256, maxDelay: TimeSpan.FromMilliseconds(20), time, logger)
{
    private const int InsertColumns = 12;

    private const string AdvanceSeqSql = "UPDATE devices SET activity_seq = @s WHERE id = @d AND activity_seq < @s";

    private long _stored;

    // SQLite: the next row id, given here rather than by SQLite, which reuses the ids of deleted newest
    // rows; the insight folder's watermark relies on ids that only grow (PostgreSQL's identity does).
    private long _nextId;

    private int _writing;

    // The one reader waiting for a number of stored events (the insight folder), completed by the batch that reaches it.
    private readonly Lock _waiterLock = new();
    private (long Count, TaskCompletionSource Reached)? _waiter;

    /// <summary>Events stored since start (duplicates excluded), for benchmarks and diagnostics.</summary>
    public long StoredCount => Interlocked.Read(ref _stored);

    /// <summary>
    /// Whether events are queued or a batch is being written (and may be waiting for SQLite's write lock):
    /// the insight folder steps aside between its writes only then.
    /// </summary>
    public bool Busy => Pending > 0 || Volatile.Read(ref _writing) > 0;

    /// <summary>
    /// Completes once <see cref="StoredCount"/> reaches <paramref name="count"/> (at once if it has): the insight folder
    /// reads a page as soon as one is stored. One waiter at a time; a new call completes the previous one.
    /// </summary>
    public Task WhenStoredAsync(long count)
    {
        TaskCompletionSource? replaced;
        Task waiting;
        lock (_waiterLock)
        {
            if (StoredCount >= count)
            {
                return Task.CompletedTask;
            }

            replaced = _waiter?.Reached;
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiter = (count, reached);
            waiting = reached.Task;
        }

        replaced?.TrySetResult();
        return waiting;
    }

    private void Stored(long events)
    {
        var total = Interlocked.Add(ref _stored, events);
        TaskCompletionSource? reached = null;
        lock (_waiterLock)
        {
            if (_waiter is { } waiter && total >= waiter.Count)
            {
                reached = waiter.Reached;
                _waiter = null;
            }
        }

        reached?.TrySetResult();
    }

    protected override int Weigh(ActivityBatch item) => item.Events.Count;

    protected override int MaxBatchWeight => 4_000;

    protected override async Task WriteItemsAsync(IReadOnlyList<ActivityBatch> batch, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _writing);
        try
        {
            await WriteAsync(batch, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _writing);
        }
    }

    private async Task WriteAsync(IReadOnlyList<ActivityBatch> batch, CancellationToken cancellationToken)
    {
        var rows = new List<(Guid Device, ActivityEvent Event, DateTime ReceivedAt, Guid? Person)>();
        var highest = new Dictionary<Guid, long>();
        foreach (var item in batch)
        {
            foreach (var e in item.Events)
            {
                rows.Add((item.DeviceId, e, item.ReceivedAt, item.PersonId));
            }

            var last = item.Events[^1].Seq;
            highest[item.DeviceId] = Math.Max(highest.GetValueOrDefault(item.DeviceId), last);
        }

        await using var connection = await bulk.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (connection is NpgsqlConnection npgsql)
        {
            var stored = await InsertWithArraysAsync(npgsql, (NpgsqlTransaction)transaction, rows, highest, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            Stored(stored);
            return;
        }

        // Above every row and every one of the folder's watermarks, read again each batch (two index lookups) in case
        // anything else added rows.
        await using (var highestId = connection.CreateCommand())
        {
            highestId.Transaction = transaction;
            highestId.CommandText = "SELECT max(COALESCE((SELECT MAX(id) FROM activity_events), 0), COALESCE((SELECT MAX(folded_through) FROM insight_fold_state), 0))";
            var topId = Convert.ToInt64(await highestId.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            _nextId = Math.Max(_nextId, topId + 1);
        }

        // Many rows a statement: a duplicate (device, seq), also within one statement, is skipped by DO NOTHING.
        var inserted = await bulk.ExecuteRowsAsync(connection, transaction, InsertSql, InsertColumns, rows, (row, v) =>
        {
            v[0] = _nextId++; // a duplicate (DO NOTHING) leaves a gap, which is harmless
            v[1] = bulk.Id(row.Device);
            v[2] = row.Event.Seq;
            v[3] = row.Event.OccurredAt.UtcDateTime;
            v[4] = row.ReceivedAt;
            v[5] = row.Event.Kind;
            v[6] = row.Event.Url;
            v[7] = row.Event.Title;
            v[8] = row.Event.AppId;
            v[9] = row.Event.DurationSeconds;
            v[10] = row.Event.Detail;
            v[11] = row.Person is { } person ? bulk.Id(person) : null;
        }, cancellationToken);
        await bulk.ExecuteManyAsync(connection, transaction, AdvanceSeqSql, ["@s", "@d"], highest.ToList(), (row, v) =>
        {
            v[0] = row.Value;
            v[1] = bulk.Id(row.Key);
        }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        checkpointer.AfterCommit(connection);
        Stored(inserted);
    }

    private string InsertSql(int rows) => $"""
        INSERT INTO activity_events (id, device_id, seq, occurred_at, received_at, kind, url, title, app_id, duration_seconds, detail, person_id)
        {bulk.RowsSql(rows, InsertColumns)}
        ON CONFLICT (device_id, seq) DO NOTHING
        """;

    /// <summary>
    /// PostgreSQL: the whole batch in one statement from parallel arrays, instead of one statement
    /// per event (the database does the row loop, with a single round trip).
    /// </summary>
    private static async Task<int> InsertWithArraysAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        List<(Guid Device, ActivityEvent Event, DateTime ReceivedAt, Guid? Person)> rows,
        Dictionary<Guid, long> highest,
        CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO activity_events (device_id, seq, occurred_at, received_at, kind, url, title, app_id, duration_seconds, detail, person_id)
            SELECT * FROM unnest(@d, @s, @o, @r, @k, @u, @t, @a, @du, @de, @p)
            ON CONFLICT (device_id, seq) DO NOTHING
            """, connection, transaction);
        insert.Parameters.AddWithValue("d", rows.Select(r => r.Device).ToArray());
        insert.Parameters.AddWithValue("s", rows.Select(r => r.Event.Seq).ToArray());
        insert.Parameters.AddWithValue("o", rows.Select(r => r.Event.OccurredAt.UtcDateTime).ToArray());
        insert.Parameters.AddWithValue("r", rows.Select(r => r.ReceivedAt).ToArray());
        insert.Parameters.AddWithValue("k", rows.Select(r => r.Event.Kind).ToArray());
        insert.Parameters.Add(TextArray("u", rows.Select(r => r.Event.Url)));
        insert.Parameters.Add(TextArray("t", rows.Select(r => r.Event.Title)));
        insert.Parameters.Add(TextArray("a", rows.Select(r => r.Event.AppId)));
        insert.Parameters.AddWithValue("du", rows.Select(r => r.Event.DurationSeconds).ToArray());
        insert.Parameters.Add(TextArray("de", rows.Select(r => r.Event.Detail)));
        insert.Parameters.Add(new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = rows.Select(r => r.Person).ToArray() });
        var inserted = await insert.ExecuteNonQueryAsync(cancellationToken);

        await using var advance = new NpgsqlCommand(
            "UPDATE devices SET activity_seq = v.s FROM unnest(@ids, @seqs) AS v(id, s) WHERE devices.id = v.id AND devices.activity_seq < v.s",
            connection, transaction);
        // In device-id order, as the presence flush writes its rows: two statements that lock the same devices' rows in
        // different orders deadlock (seen in bench/apps' connect storm on PostgreSQL).
        var ids = highest.Keys.ToArray();
        Array.Sort(ids);
        advance.Parameters.AddWithValue("ids", ids);
        advance.Parameters.AddWithValue("seqs", Array.ConvertAll(ids, id => highest[id]));
        await advance.ExecuteNonQueryAsync(cancellationToken);
        return inserted;
    }

    private static NpgsqlParameter TextArray(string name, IEnumerable<string?> values) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.ToArray() };

    protected override IReadOnlyList<ActivityBatch>? SplitItem(ActivityBatch item) => item.Events.Count > 1 ? item.Halve() : null;

    protected override string Describe(ActivityBatch item) => $"activity event {item.Events[0].Seq} of device {item.DeviceId}";
}
