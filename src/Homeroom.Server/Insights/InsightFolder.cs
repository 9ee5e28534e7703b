using System.Data.Common;
using System.Globalization;
using Homeroom.Server.Activity;
using Homeroom.Server.Data;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Homeroom.Server.Insights;

/// <summary>
/// Folds stored activity events into the rollups behind the writer. Every
/// <see cref="InsightsOptions.FoldInterval"/> it reads the raw events after what it has read (by
/// <c>activity_events.id</c>, in id order, a page at a time, outside any write transaction) and folds
/// them into sums held in memory (<see cref="InsightRollups"/>); every
/// <see cref="InsightsOptions.FlushInterval"/>, or sooner when more than
/// <see cref="InsightsOptions.MaxBufferedKeys"/> keys are held, it writes them: partition by partition
/// (<see cref="InsightRollups.Partitions"/>), each key once, each partition's rows in the same transaction
/// as that partition's watermark (row <c>partition + 1</c> of <c>insight_fold_state</c>, moved to the last
/// event read), whole partitions a transaction for <see cref="InsightsOptions.WriteTransactionTime"/>. While
/// the activity writer has events queued or a batch in progress, the folder pauses after each transaction as
/// long as it took, so the writer is never kept waiting long for SQLite's one write lock; when the writer is
/// idle it goes straight on.
/// <para>
/// Exactly once, also across a crash: a partition's rows and its watermark commit together; nothing else
/// is written. After a crash (or any failure, or a plain stop, which does not write either) the folder
/// reads again from the lowest watermark and leaves out, per partition, the events at or below that
/// partition's watermark. A watermark that does not hold the value this folder last committed means
/// another folder wrote (a rebuild, another server on PostgreSQL): the transaction rolls back and this
/// folder forgets what it held and starts again from the database.
/// </para>
/// <para>
/// On PostgreSQL one server folds at a time: the one holding a session advisory lock (the lease); the
/// others wait and take over when its connection ends. The watermark check above keeps the rows right
/// even if two ever overlap, and sketches are read, merged and written back under the partition's
/// watermark row lock.
/// </para>
/// Ids grow in commit order because the <c>ActivityWriter</c> is the one inserter, writes one transaction
/// at a time and, on SQLite, numbers the rows itself above every watermark.
/// </summary>
public sealed class InsightFolder(
    BulkSql bulk, InsightRollups rollups, ActivityWriter writer, SqliteCheckpointer checkpointer, IOptions<InsightsOptions> options, TimeProvider time, ILogger<InsightFolder> logger)
    : BackgroundService
{
    private const long LeaseKey = 0x496e736967687473; // "Insights"
    private static readonly TimeSpan MinimumPause = TimeSpan.FromMilliseconds(2);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private long[]? _flushed;
    private long _readThrough;
    private long _pendingEvents;
    private long _folded;
    private long _lastFlush;
    private NpgsqlConnection? _lease;

    /// <summary>Raw events folded (into memory) since start.</summary>
    public long FoldedCount => Interlocked.Read(ref _folded);

    /// <summary>Events folded into memory and not yet written: what a crash now would make the next start fold again.</summary>
    public long PendingEvents => Interlocked.Read(ref _pendingEvents);

    /// <summary>Folds every event stored so far and writes everything folded; returns how many events it folded.</summary>
    public async Task<long> CatchUpAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!await HoldLeaseAsync(cancellationToken))
            {
                return 0;
            }

            var done = await FoldNewAsync(cancellationToken);
            await FlushAsync(cancellationToken);
            return done;
        }
        catch
        {
            Forget();
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Tests: folds what is stored and writes only the first <paramref name="partitions"/> partitions that hold something, as a crash part-way through a write would leave it.</summary>
    internal async Task FoldAndWritePartAsync(int partitions, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await FoldNewAsync(cancellationToken);
            await FlushAsync(cancellationToken, partitions);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Empties every rollup and moves every watermark back to the start in one transaction, then folds
    /// every kept raw event again; returns how many it folded (0 on a PostgreSQL server that does not hold
    /// the lease: the one that does folds them). The live rounds wait meanwhile, so none folds in between.
    /// </summary>
    public async Task<long> RebuildAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await using (var connection = await bulk.OpenAsync(cancellationToken))
            await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
            {
                // The watermarks first: on PostgreSQL that waits for (and then fails) any other folder's write in progress.
                var statements = new[] { "UPDATE insight_fold_state SET folded_through = 0", "DELETE FROM insight_app_last_used" }
                    .Concat(RollupTable.All.Select(t => $"DELETE FROM {t.Name}"));
                foreach (var sql in statements)
                {
                    await ExecuteAsync(connection, transaction, sql, cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
            }

            Forget();
            if (!await HoldLeaseAsync(cancellationToken))
            {
                return 0;
            }

            var done = await FoldNewAsync(cancellationToken);
            await FlushAsync(cancellationToken);
            return done;
        }
        catch
        {
            Forget();
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _lastFlush = time.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            // Counted before the round reads: a page's worth stored after this wakes the next round early.
            var nextPage = writer.StoredCount + options.Value.RebuildBatch;
            try
            {
                await RoundAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException)
            {
                InsightsLog.FoldFailed(logger, e);
            }

            try
            {
                // The next round after FoldInterval, or as soon as the activity writer has stored a page: what is left to
                // fold when a burst ends (and so how far the rollups trail it) is then at most a page, not an interval's events.
                using var waiting = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                await Task.WhenAny(Task.Delay(options.Value.FoldInterval, time, waiting.Token), writer.WhenStoredAsync(nextPage));
                await waiting.CancelAsync();
                stoppingToken.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await ReleaseLeaseAsync();
    }

    private async Task RoundAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!await HoldLeaseAsync(cancellationToken))
            {
                return;
            }

            await FoldNewAsync(cancellationToken);
            if (PendingEvents > 0 && time.GetElapsedTime(_lastFlush) >= options.Value.FlushInterval)
            {
                await FlushAsync(cancellationToken);
            }
        }
        catch
        {
            // What was folded or half-written is forgotten; the next round starts from the committed watermarks.
            Forget();
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Reads and folds pages until none is left; writes early whenever memory holds too many keys.</summary>
    private async Task<long> FoldNewAsync(CancellationToken cancellationToken)
    {
        var flushed = await WatermarksAsync(cancellationToken);
        long done = 0;
        await using var connection = await bulk.OpenAsync(cancellationToken);
        // One list for every page: a page of 20,000 events is a large object, better not allocated per page.
        var page = new List<(long Id, StoredActivity Event)>(options.Value.RebuildBatch);
        while (true)
        {
            await ReadPageAsync(connection, page, _readThrough, options.Value.RebuildBatch, cancellationToken);
            if (page.Count > 0)
            {
                await rollups.FoldAsync(connection, page, flushed, cancellationToken);
                _readThrough = page[^1].Id;
                done += page.Count;
                Interlocked.Add(ref _pendingEvents, page.Count);
                Interlocked.Add(ref _folded, page.Count);
                if (rollups.BufferedKeys > options.Value.MaxBufferedKeys)
                {
                    await FlushAsync(cancellationToken);
                }
            }

            if (page.Count < options.Value.RebuildBatch)
            {
                if (done > 0)
                {
                    InsightsLog.Folded(logger, done);
                }

                return done;
            }
        }
    }

    /// <summary>
    /// Writes every partition that holds something, with its watermark, whole partitions a transaction for
    /// <see cref="InsightsOptions.WriteTransactionTime"/> each, and moves the others' watermarks in one more.
    /// </summary>
    private async Task FlushAsync(CancellationToken cancellationToken, int limit = int.MaxValue)
    {
        var flushed = await WatermarksAsync(cancellationToken);
        // Before any watermark moves: the cells' events belong to every partition's keys.
        rollups.Expand();
        var target = _readThrough;
        var idle = new List<int>();
        long rows = 0;
        var started = time.GetTimestamp();
        await using var connection = await bulk.OpenAsync(cancellationToken);
        var postgres = connection is NpgsqlConnection;
        // SQLite: the statements of the whole flush prepared once, and a cache that holds the pages a transaction changes.
        using var statements = postgres ? null : new SqliteStatements();
        InsightRollups.PrepareConnection(connection);
        long? defaultCache = postgres ? null : await CacheSizeAsync(connection, $"PRAGMA cache_size=-{options.Value.WriteCacheMegabytes * 1024}", cancellationToken);
        // Partitions written in the open transaction, committed together once it has run WriteTransactionTime.
        var open = new List<int>();
        DbTransaction? writing = null;
        var began = 0L;
        try
        {
            for (var partition = 0; partition < InsightRollups.Partitions; partition++)
            {
                if (flushed[partition] >= target)
                {
                    continue;
                }

                if (rollups.IsClean(partition))
                {
                    idle.Add(partition);
                    continue;
                }

                if (limit-- == 0)
                {
                    break;
                }

                if (writing is null)
                {
                    began = time.GetTimestamp();
                    writing = await connection.BeginTransactionAsync(cancellationToken);
                }

                await MoveWatermarksAsync(connection, writing, [partition], flushed, target, cancellationToken);
                if (postgres)
                {
                    await rollups.PrepareAsync(connection, writing, partition, cancellationToken);
                }

                rows += await rollups.WriteAsync(connection, writing, partition, statements, cancellationToken);
                open.Add(partition);
                if (time.GetElapsedTime(began) >= options.Value.WriteTransactionTime)
                {
                    await CommitAsync();
                    // Step aside as long as the write took, so the activity writer (waiting on the same lock) gets its turn;
                    // with nothing to store it is not waiting, and the next partitions go straight on.
                    if (writer.Busy)
                    {
                        var took = time.GetElapsedTime(began);
                        await Task.Delay(took > MinimumPause ? took : MinimumPause, time, cancellationToken);
                    }
                }
            }

            await CommitAsync();
        }
        finally
        {
            if (writing is not null)
            {
                await writing.DisposeAsync();
            }

            if (defaultCache is { } pages)
            {
                // The connection goes back to the pool: its next user gets the default cache, and the memory is freed.
                await CacheSizeAsync(connection, FormattableString.Invariant($"PRAGMA cache_size={pages}"), CancellationToken.None);
            }
        }

        if (limit < 0)
        {
            return;
        }

        if (idle.Count > 0)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await MoveWatermarksAsync(connection, transaction, idle, flushed, target, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            foreach (var partition in idle)
            {
                flushed[partition] = target;
            }
        }

        if (!rollups.DistrictReady)
        {
            // Every partition has written what it folded, so the school tables hold exactly the folded
            // events: the one moment the district tables can be filled from them after the upgrade.
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await rollups.EnsureDistrictAsync(connection, transaction, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        Interlocked.Exchange(ref _pendingEvents, 0);
        _lastFlush = time.GetTimestamp();
        InsightsLog.Flushed(logger, rows, time.GetElapsedTime(started).TotalMilliseconds);

        async Task CommitAsync()
        {
            if (writing is null)
            {
                return;
            }

            await writing.CommitAsync(cancellationToken);
            await writing.DisposeAsync();
            writing = null;
            checkpointer.AfterCommit(connection);
            foreach (var partition in open)
            {
                rollups.Committed(partition);
                flushed[partition] = target;
            }

            open.Clear();
        }
    }

    /// <summary>Moves the watermarks of <paramref name="partitions"/> from what this folder last committed to <paramref name="target"/>; fails when another folder moved one meanwhile.</summary>
    private static async Task MoveWatermarksAsync(DbConnection connection, DbTransaction transaction, List<int> partitions, long[] flushed, long target, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE insight_fold_state SET folded_through = @to WHERE id = @id AND folded_through = @from";
        AddParameter(command, "@to", target);
        var id = AddParameter(command, "@id", 0);
        var from = AddParameter(command, "@from", 0);
        foreach (var partition in partitions)
        {
            id.Value = (long)partition + 1;
            from.Value = flushed[partition];
            if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                throw new InvalidOperationException($"The insight fold watermark of partition {partition} was moved by another folder; folding again from the database.");
            }
        }
    }

    /// <summary>The partitions' watermarks as committed, read once (creating rows 2 to N from row 1 the first time, when row 1 was the only watermark).</summary>
    private async Task<long[]> WatermarksAsync(CancellationToken cancellationToken)
    {
        if (_flushed is { } known)
        {
            return known;
        }

        await using var connection = await bulk.OpenAsync(cancellationToken);
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await using var create = connection.CreateCommand();
            create.Transaction = transaction;
            create.CommandText = "INSERT INTO insight_fold_state (id, folded_through) SELECT @id, folded_through FROM insight_fold_state WHERE id = 1 ON CONFLICT (id) DO NOTHING";
            var id = AddParameter(create, "@id", 0);
            for (var row = 2; row <= InsightRollups.Partitions; row++)
            {
                id.Value = (long)row;
                await create.ExecuteNonQueryAsync(cancellationToken);
            }

            // Nothing ever folded (a new database, or just after a rebuild emptied every table): there are no school rows
            // from before the district tables to fill them from, and every event from now on is folded into both, so
            // they are ready as they are (the fill would only copy what the first flush has just written).
            await ExecuteAsync(connection, transaction,
                "UPDATE insight_fold_state SET district_ready = 1 WHERE id = 1 AND district_ready = 0 " +
                "AND NOT EXISTS (SELECT 1 FROM insight_fold_state WHERE folded_through <> 0)",
                cancellationToken);

            await transaction.CommitAsync(cancellationToken);
        }

        var flushed = new long[InsightRollups.Partitions];
        await using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT id, folded_through FROM insight_fold_state WHERE id BETWEEN 1 AND @n";
            AddParameter(read, "@n", InsightRollups.Partitions);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                flushed[Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture) - 1] = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
            }
        }

        _flushed = flushed;
        _readThrough = flushed.Min();
        Interlocked.Exchange(ref _pendingEvents, 0);
        return flushed;
    }

    private static async Task ReadPageAsync(DbConnection connection, List<(long Id, StoredActivity Event)> page, long after, int take, CancellationToken cancellationToken)
    {
        page.Clear();
        await using var read = connection.CreateCommand();
        read.CommandText = """
            SELECT id, device_id, kind, occurred_at, received_at, url, app_id, duration_seconds, detail
            FROM activity_events WHERE id > @after ORDER BY id LIMIT @take
            """;
        AddParameter(read, "@after", after);
        AddParameter(read, "@take", take);
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            page.Add((reader.GetInt64(0), new StoredActivity(
                InsightRollups.ReadGuid(reader.GetValue(1)),
                reader.GetString(2),
                Utc(reader.GetDateTime(3)),
                Utc(reader.GetDateTime(4)),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetInt32(7),
                reader.IsDBNull(8) ? null : reader.GetString(8))));
        }
    }

    /// <summary>PostgreSQL: whether this server holds the folding lease (taking it when free). SQLite: always.</summary>
    private async Task<bool> HoldLeaseAsync(CancellationToken cancellationToken)
    {
        if (bulk.Provider != DatabaseProvider.Postgres)
        {
            return true;
        }

        if (_lease is { } held)
        {
            try
            {
                await using var ping = new NpgsqlCommand("SELECT 1", held);
                await ping.ExecuteScalarAsync(cancellationToken);
                return true;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // The lease ended with its connection: another server may fold now.
                await held.DisposeAsync();
                _lease = null;
                Forget();
            }
        }

        var connection = (NpgsqlConnection)await bulk.OpenAsync(cancellationToken);
        await using var take = new NpgsqlCommand($"SELECT pg_try_advisory_lock({LeaseKey})", connection);
        if (await take.ExecuteScalarAsync(cancellationToken) is true)
        {
            _lease = connection;
            Forget();
            return true;
        }

        await connection.DisposeAsync();
        return false;
    }

    private async Task ReleaseLeaseAsync()
    {
        if (_lease is not { } held)
        {
            return;
        }

        _lease = null;
        try
        {
            // A pooled connection keeps session locks until it is reused: let go explicitly.
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({LeaseKey})", held);
            await release.ExecuteScalarAsync();
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // The connection is gone, and the lock with it.
        }

        await held.DisposeAsync();
    }

    /// <summary>Forgets everything in memory; the next round reads the watermarks and folds from the lowest.</summary>
    private void Forget()
    {
        rollups.Discard();
        _flushed = null;
        _readThrough = 0;
        Interlocked.Exchange(ref _pendingEvents, 0);
    }

    /// <summary>SQLite: reads the connection's page cache size (pages, or KB when negative), then runs <paramref name="set"/>; returns what it read.</summary>
    private static async Task<long> CacheSizeAsync(DbConnection connection, string set, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA cache_size";
        var before = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        command.CommandText = set;
        await command.ExecuteNonQueryAsync(cancellationToken);
        return before;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static DbParameter AddParameter(DbCommand command, string name, long value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return parameter;
    }

    private static DateTime Utc(DateTime value) => value.Kind == DateTimeKind.Utc ? value : DateTime.SpecifyKind(value, DateTimeKind.Utc);

    public override void Dispose()
    {
        _gate.Dispose();
        _lease?.Dispose();
        base.Dispose();
    }
}
