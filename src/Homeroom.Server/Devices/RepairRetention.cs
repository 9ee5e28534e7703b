using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Devices;

/// <summary>Deletes repair notes closed longer ago than <see cref="ClosedNoteRetention"/> (as long as the audit log keeps the swap); open notes stay while their device is in repair.</summary>
public sealed class RepairRetention(IDbContextFactory<HomeroomDbContext> dbFactory, JobLeases leases, TimeProvider time, ILogger<RepairRetention> logger)
    : PeriodicTask(TimeSpan.FromHours(6), leases, time, logger)
{
    public static readonly TimeSpan ClosedNoteRetention = TimeSpan.FromDays(400);

    protected override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var cutoff = Time.GetUtcNow().UtcDateTime - ClosedNoteRetention;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var deleted = await db.DeviceRepairs.Where(r => r.ReturnedAt != null && r.ReturnedAt < cutoff).ExecuteDeleteAsync(cancellationToken);
        if (deleted > 0)
        {
            HostingLog.RetentionPurged(Logger, nameof(RepairRetention), deleted);
        }
    }
}
