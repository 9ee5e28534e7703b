using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Insights;

/// <summary>Deletes classroom use older than <see cref="InsightsReportOptions.ClassUsageRetention"/> (hosted, on <see cref="TimeProvider"/>).</summary>
public sealed class ClassUsageRetention(
    IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<InsightsReportOptions> options, SqliteMaintenance housekeeping, JobLeases leases, TimeProvider time, ILogger<ClassUsageRetention> logger)
    : PeriodicTask(TimeSpan.FromHours(6), leases, time, logger)
{
    protected override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var cutoff = DateOnly.FromDateTime((Time.GetUtcNow() - options.Value.ClassUsageRetention).UtcDateTime);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var deleted = await db.ClassUsageDays.Where(u => u.Day < cutoff).ExecuteDeleteAsync(cancellationToken);
        if (deleted > 0)
        {
            HostingLog.RetentionPurged(Logger, nameof(ClassUsageRetention), deleted);
            await housekeeping.AfterPurgeAsync(deleted, cancellationToken);
        }
    }
}
