using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Activity;

/// <summary>Deletes activity events past retention, in slices so SQLite's write lock is never held for long.</summary>
public sealed class ActivityRetention(IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<ActivityOptions> options, SqliteMaintenance housekeeping, JobLeases leases, TimeProvider time, ILogger<ActivityRetention> logger)
    : PeriodicTask(TimeSpan.FromHours(1), leases, time, logger)
{
    protected override async Task RunOnceAsync(CancellationToken cancellationToken) => await PurgeAsync(cancellationToken);

    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var cutoff = Time.GetUtcNow().UtcDateTime - options.Value.Retention;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var total = 0;
        int deleted;
        do
        {
            var ids = db.ActivityEvents.Where(e => e.OccurredAt < cutoff).OrderBy(e => e.Id).Select(e => e.Id).Take(10_000);
            deleted = await db.ActivityEvents.Where(e => ids.Contains(e.Id)).ExecuteDeleteAsync(cancellationToken);
            total += deleted;
        }
        while (deleted > 0);

        if (total > 0)
        {
            HostingLog.RetentionPurged(Logger, nameof(ActivityRetention), total);
            await housekeeping.AfterPurgeAsync(total, cancellationToken);
        }

        return total;
    }
}
