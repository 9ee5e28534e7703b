using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Filtering;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Filtering;

/// <summary>
/// A stored list and its import report: entries, skipped lines (the first
/// <see cref="FilterListImportReport.MaxErrorsKept"/> in <c>errors</c>, with their line numbers and
/// reasons; <c>skippedLines</c> counts them all), notes, and its categories with their entry counts.
/// </summary>
public sealed record FilterListDto(
    Guid Id, string Name, string Format, string? Category, long ContentBytes, int Entries, int SkippedLines,
    IReadOnlyList<FilterListLineError> Errors, IReadOnlyList<string> Notes, DateTime CreatedAt, DateTime UpdatedAt,
    IReadOnlyList<FilterCategoryDto> Categories)
{
    public static FilterListDto From(FilterListRecord r)
    {
        var report = JsonSerializer.Deserialize<StoredReport>(r.ReportJson) ?? new StoredReport([], []);
        return new(r.Id, r.Name, r.Format, r.Category, r.ContentBytes, r.Entries, r.SkippedLines, report.Errors ?? [], report.Notes ?? [], r.CreatedAt, r.UpdatedAt, CategoriesOf(r, report));
    }

    // Lists stored before per-category counts were kept: a plain list's one category holds all its entries.
    private static List<FilterCategoryDto> CategoriesOf(FilterListRecord r, StoredReport report) =>
        report.Categories is { } counts
            ? counts.Select(c => new FilterCategoryDto(c.Key, c.Value)).OrderBy(c => c.Name, StringComparer.Ordinal).ToList()
            : r.Category is { } category ? [new FilterCategoryDto(category, r.Entries)] : [];
}

/// <summary>What an import found, as stored with the list (<c>filter_lists.report_json</c>).</summary>
public sealed record StoredReport(IReadOnlyList<FilterListLineError> Errors, IReadOnlyList<string> Notes, IReadOnlyDictionary<string, int>? Categories = null);

/// <summary>A category listing a tested URL, the listed host whose entry lists it, and the stored lists that have that category.</summary>
public sealed record FilterLookupMatchDto(string Category, string ListedHost, IReadOnlyList<string> Lists);

/// <summary>
/// Which categories list a URL, in every list in use or in one list (<c>listId</c>): what a policy
/// blocking or allowing those categories would see. No category means no list knows the site.
/// </summary>
public sealed record FilterLookupDto(string Url, string? Host, Guid? ListId, string? ListName, IReadOnlyList<FilterLookupMatchDto> Matches, string? Error);

public sealed record FilterCategoryDto(string Name, int Entries);

public sealed record FilterListsSummary(string Version, int Hosts, int UrlRules, IReadOnlyList<FilterCategoryDto> Categories);

/// <summary>
/// Filter lists: upload (the UT1 archive or a plain list), list, delete, the categories in use, and
/// the export agents download. An upload is imported into a fresh list first; one with no usable
/// entry is refused with its line errors and the lists in use stay as they were.
/// </summary>
public static class FilterListEndpoints
{
    public static IEndpointRouteBuilder MapFilterListEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/filter-lists").WithTags("Filtering");
        group.MapGet("/", ListAsync).RequireStaff(Permission.ReadPolicies);
        group.MapGet("/categories", Categories).RequireStaff(Permission.ReadPolicies);
        group.MapGet("/lookup", LookupAsync).RequireStaff(Permission.ReadPolicies).ProducesValidationProblem()
            .WithDescription("Which categories list a URL or host, and which listed host lists it: in every list in use, or with listId in that stored list only. 404 for an unknown listId.");
        group.MapPost("/", UploadAsync).RequireStaff(Permission.ManageFilterLists)
            .Accepts<Stream>("application/gzip", "application/x-tar", "text/plain")
            .WithDescription("Uploads a list as the raw request body. ?format=ut1 takes the UT1 archive (blacklists.tar.gz); ?format=plain&category=NAME takes one host or host/path per line (hosts-file lines too). An upload with the name of an existing list replaces it once the new one imports.");
        group.MapDelete("/{id:guid}", DeleteAsync).RequireStaff(Permission.ManageFilterLists);
        app.MapGet(AgentProtocol.FilterListPath, ExportAsync).AllowAnonymous().WithTags("Agents")
            .Produces(StatusCodes.Status200OK, contentType: "text/plain").ProducesProblem(StatusCodes.Status401Unauthorized);
        return app;
    }

    private static async Task<Ok<List<FilterListDto>>> ListAsync(StaffScope scope, FilterListDirectory lists, CancellationToken cancellationToken) =>
        TypedResults.Ok(await lists.ListAsync(scope, cancellationToken));

    private static Ok<FilterListsSummary> Categories(StaffScope scope, FilterListDirectory lists) => TypedResults.Ok(lists.Categories(scope));

    private static async Task<Results<Ok<FilterLookupDto>, NotFound>> LookupAsync(
        string? url, Guid? listId, StaffScope scope, FilterListDirectory lists, CancellationToken cancellationToken) =>
        await lists.LookupAsync(scope, url, listId, cancellationToken) is { } lookup ? TypedResults.Ok(lookup) : TypedResults.NotFound();

    private static async Task<Results<Created<FilterListDto>, Ok<FilterListDto>, ValidationProblem, ProblemHttpResult>> UploadAsync(
        string? name, string? format, string? category, HttpContext context, StaffScope scope, UploadFilterList upload, CancellationToken cancellationToken)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = UploadFilterList.BodyLimit(format);
        }

        var outcome = await upload.ExecuteAsync(scope, new UploadFilterListRequest(name, format, category), context.Request.Body, context.Request.ContentLength, cancellationToken);
        return outcome switch
        {
            UploadFilterListOutcome.Stored { Replaced: false } stored => TypedResults.Created($"/api/filter-lists/{stored.List.Id}", stored.List),
            UploadFilterListOutcome.Stored stored => TypedResults.Ok(stored.List),
            UploadFilterListOutcome.Invalid invalid => TypedResults.ValidationProblem(invalid.Errors),
            UploadFilterListOutcome.Refused refused => TypedResults.Problem(statusCode: refused.StatusCode, title: refused.Title, detail: refused.Detail, extensions: refused.Extensions),
            _ => throw new InvalidOperationException($"Unexpected outcome {outcome}."),
        };
    }

    private static async Task<Results<NoContent, NotFound>> DeleteAsync(Guid id, StaffScope scope, FilterListDirectory lists, CancellationToken cancellationToken) =>
        await lists.DeleteAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    /// <summary>
    /// The hosts and host/path prefixes of the requested categories as text: a <c># category</c>
    /// line, then one entry per line. Agents that decide on the device (the Chrome extension, .NET
    /// agents) download it when their policy's <c>filter.listVersion</c> changes.
    /// </summary>
    private static async Task<Results<FileContentHttpResult, UnauthorizedHttpResult, ValidationProblem>> ExportAsync(
        string? categories, HttpContext context, HomeroomDbContext db, FilterListStore store, CancellationToken cancellationToken)
    {
        if (await DeviceCredentials.AuthenticateAsync(context, db, cancellationToken) is null)
        {
            return TypedResults.Unauthorized();
        }

        var wanted = (categories ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (wanted.Length is 0 or > 256 || !wanted.All(FilterListBuilder.IsValidCategoryName))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["categories"] = ["1 to 256 comma-separated category names."] });
        }

        var bytes = await store.ExportAsync(wanted, cancellationToken);
        context.Response.Headers.ETag = $"\"{store.Version}\"";
        return TypedResults.File(bytes, "text/plain; charset=utf-8");
    }
}
