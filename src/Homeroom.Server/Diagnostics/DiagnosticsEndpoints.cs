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
        return app;
    }

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
