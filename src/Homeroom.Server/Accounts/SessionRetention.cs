using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Accounts;

/// <summary>
/// Deletes sessions that ended (signed out, ended or expired) longer than <see cref="AccountOptions.SessionRetention"/> ago,
/// and security key challenges past their time.
/// </summary>
public sealed class SessionRetention(IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<AccountOptions> options, JobLeases leases, TimeProvider time, ILogger<SessionRetention> logger)
    : PeriodicTask(TimeSpan.FromHours(1), leases, time, logger)
{
    protected override Task RunOnceAsync(CancellationToken cancellationToken) => PurgeAsync(cancellationToken);

    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var cutoff = Time.GetUtcNow().UtcDateTime - options.Value.SessionRetention;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var deleted = await db.Set<StaffSession>()
            .Where(s => s.ExpiresAt < cutoff || (s.RevokedAt != null && s.RevokedAt < cutoff))
            .ExecuteDeleteAsync(cancellationToken);
        // Security key challenges nobody answered: good for minutes only, kept no longer than their time.
        deleted += await StaffSecurityKeys.PurgeExpiredChallengesAsync(db, Time.GetUtcNow().UtcDateTime, cancellationToken);
        if (deleted > 0)
        {
            HostingLog.RetentionPurged(Logger, nameof(SessionRetention), deleted);
        }

        return deleted;
    }
}
