using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Diagnostics;

/// <summary>Device diagnostics over HTTP: thin calls into <see cref="DeviceDiagnostics"/> and <see cref="DiagnosticsStore"/>.</summary>
public static class DiagnosticsEndpoints
{
    public static IEndpointRouteBuilder MapDiagnosticsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/devices/{id:guid}/diagnostics").WithTags("Diagnostics");
        group.MapPost("/", RequestAsync).RequireStaff(ScopedResource.Device, Permission.RunDiagnostics)
            .ProducesValidationProblem()
            .WithDescription("Asks the device for a diagnostics report (a `diagnose` command; delivered when it is online, for an hour). Audited. District and school administrators and IT technicians.");
        group.MapGet("/", LatestAsync).RequireStaff(ScopedResource.Device, Permission.RunDiagnostics)
            .WithDescription("The device's newest diagnostics report with its checks (failed ones say why), and a request still under way or failed (`pending`).");
        group.MapGet("/history", HistoryAsync).RequireStaff(ScopedResource.Device, Permission.RunDiagnostics)
            .WithDescription("Every diagnostics report kept for the device (the newest few, within the retention), newest first.");

        var groups = app.MapGroup("/api/groups/{id:guid}/diagnostics").WithTags("Diagnostics");
        groups.MapPost("/", RequestGroupAsync).RequireStaff(ScopedResource.Group, Permission.RunDiagnostics)
            .ProducesValidationProblem()
            .WithDescription("Asks every device of the group for a diagnostics report: one `diagnose` command to the group (delivered when each device is online, for an hour). Audited. District and school administrators and IT technicians.");
        groups.MapGet("/", GroupAsync).RequireStaff(ScopedResource.Group, Permission.RunDiagnostics)
            .WithDescription("Each device of the group with its newest diagnostics report in brief (when it came, how many checks failed) and a request still under way or failed (`pending`).");
        var sites = app.MapGroup("/api/diagnostics/sites").WithTags("Diagnostics");
        sites.MapGet("/", SitesAsync).RequireStaff(Permission.RunDiagnostics)
            .WithDescription("The district's sites every diagnostics report tests besides the Homeroom server, and whether they are still the configuration's. Staff who may run diagnostics.");
        sites.MapPut("/", SetSitesAsync).RequireStaff(Permission.ManageDiagnostics).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Sets the district's sites (at most 7 https URLs; an empty list tests none), or `useConfiguration: true` to go back to the configuration's. Audited. District administrators only.");
        return app;
    }

    private static async Task<Ok<DiagnosticSitesDto>> SitesAsync(StaffScope scope, DiagnosticSites sites, CancellationToken cancellationToken) =>
        TypedResults.Ok(await sites.GetAsync(scope, cancellationToken));

    private static async Task<Ok<DiagnosticSitesDto>> SetSitesAsync(DiagnosticSitesRequest request, StaffScope scope, DiagnosticSites sites, CancellationToken cancellationToken) =>
        TypedResults.Ok(await sites.SetAsync(scope, request, cancellationToken));

    private static async Task<Accepted<GroupDiagnosticsRequestedDto>> RequestGroupAsync(Guid id, StaffScope scope, DeviceDiagnostics diagnostics, CancellationToken cancellationToken)
    {
        var requested = await diagnostics.RequestGroupAsync(scope, id, cancellationToken);
        return TypedResults.Accepted($"/api/groups/{id}/diagnostics", requested);
    }

    private static async Task<Results<Ok<List<GroupDeviceDiagnosticsDto>>, NotFound>> GroupAsync(Guid id, StaffScope scope, DiagnosticsStore store, CancellationToken cancellationToken) =>
        await store.GroupAsync(scope, id, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();

    private static async Task<Accepted<DiagnosticsRequestedDto>> RequestAsync(Guid id, StaffScope scope, DeviceDiagnostics diagnostics, CancellationToken cancellationToken)
    {
        var requested = await diagnostics.RequestAsync(scope, id, cancellationToken);
        return TypedResults.Accepted($"/api/devices/{id}/diagnostics", requested);
    }

    private static async Task<Results<Ok<DeviceDiagnosticsDto>, NotFound>> LatestAsync(Guid id, StaffScope scope, DiagnosticsStore store, CancellationToken cancellationToken) =>
        await store.LatestAsync(scope, id, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();

    private static async Task<Results<Ok<List<DiagnosticsReportDto>>, NotFound>> HistoryAsync(Guid id, StaffScope scope, DiagnosticsStore store, CancellationToken cancellationToken) =>
        await store.HistoryAsync(scope, id, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();
}
