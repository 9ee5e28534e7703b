using Homeroom.Server.Data;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Insights;

/// <summary>
/// Rebuilds every rollup from the raw events still kept: empties the tables, then folds the events in
/// id order, <see cref="InsightsOptions.RebuildBatch"/> per transaction, with today's roster. For after
/// an upgrade that changes how events fold; run it with the server stopped
/// (<c>Homeroom.Server rebuild-rollups</c>), since live folding during a rebuild would count twice.
/// Days older than raw retention keep nothing after a rebuild: their raw events are gone.
/// </summary>
public sealed class InsightsRebuild(BulkSql bulk, InsightRollups rollups, IOptions<InsightsOptions> options, ILogger<InsightsRebuild> logger)
{
    /// <summary>The raw events folded.</summary>
    public async Task<long> RunAsync(CancellationToken cancellationToken)
    {
        rollups.ForgetDevices();
        await using var connection = await bulk.OpenAsync(cancellationToken);
        await using (var clear = await connection.BeginTransactionAsync(cancellationToken))
        {
            foreach (var table in new[] { "insight_daily", "insight_monthly", "insight_group_daily", "insight_app_last_used" })
            {
                await using var delete = connection.CreateCommand();
                delete.Transaction = clear;
                delete.CommandText = $"DELETE FROM {table}";
                await delete.ExecuteNonQueryAsync(cancellationToken);
            }

            await clear.CommitAsync(cancellationToken);
        }

        long after = 0, done = 0;
        while (true)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var page = new List<StoredActivity>(options.Value.RebuildBatch);
            await using (var read = connection.CreateCommand())
            {
                read.Transaction = transaction;
                read.CommandText = """
                    SELECT id, device_id, kind, occurred_at, received_at, url, app_id, duration_seconds, detail
                    FROM activity_events WHERE id > @after ORDER BY id LIMIT @take
                    """;
                var a = read.CreateParameter();
                a.ParameterName = "@after";
                a.Value = after;
                var t = read.CreateParameter();
                t.ParameterName = "@take";
                t.Value = options.Value.RebuildBatch;
                read.Parameters.Add(a);
                read.Parameters.Add(t);
                await using var reader = await read.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    after = reader.GetInt64(0);
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

            if (page.Count == 0)
            {
                break;
            }

            await rollups.FoldAsync(connection, transaction, page, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            done += page.Count;
            InsightsLog.RebuildProgress(logger, done);
        }

        return done;
    }

    private static DateTime Utc(DateTime value) => value.Kind == DateTimeKind.Utc ? value : DateTime.SpecifyKind(value, DateTimeKind.Utc);
}
