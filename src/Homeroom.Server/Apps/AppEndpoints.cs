using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Homeroom.Server.Apps;

/// <summary>The app catalog, app assignments and a device's effective apps over HTTP: thin calls into <see cref="AppCatalog"/> and <see cref="AppAssignmentDirectory"/>.</summary>
public static class AppEndpoints
{
    public static IEndpointRouteBuilder MapAppEndpoints(this IEndpointRouteBuilder app)
    {
        var catalog = app.MapGroup("/api/apps").WithTags("Apps").WithMetadata(new RequestSizeLimitAttribute(AppCatalog.MaxBodyBytes));
        catalog.MapGet("/", ListAsync).RequireStaff(Permission.ReadPolicies)
            .WithDescription("The catalog, by name (at most 1,000), optionally searched by name, bundle id or extension id, and filtered by category.");
        catalog.MapGet("/{id:guid}", GetAsync).RequireStaff(Permission.ReadPolicies);
        catalog.MapPost("/", CreateAsync).RequireStaff(Permission.ManageAppCatalog).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        catalog.MapPut("/{id:guid}", UpdateAsync).RequireStaff(Permission.ManageAppCatalog).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        catalog.MapDelete("/{id:guid}", DeleteAsync).RequireStaff(Permission.ManageAppCatalog);
        catalog.MapGet("/{id:guid}/assignments", ListAssignmentsAsync).RequireStaff(Permission.ReadPolicies);
        catalog.MapPost("/{id:guid}/assignments", AssignAsync).RequireStaff(Permission.ManagePolicies)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status409Conflict);

        var assignments = app.MapGroup("/api/app-assignments").WithTags("Apps").WithMetadata(new RequestSizeLimitAttribute(AppCatalog.MaxBodyBytes));
        assignments.MapPut("/{id:guid}", UpdateAssignmentAsync).RequireStaff(ScopedResource.AppAssignment, Permission.ManagePolicies)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status409Conflict);
        assignments.MapDelete("/{id:guid}", DeleteAssignmentAsync).RequireStaff(ScopedResource.AppAssignment, Permission.ManagePolicies);

        app.MapGet("/api/devices/{id:guid}/effective-apps", EffectiveAsync).WithTags("Apps").RequireStaff(ScopedResource.Device, Permission.ReadPolicies)
            .WithDescription("The device's apps as its assignments decide them, each with the assignment that decided, the ones it overrode, and what the device's platform makes of it.");
        app.MapGet("/api/devices/{id:guid}/apps/status", StatusAsync).WithTags("Apps").RequireStaff(ScopedResource.Device, Permission.ReadPolicies)
            .WithDescription("Where each app the device's assignments make relevant stands on it: pending, installing, installed, failed, removing, removed, no-licence, not-applicable or missing, with the reason, licence and retry schedule.");
        return app;
    }

    private static async Task<Results<Ok<List<AppInstallStatusDto>>, NotFound>> StatusAsync(Guid id, StaffScope scope, AppInstallStatuses statuses, CancellationToken cancellationToken) =>
        await statuses.ForDeviceAsync(scope, id, cancellationToken) is { } list ? TypedResults.Ok(list) : TypedResults.NotFound();

    private static async Task<Ok<List<AppDto>>> ListAsync(string? search, string? category, StaffScope scope, AppCatalog catalog, CancellationToken cancellationToken) =>
        TypedResults.Ok(await catalog.ListAsync(scope, search, category, cancellationToken));

    private static async Task<Results<Ok<AppDto>, NotFound>> GetAsync(Guid id, StaffScope scope, AppCatalog catalog, CancellationToken cancellationToken) =>
        await catalog.GetAsync(scope, id, cancellationToken) is { } app ? TypedResults.Ok(app) : TypedResults.NotFound();

    private static async Task<Created<AppDto>> CreateAsync(AppRequest request, StaffScope scope, AppCatalog catalog, CancellationToken cancellationToken)
    {
        var app = await catalog.CreateAsync(scope, request, cancellationToken);
        return TypedResults.Created($"/api/apps/{app.Id}", app);
    }

    private static async Task<Results<Ok<AppDto>, NotFound>> UpdateAsync(Guid id, AppRequest request, StaffScope scope, AppCatalog catalog, CancellationToken cancellationToken) =>
        await catalog.UpdateAsync(scope, id, request, cancellationToken) is { } app ? TypedResults.Ok(app) : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> DeleteAsync(Guid id, StaffScope scope, AppCatalog catalog, CancellationToken cancellationToken) =>
        await catalog.DeleteAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Results<Ok<List<AppAssignmentDto>>, NotFound>> ListAssignmentsAsync(Guid id, StaffScope scope, AppAssignmentDirectory assignments, CancellationToken cancellationToken) =>
        await assignments.ListAsync(scope, id, cancellationToken) is { } list ? TypedResults.Ok(list) : TypedResults.NotFound();

    private static async Task<Results<Created<AppAssignmentDto>, NotFound>> AssignAsync(Guid id, AppAssignmentRequest request, StaffScope scope, AppAssignmentDirectory assignments, CancellationToken cancellationToken) =>
        await assignments.CreateAsync(scope, id, request, cancellationToken) is { } created
            ? TypedResults.Created($"/api/app-assignments/{created.Id}", created)
            : TypedResults.NotFound();

    private static async Task<Results<Ok<AppAssignmentDto>, NotFound>> UpdateAssignmentAsync(Guid id, AppAssignmentRequest request, StaffScope scope, AppAssignmentDirectory assignments, CancellationToken cancellationToken) =>
        await assignments.UpdateAsync(scope, id, request, cancellationToken) is { } updated ? TypedResults.Ok(updated) : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> DeleteAssignmentAsync(Guid id, StaffScope scope, AppAssignmentDirectory assignments, CancellationToken cancellationToken) =>
        await assignments.DeleteAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Results<Ok<List<EffectiveAppDto>>, NotFound>> EffectiveAsync(Guid id, StaffScope scope, AppAssignmentDirectory assignments, CancellationToken cancellationToken) =>
        await assignments.EffectiveAsync(scope, id, cancellationToken) is { } apps ? TypedResults.Ok(apps) : TypedResults.NotFound();
}
