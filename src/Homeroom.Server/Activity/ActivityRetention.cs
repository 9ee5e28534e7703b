using System.Globalization;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Activity;

/// <summary>
/// Deletes activity events past retention, in slices so SQLite's write lock is never held for long. Events are found
/// through the indexes of migration 0060 (<see cref="ActivityTimeIndexes"/>): those that arrived within a day of
/// happening by their arrival, once both their arrival and their time are past retention (so at most a day later than
/// their time alone would say: an index of the time they happened would cost every insert), the others by their time.
/// </summary>
public sealed class ActivityRetention(IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<ActivityOptions> options, SqliteMaintenance housekeeping, JobLeases leases, TimeProvider time, ILogger<ActivityRetention> logger)
    : PeriodicTask(TimeSpan.FromHours(1), leases, time, logger)
{
    private const int Slice = 10_000;

    protected override async Task RunOnceAsync(CancellationToken cancellationToken) => await PurgeAsync(cancellationToken);

    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var cutoff = Time.GetUtcNow().UtcDateTime - options.Value.Retention;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var offTime = ActivityTimeIndexes.OffTime(db.Database.IsSqlite() ? DatabaseProvider.Sqlite : DatabaseProvider.Postgres);

        // Arrived before the cutoff: a range at the start of the arrival index. The time is checked too: an event may be
        // dated up to two minutes after its arrival (ActivityBatch.MaxClockSkew; further, if stored before that limit).
        var total = await DeleteAsync(db, "received_at < {0} AND occurred_at < {0}", cutoff, cancellationToken);
        // Off time (mostly late): the partial index, by the time they happened.
        total += await DeleteAsync(db, $"{offTime} AND occurred_at < {{0}}", cutoff, cancellationToken);

        if (total > 0)
        {
            HostingLog.RetentionPurged(Logger, nameof(ActivityRetention), total);
            await housekeeping.AfterPurgeAsync(total, cancellationToken);
        }

        return total;
    }

    private static async Task<int> DeleteAsync(HomeroomDbContext db, string condition, DateTime cutoff, CancellationToken cancellationToken)
    {
        var total = 0;
        int deleted;
        do
        {
            var sql = "DELETE FROM activity_events WHERE id IN (SELECT id FROM activity_events WHERE " + condition + " LIMIT " + Slice.ToString(CultureInfo.InvariantCulture) + ")";
            deleted = await db.Database.ExecuteSqlRawAsync(sql, [cutoff], cancellationToken);
            total += deleted;
        }
        while (deleted > 0);

        return total;
    }
}
