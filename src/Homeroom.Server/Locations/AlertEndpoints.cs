using Homeroom.Server.Accounts;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Locations;

/// <summary>Alerts (out of bounds) and devices' location tracks over HTTP: thin calls into <see cref="AlertDirectory"/>.</summary>
public static class AlertEndpoints
{
    public static IEndpointRouteBuilder MapAlertEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/alerts").WithTags("Locations");
        group.MapGet("/", ListAsync).RequireStaffOn(ScopedResource.Device, "deviceId", Permission.ReadAlerts).ProducesValidationProblem()
            .WithDescription("Alerts about devices of your scope, newest first. state: open (not cleared), cleared or all; unacknowledged=true for those no one has acknowledged. Positions only for staff who read locations.");
        group.MapGet("/{id:guid}", GetAsync).RequireStaff(ScopedResource.Alert, Permission.ReadAlerts)
            .WithDescription("One alert, with the device's track from an hour before it until it cleared (or now) for staff who read locations.");
        group.MapPost("/{id:guid}/acknowledge", AcknowledgeAsync).RequireStaff(ScopedResource.Alert, Permission.ManageAlerts).ProducesValidationProblem()
            .WithDescription($"Acknowledges the alert, with an optional note of at most {AlertDirectory.MaxNoteLength} characters (body `{{\"note\": \"...\"}}`, or none). Once: acknowledging again changes nothing.");
        app.MapGet("/api/devices/{id:guid}/locations", TrackAsync).WithTags("Locations").RequireStaff(ScopedResource.Device, Permission.ReadLocations)
            .ProducesValidationProblem()
            .WithDescription("The device's reported locations in the last `hours` (default 24, at most 720), oldest first. Audited.");
        return app;
    }

    private static async Task<Results<Ok<PagedResult<AlertDto>>, ValidationProblem>> ListAsync(
        string? state, bool? unacknowledged, Guid? deviceId, [AsParameters] PageQuery paging, StaffScope scope, AlertDirectory alerts, CancellationToken cancellationToken) =>
        paging.Validate() is { } errors
            ? TypedResults.ValidationProblem(errors)
            : TypedResults.Ok(await alerts.ListAsync(scope, new AlertFilter(state, unacknowledged, deviceId), paging, cancellationToken));

    private static async Task<Results<Ok<AlertDetailDto>, NotFound>> GetAsync(Guid id, StaffScope scope, AlertDirectory alerts, CancellationToken cancellationToken) =>
        await alerts.GetAsync(scope, id, cancellationToken) is { } alert ? TypedResults.Ok(alert) : TypedResults.NotFound();

    private static async Task<Results<Ok<AlertDto>, NotFound>> AcknowledgeAsync(
        Guid id, AcknowledgeAlertRequest? request, StaffScope scope, AlertDirectory alerts, CancellationToken cancellationToken) =>
        await alerts.AcknowledgeAsync(scope, id, request?.Note, cancellationToken) is { } alert ? TypedResults.Ok(alert) : TypedResults.NotFound();

    private static async Task<Results<Ok<List<LocationDto>>, NotFound>> TrackAsync(Guid id, int? hours, StaffScope scope, AlertDirectory alerts, CancellationToken cancellationToken) =>
        await alerts.TrackAsync(scope, id, hours ?? 24, cancellationToken) is { } track ? TypedResults.Ok(track) : TypedResults.NotFound();
}
