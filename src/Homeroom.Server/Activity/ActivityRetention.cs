using System.ComponentModel.DataAnnotations;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Activity;

public sealed class ActivityOptions
{
    public const string Section = "Homeroom:Activity";

    /// <summary>Activity events older than this are deleted.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Events one device may store per minute, sustained (see <see cref="ActivityBudget"/>).</summary>
    [Range(1, 1_000_000)]
    public int EventsPerMinute { get; set; } = 120;

    /// <summary>Events one device may store at once above the sustained rate: more than an agent keeps while offline (5,000).</summary>
    [Range(1, 10_000_000)]
    public int EventBurst { get; set; } = 6_000;

    /// <summary>Events one device may store per day (a rolling day), whatever its bursts.</summary>
    [Range(1, 100_000_000)]
    public int EventsPerDay { get; set; } = 20_000;
}

/// <summary>Deletes activity events past retention, in slices so SQLite's write lock is never held for long.</summary>
public sealed class ActivityRetention(IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<ActivityOptions> options, TimeProvider time, ILogger<ActivityRetention> logger)
    : PeriodicTask(TimeSpan.FromHours(1), time, logger)
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
        }

        return total;
    }
}
