using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Insights;

/// <summary>
/// The rollup reports as the API and the console ask for them: the filters read once by
/// <see cref="ReportFilters.ResolveAsync"/> (the same limits and errors as every insights report), then
/// answered by <see cref="InsightsQueries"/>. The range defaults to the <see cref="DefaultDays"/> days to
/// today (UTC).
/// </summary>
public sealed class InsightReports(IDbContextFactory<HomeroomDbContext> dbFactory, InsightsQueries queries, TimeProvider time)
{
    /// <summary>The filters the blocked and usage reports take.</summary>
    public const ReportFilterKinds Filters = ReportFilterKinds.School | ReportFilterKinds.Grade | ReportFilterKinds.Class | ReportFilterKinds.Platform | ReportFilterKinds.Range;

    /// <summary>App adoption is a picture of now (inventories, and use in the last 30 days): no range.</summary>
    public const ReportFilterKinds AdoptionFilters = Filters & ~ReportFilterKinds.Range;

    public const int DefaultDays = 30;

    /// <summary>A count against the period before, in words ("new", "no change", "up 25%"), as every blocked report shows it.</summary>
    public static string Trend(long now, long before) =>
        before == 0 ? (now == 0 ? "none" : "new")
        : now == before ? "no change"
        : $"{(now > before ? "up" : "down")} {Math.Abs(now - before) * 100.0 / before:0}%";

    /// <summary>The filter of a rollup report, checked against the scope.</summary>
    public async Task<InsightFilter> FilterAsync(StaffScope scope, ReportRequest request, ReportFilterKinds allowed, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ReadInsights);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await ReportFilters.ResolveAsync(db, scope, request, allowed, DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime), DefaultDays, cancellationToken);
    }

    /// <summary>Most-blocked sites (<paramref name="apps"/>: apps) with the previous period's blocks.</summary>
    public async Task<InsightReport<BlockedSubjectRow>> MostBlockedAsync(StaffScope scope, ReportRequest request, bool apps, int limit, CancellationToken cancellationToken = default) =>
        await queries.MostBlockedAsync(scope, await FilterAsync(scope, request, Filters, cancellationToken), apps, limit, cancellationToken);

    /// <summary>Blocking categories with the previous period's blocks.</summary>
    public async Task<InsightReport<BlockedCategoryRow>> BlockedCategoriesAsync(StaffScope scope, ReportRequest request, int limit, CancellationToken cancellationToken = default) =>
        await queries.BlockedCategoriesAsync(scope, await FilterAsync(scope, request, Filters, cancellationToken), limit, cancellationToken);

    /// <summary>Who hit a blocked site: needs <see cref="Permission.ReadInsightNames"/>, audited.</summary>
    public async Task<InsightReport<BlockedStudentRow>> BlockedStudentsAsync(StaffScope scope, ReportRequest request, string site, int limit, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadInsightNames);
        return await queries.BlockedStudentsAsync(scope, await FilterAsync(scope, request, Filters, cancellationToken), site, limit, cancellationToken);
    }

    /// <summary>Top sites (<paramref name="apps"/>: apps) by time or by students.</summary>
    public async Task<InsightReport<UsageRow>> TopUsageAsync(StaffScope scope, ReportRequest request, bool apps, UsageOrder order, int limit, CancellationToken cancellationToken = default) =>
        await queries.TopUsageAsync(scope, await FilterAsync(scope, request, Filters, cancellationToken), apps, order, limit, cancellationToken);

    /// <summary>Installed apps with licences, use in the last 30 days and installs never used.</summary>
    public async Task<InsightReport<AppAdoptionRow>> AppAdoptionAsync(StaffScope scope, ReportRequest request, int limit, CancellationToken cancellationToken = default) =>
        await queries.AppAdoptionAsync(scope, await FilterAsync(scope, request, AdoptionFilters, cancellationToken), licences: null, limit, cancellationToken);
}
