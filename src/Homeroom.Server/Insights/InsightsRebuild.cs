namespace Homeroom.Server.Insights;

/// <summary>
/// Rebuilds every rollup from the raw events still kept: empties the tables and moves the folder's
/// watermark back to the start in one transaction, then folds the events in id order,
/// <see cref="InsightsOptions.RebuildBatch"/> per transaction, with today's roster. For after an upgrade
/// that changes how events fold (<c>Homeroom.Server rebuild-rollups</c>, with the server stopped, or
/// any time in a running server: the live folder waits meanwhile). Days older than raw retention keep
/// nothing after a rebuild: their raw events are gone.
/// </summary>
public sealed class InsightsRebuild(InsightFolder folder, ILogger<InsightsRebuild> logger)
{
    /// <summary>The raw events folded.</summary>
    public async Task<long> RunAsync(CancellationToken cancellationToken)
    {
        var done = await folder.RebuildAsync(cancellationToken);
        InsightsLog.RebuildProgress(logger, done);
        return done;
    }
}
