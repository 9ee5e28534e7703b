using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Insights;

/// <summary>Insight reports over HTTP: thin calls into <see cref="InsightsQueries"/>, as JSON or CSV.</summary>
public static class InsightsEndpoints
{
    private static readonly string Filters =
        $" Query: from, to (yyyy-MM-dd, local days, both included; at most {ReportFilters.MaxRangeYears} years; default the last {InsightReports.DefaultDays}), schoolId, " +
        $"grade (-1 or pk: pre-K or none, 0 or k, 1 to 13), classId, platform (chromeos, ipados, ...), limit (1 to {ReportFilters.MaxLimit}, default {ReportFilters.DefaultLimit}), " +
        "format=csv (a streamed text/csv file with formula-neutralised cells). An unknown value, or a school or class outside your scope, is refused (400).";

    public static IEndpointRouteBuilder MapInsightsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/insights").WithTags("Insights");
        group.MapGet("/blocked-sites", BlockedSitesAsync).RequireStaff(Permission.ReadInsights).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithDescription("Most-blocked sites (registrable hosts) by blocks, with students and the previous period's blocks for the trend." + Filters);
        group.MapGet("/blocked-apps", BlockedAppsAsync).RequireStaff(Permission.ReadInsights).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithDescription("Most-blocked apps by blocks, with students and the previous period's blocks." + Filters);
        group.MapGet("/blocked-categories", BlockedCategoriesAsync).RequireStaff(Permission.ReadInsights).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithDescription("Blocking categories of sites and apps by blocks, with students and the previous period's blocks." + Filters);
        group.MapGet("/blocked-sites/students", BlockedStudentsAsync).RequireStaff(Permission.ReadInsightNames).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithDescription("Who hit a blocked site (query: site=example.org): students with their blocks, from raw events, so only within their retention. Audited." + Filters);
        group.MapGet("/top-sites", TopSitesAsync).RequireStaff(Permission.ReadInsights).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithDescription("Top sites by focused time (order=time) or by students (order=students), with visits and unfocused time." + Filters);
        group.MapGet("/top-apps", TopAppsAsync).RequireStaff(Permission.ReadInsights).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithDescription("Top apps by foreground time (order=time) or by students (order=students)." + Filters);
        group.MapGet("/apps", AppAdoptionAsync).RequireStaff(Permission.ReadInsights).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithDescription("Installed apps with licences (the installs until a catalog gives seats), devices that used each in the last 30 days and installs never used; a picture of now: from and to are refused (today's installs are counted by the last day each was used, which cannot tell use within an earlier range)." + Filters);
        return app;
    }

    private static async Task<Results<Ok<InsightReport<BlockedSubjectRow>>, PushStreamHttpResult>> BlockedSitesAsync(
        StaffScope scope, InsightReports insights, [AsParameters] ReportQuery query, CancellationToken cancellationToken) =>
        Answer(await insights.MostBlockedAsync(scope, query.Filters, apps: false, ReportFilters.Limit(query.Limit), cancellationToken), ReportFilters.IsCsv(query.Format), "blocked-sites", InsightCsv.BlockedHeader, InsightCsv.Blocked);

    private static async Task<Results<Ok<InsightReport<BlockedSubjectRow>>, PushStreamHttpResult>> BlockedAppsAsync(
        StaffScope scope, InsightReports insights, [AsParameters] ReportQuery query, CancellationToken cancellationToken) =>
        Answer(await insights.MostBlockedAsync(scope, query.Filters, apps: true, ReportFilters.Limit(query.Limit), cancellationToken), ReportFilters.IsCsv(query.Format), "blocked-apps", InsightCsv.BlockedHeader, InsightCsv.Blocked);

    private static async Task<Results<Ok<InsightReport<BlockedCategoryRow>>, PushStreamHttpResult>> BlockedCategoriesAsync(
        StaffScope scope, InsightReports insights, [AsParameters] ReportQuery query, CancellationToken cancellationToken) =>
        Answer(await insights.BlockedCategoriesAsync(scope, query.Filters, ReportFilters.Limit(query.Limit), cancellationToken), ReportFilters.IsCsv(query.Format), "blocked-categories", InsightCsv.CategoryHeader, InsightCsv.Category);

    private static async Task<Results<Ok<InsightReport<BlockedStudentRow>>, PushStreamHttpResult, ValidationProblem>> BlockedStudentsAsync(
        StaffScope scope, InsightReports insights, [AsParameters] ReportQuery query, string? site, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(site))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["site"] = ["Required."] });
        }

        var csv = ReportFilters.IsCsv(query.Format);
        var report = await insights.BlockedStudentsAsync(scope, query.Filters, site, ReportFilters.Limit(query.Limit), cancellationToken);
        return csv
            ? Csv("blocked-site-students", InsightCsv.StudentHeader, report.Rows, InsightCsv.Student)
            : TypedResults.Ok(report);
    }

    private static async Task<Results<Ok<InsightReport<UsageRow>>, PushStreamHttpResult, ValidationProblem>> TopSitesAsync(
        StaffScope scope, InsightReports insights, [AsParameters] ReportQuery query, string? order, CancellationToken cancellationToken)
    {
        if (ParseOrder(order) is not { } by)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["order"] = ["time or students."] });
        }

        var csv = ReportFilters.IsCsv(query.Format);
        var report = await insights.TopUsageAsync(scope, query.Filters, apps: false, by, ReportFilters.Limit(query.Limit), cancellationToken);
        return csv ? Csv("top-sites", InsightCsv.UsageHeader, report.Rows, InsightCsv.Usage) : TypedResults.Ok(report);
    }

    private static async Task<Results<Ok<InsightReport<UsageRow>>, PushStreamHttpResult, ValidationProblem>> TopAppsAsync(
        StaffScope scope, InsightReports insights, [AsParameters] ReportQuery query, string? order, CancellationToken cancellationToken)
    {
        if (ParseOrder(order) is not { } by)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["order"] = ["time or students."] });
        }

        var csv = ReportFilters.IsCsv(query.Format);
        var report = await insights.TopUsageAsync(scope, query.Filters, apps: true, by, ReportFilters.Limit(query.Limit), cancellationToken);
        return csv ? Csv("top-apps", InsightCsv.UsageHeader, report.Rows, InsightCsv.Usage) : TypedResults.Ok(report);
    }

    private static async Task<Results<Ok<InsightReport<AppAdoptionRow>>, PushStreamHttpResult>> AppAdoptionAsync(
        StaffScope scope, InsightReports insights, [AsParameters] ReportQuery query, CancellationToken cancellationToken) =>
        Answer(await insights.AppAdoptionAsync(scope, query.Filters, ReportFilters.Limit(query.Limit), cancellationToken), ReportFilters.IsCsv(query.Format), "apps", InsightCsv.AdoptionHeader, InsightCsv.Adoption);

    private static UsageOrder? ParseOrder(string? order) => order?.ToLowerInvariant() switch
    {
        null or "" or "time" => UsageOrder.Time,
        "students" => UsageOrder.Students,
        _ => null,
    };

    private static Results<Ok<InsightReport<T>>, PushStreamHttpResult> Answer<T>(
        InsightReport<T> report, bool csv, string name, string[] header, Func<T, string?[]> cells) =>
        csv ? Csv(name, header, report.Rows, cells) : TypedResults.Ok(report);

    private static PushStreamHttpResult Csv<T>(string name, string[] header, IReadOnlyList<T> rows, Func<T, string?[]> cells) =>
        (PushStreamHttpResult)CsvResults.Stream($"{name}.csv", header, InsightCsv.Rows(rows, cells));
}
