using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Locations;

/// <summary>Deletes location fixes and alerts past retention, in slices.</summary>
public sealed class LocationRetention(IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<LocationOptions> options, SqliteMaintenance housekeeping, JobLeases leases, TimeProvider time, ILogger<LocationRetention> logger)
    : PeriodicTask(TimeSpan.FromHours(1), leases, time, logger)
{
    protected override async Task RunOnceAsync(CancellationToken cancellationToken) => await PurgeAsync(cancellationToken);

    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow().UtcDateTime;
        var locationCutoff = now - options.Value.Retention;
        var alertCutoff = now - options.Value.AlertRetention;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var total = 0;
        int deleted;
        do
        {
            var ids = db.DeviceLocations.Where(l => l.At < locationCutoff).OrderBy(l => l.Id).Select(l => l.Id).Take(10_000);
            deleted = await db.DeviceLocations.Where(l => ids.Contains(l.Id)).ExecuteDeleteAsync(cancellationToken);
            total += deleted;
        }
        while (deleted > 0);

        total += await db.Alerts.Where(a => a.RaisedAt < alertCutoff).ExecuteDeleteAsync(cancellationToken);
        if (total > 0)
        {
            HostingLog.RetentionPurged(Logger, nameof(LocationRetention), total);
            await housekeeping.AfterPurgeAsync(total, cancellationToken);
        }

        return total;
    }
}
