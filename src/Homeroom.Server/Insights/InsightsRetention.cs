using Homeroom.Rules.Insights;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Insights;

/// <summary>Deletes rollup rows past <see cref="InsightsOptions.Retention"/>, once a day, a slice of days at a time.</summary>
public sealed class InsightsRetention(BulkSql bulk, IOptions<InsightsOptions> options, SqliteMaintenance housekeeping, JobLeases leases, TimeProvider time, ILogger<InsightsRetention> logger)
    : PeriodicTask(TimeSpan.FromHours(24), leases, time, logger)
{
    protected override async Task RunOnceAsync(CancellationToken cancellationToken) => await PurgeAsync(cancellationToken);

    /// <summary>Deletes what is past retention; returns the rows deleted.</summary>
    public Task<int> PurgeAsync(CancellationToken cancellationToken) => RunExclusiveAsync(async ct =>
    {
        var cutoffDay = InsightFold.DayNumber(DateOnly.FromDateTime(Time.GetUtcNow().UtcDateTime - options.Value.Retention));
        // A month is kept while any of its days is.
        var cutoffMonth = InsightRollups.MonthOf(cutoffDay);
        var total = 0;
        await using var connection = await bulk.OpenAsync(ct);
        foreach (var (sql, cutoff) in RollupTable.All
            .Select(t => ($"DELETE FROM {t.Name} WHERE {t.PeriodColumn} < @c", t.Period switch
            {
                RollupPeriod.Month => cutoffMonth,
                // A week, too, while any of its days is.
                RollupPeriod.Week => InsightRollups.WeekOf(cutoffDay),
                _ => cutoffDay,
            }))
            .Append(("DELETE FROM insight_app_last_used WHERE last_day < @c", cutoffDay)))
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@c";
            parameter.Value = cutoff;
            command.Parameters.Add(parameter);
            total += await command.ExecuteNonQueryAsync(ct);
        }

        if (total > 0)
        {
            InsightsLog.RetentionPurged(Logger, total);
            await housekeeping.AfterPurgeAsync(total, ct);
        }

        return total;
    }, cancellationToken);
}
