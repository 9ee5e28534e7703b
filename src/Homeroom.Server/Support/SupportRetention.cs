using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Support;

/// <summary>
/// Deletes resolved help requests (with their screenshot and thread) <see cref="SupportOptions.ResolvedRetention"/>
/// after they were resolved, and every screenshot <see cref="SupportOptions.ScreenshotRetention"/> after its request came;
/// device diagnostics reports too, <see cref="Diagnostics.DiagnosticsOptions.Retention"/> after they came, and script results
/// <see cref="Scripts.ScriptOptions.Retention"/> after they came, and remote session records
/// <see cref="RemoteSupport.RemoteSupportOptions.Retention"/> after they ended.
/// </summary>
public sealed class SupportRetention(
    IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<SupportOptions> options, Diagnostics.DiagnosticsStore diagnostics, Scripts.ScriptRuns scripts, RemoteSupport.RemoteSessions remoteSessions, SqliteMaintenance housekeeping, JobLeases leases, TimeProvider time, ILogger<SupportRetention> logger)
    : PeriodicTask(TimeSpan.FromHours(1), leases, time, logger)
{
    protected override async Task RunOnceAsync(CancellationToken cancellationToken) => await PurgeAsync(cancellationToken);

    public Task<int> PurgeAsync(CancellationToken cancellationToken) => RunExclusiveAsync(async token =>
    {
        var now = Time.GetUtcNow().UtcDateTime;
        var resolvedBefore = now - options.Value.ResolvedRetention;
        var shotsBefore = now - options.Value.ScreenshotRetention;
        await using var db = await dbFactory.CreateDbContextAsync(token);
        var requests = db.Set<HelpRequest>();
        var oldShots = requests.Where(r => r.HasScreenshot && r.CreatedAt < shotsBefore).Select(r => r.Id);
        var total = await db.Set<HelpScreenshot>().Where(s => oldShots.Contains(s.RequestId)).ExecuteDeleteAsync(token);
        await requests.Where(r => r.HasScreenshot && r.CreatedAt < shotsBefore).ExecuteUpdateAsync(s => s.SetProperty(r => r.HasScreenshot, false), token);
        var expired = requests.Where(r => r.Status == Contracts.Agents.HelpStatuses.Resolved && r.ResolvedAt != null && r.ResolvedAt < resolvedBefore).Select(r => r.Id);
        total += await db.Set<HelpScreenshot>().Where(s => expired.Contains(s.RequestId)).ExecuteDeleteAsync(token);
        total += await db.Set<HelpRequestEvent>().Where(e => expired.Contains(e.RequestId)).ExecuteDeleteAsync(token);
        total += await requests.Where(r => r.Status == Contracts.Agents.HelpStatuses.Resolved && r.ResolvedAt != null && r.ResolvedAt < resolvedBefore).ExecuteDeleteAsync(token);
        total += await diagnostics.PurgeAsync(db, token);
        total += await scripts.PurgeAsync(db, token);
        total += await remoteSessions.PurgeAsync(db, token);
        if (total > 0)
        {
            HostingLog.RetentionPurged(Logger, nameof(SupportRetention), total);
            await housekeeping.AfterPurgeAsync(total, token);
        }

        return total;
    }, cancellationToken);
}
