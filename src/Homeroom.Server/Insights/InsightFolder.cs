using System.Data.Common;
using Homeroom.Server.Data;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Insights;

/// <summary>
/// Folds stored activity events into the rollups behind the writer: it reads the raw events after its
/// watermark (<c>insight_fold_state.folded_through</c>, an <c>activity_events.id</c>) in id order, a page
/// at a time, and commits each page's rollup deltas together with the new watermark in one transaction,
/// so every stored event is folded exactly once, also across a crash or restart (the next page starts
/// at the committed watermark). Ingestion never waits for the rollups: a page of thousands of events
/// costs one upsert per distinct key instead of one per event, and reports trail the raw events by about
/// <see cref="InsightsOptions.FoldInterval"/>. Resent events are never folded twice because the writer
/// never stores them twice ((device, seq) is unique). Ids grow in commit order because the
/// <c>ActivityWriter</c> is the one inserter, writes one transaction at a time and, on SQLite, numbers
/// the rows itself (SQLite would give a deleted newest row's id again).
/// </summary>
public sealed class InsightFolder(BulkSql bulk, InsightRollups rollups, IOptions<InsightsOptions> options, TimeProvider time, ILogger<InsightFolder> logger)
    : BackgroundService
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _folded;

    /// <summary>Raw events folded since start.</summary>
    public long FoldedCount => Interlocked.Read(ref _folded);

    /// <summary>Folds every event stored so far (pages until none is left); returns how many it folded.</summary>
    public async Task<long> CatchUpAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            long done = 0;
            while (true)
            {
                var page = await FoldPageAsync(cancellationToken);
                done += page;
                if (page < options.Value.RebuildBatch)
                {
                    return done;
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Empties every rollup and moves the watermark back to the start, in one transaction; the next catch-up folds all kept raw events again.</summary>
    public async Task ResetAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            rollups.ForgetDevices();
            await using var connection = await bulk.OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            foreach (var sql in RollupTable.All.Select(t => $"DELETE FROM {t.Name}")
                .Concat(["DELETE FROM insight_app_last_used", "UPDATE insight_fold_state SET folded_through = 0"]))
            {
                await ExecuteAsync(connection, transaction, sql, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var folded = await CatchUpAsync(stoppingToken);
                if (folded > 0)
                {
                    InsightsLog.Folded(logger, folded);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException)
            {
                InsightsLog.FoldFailed(logger, e);
            }

            try
            {
                await Task.Delay(options.Value.FoldInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<int> FoldPageAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await bulk.OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var watermark = await ScalarAsync(connection, transaction, "SELECT folded_through FROM insight_fold_state WHERE id = 1", cancellationToken);
            // Ids only grow (the writer numbers SQLite's rows itself), so everything after the watermark is new.
            var page = new List<StoredActivity>(Math.Min(options.Value.RebuildBatch, 4096));
            var last = watermark;
            await using (var read = connection.CreateCommand())
            {
                read.Transaction = transaction;
                read.CommandText = """
                    SELECT id, device_id, kind, occurred_at, received_at, url, app_id, duration_seconds, detail
                    FROM activity_events WHERE id > @after ORDER BY id LIMIT @take
                    """;
                AddParameter(read, "@after", watermark);
                AddParameter(read, "@take", options.Value.RebuildBatch);
                await using var reader = await read.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    last = reader.GetInt64(0);
                    page.Add(new StoredActivity(
                        InsightRollups.ReadGuid(reader.GetValue(1)),
                        reader.GetString(2),
                        Utc(reader.GetDateTime(3)),
                        Utc(reader.GetDateTime(4)),
                        reader.IsDBNull(5) ? null : reader.GetString(5),
                        reader.IsDBNull(6) ? null : reader.GetString(6),
                        reader.IsDBNull(7) ? null : reader.GetInt32(7),
                        reader.IsDBNull(8) ? null : reader.GetString(8)));
                }
            }

            await rollups.FoldAsync(connection, transaction, page, cancellationToken);
            await SetWatermarkAsync(connection, transaction, last, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            Interlocked.Add(ref _folded, page.Count);
            return page.Count;
        }
        catch
        {
            // The rollups' cached sketches may hold what the rolled-back transaction did not commit.
            rollups.ForgetSketches();
            throw;
        }
    }

    private static async Task SetWatermarkAsync(DbConnection connection, DbTransaction transaction, long value, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE insight_fold_state SET folded_through = @w WHERE id = 1";
        AddParameter(command, "@w", value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<long> ScalarAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddParameter(DbCommand command, string name, long value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    private static DateTime Utc(DateTime value) => value.Kind == DateTimeKind.Utc ? value : DateTime.SpecifyKind(value, DateTimeKind.Utc);

    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }
}
