using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Audit;

public sealed class AuditRetention(IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<AuditOptions> options, SqliteMaintenance housekeeping, JobLeases leases, TimeProvider time, ILogger<AuditRetention> logger)
    : PeriodicTask(TimeSpan.FromHours(6), leases, time, logger)
{
    protected override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var cutoff = Time.GetUtcNow().UtcDateTime - options.Value.Retention;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var deleted = await db.AuditLog.Where(e => e.At < cutoff).ExecuteDeleteAsync(cancellationToken);
        if (deleted > 0)
        {
            HostingLog.RetentionPurged(Logger, nameof(AuditRetention), deleted);
            await housekeeping.AfterPurgeAsync(deleted, cancellationToken);
        }
    }
}
