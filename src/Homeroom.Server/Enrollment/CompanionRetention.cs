using Homeroom.Server.Activity;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Enrollment;

/// <summary>
/// Deletes the records of desktops' browser extensions (companions) revoked longer ago than activity is kept (at least
/// <see cref="MinimumRetention"/>): by then the events they sent (kept under their own records, shown with the desktop's)
/// are gone too, and a browser given the extension again enrolls as a new companion.
/// </summary>
public sealed class CompanionRetention(
    IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<ActivityOptions> activity, JobLeases leases, TimeProvider time, ILogger<CompanionRetention> logger)
    : PeriodicTask(TimeSpan.FromHours(6), leases, time, logger)
{
    public static readonly TimeSpan MinimumRetention = TimeSpan.FromDays(30);

    protected override async Task RunOnceAsync(CancellationToken cancellationToken) => await PurgeAsync(cancellationToken);

    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var keep = activity.Value.Retention > MinimumRetention ? activity.Value.Retention : MinimumRetention;
        var cutoff = Time.GetUtcNow().UtcDateTime - keep;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        // Only companions: a revoked desktop or Chromebook stays, with its history.
        var deleted = await db.Devices.Where(d => d.CompanionOf != null && d.RevokedAt != null && d.RevokedAt < cutoff).ExecuteDeleteAsync(cancellationToken);
        if (deleted > 0)
        {
            HostingLog.RetentionPurged(Logger, nameof(CompanionRetention), deleted);
        }

        return deleted;
    }
}
