using Homeroom.Rules.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Commands;

/// <summary>
/// Marks deliveries whose command outlived its time to live as expired, and deletes finished
/// commands older than the retention period, so the tables stay bounded however long the server runs.
/// </summary>
public sealed class CommandMaintenance(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    CommandProgress progress,
    IOptions<CommandOptions> options,
    SqliteMaintenance housekeeping,
    JobLeases leases,
    TimeProvider time,
    ILogger<CommandMaintenance> logger)
    : PeriodicTask(options.Value.MaintenanceInterval, leases, time, logger)
{
    /// <summary>An acknowledged command may still be running on the device; it gets this long past expiry to report.</summary>
    public static readonly TimeSpan AcknowledgedGrace = TimeSpan.FromHours(1);

    protected override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        await ExpireAsync(cancellationToken);
        await PurgeAsync(cancellationToken);
    }

    /// <summary>Expiry and retention run on one node; every node prunes the command trackers in its own memory.</summary>
    protected override Task RunOnThisNodeAsync(CancellationToken cancellationToken)
    {
        progress.Prune();
        return Task.CompletedTask;
    }

    public async Task<int> ExpireAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow().UtcDateTime;
        var graceCutoff = now - AcknowledgedGrace;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var expired = await db.CommandDeliveries
            .Where(d => (d.Status == DeliveryStatus.Queued || d.Status == DeliveryStatus.Sent)
                && db.Commands.Any(c => c.Id == d.CommandId && c.ExpiresAt <= now))
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.Status, DeliveryStatus.Expired).SetProperty(d => d.UpdatedAt, now), cancellationToken);
        expired += await db.CommandDeliveries
            .Where(d => d.Status == DeliveryStatus.Acknowledged && db.Commands.Any(c => c.Id == d.CommandId && c.ExpiresAt <= graceCutoff))
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.Status, DeliveryStatus.Expired).SetProperty(d => d.UpdatedAt, now), cancellationToken);
        return expired;
    }

    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var cutoff = Time.GetUtcNow().UtcDateTime - options.Value.Retention;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var purged = 0;
        while (true)
        {
            // In slices, so a large purge never holds the SQLite write lock for long.
            var ids = await db.Commands
                .Where(c => c.IssuedAt < cutoff && !db.CommandDeliveries.Any(d => d.CommandId == c.Id && d.Status < DeliveryStatus.Succeeded))
                .OrderBy(c => c.IssuedAt)
                .Select(c => c.Id)
                .Take(500)
                .ToListAsync(cancellationToken);
            if (ids.Count == 0)
            {
                break;
            }

            await db.CommandDeliveries.Where(d => ids.Contains(d.CommandId)).ExecuteDeleteAsync(cancellationToken);
            purged += await db.Commands.Where(c => ids.Contains(c.Id)).ExecuteDeleteAsync(cancellationToken);
        }

        if (purged > 0)
        {
            HostingLog.RetentionPurged(Logger, nameof(CommandMaintenance), purged);
            await housekeeping.AfterPurgeAsync(purged, cancellationToken);
        }

        return purged;
    }
}
