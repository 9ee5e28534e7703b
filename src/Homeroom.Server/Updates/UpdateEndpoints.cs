using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Updates;

/// <summary>OS update rollouts over HTTP: thin calls into <see cref="UpdateRollouts"/>.</summary>
public static class UpdateEndpoints
{
    public static IEndpointRouteBuilder MapUpdateEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/updates").WithTags("Updates");
        var rollouts = group.MapGroup("/rollouts");
        rollouts.MapGet("/", ListAsync).RequireStaff(Permission.ReadUpdates)
            .WithDescription("OS update rollouts in your scope (a school's staff see those whose rings hold their school's groups or devices), newest first, at most 200.");
        rollouts.MapGet("/{id:guid}", GetAsync).RequireStaff(Permission.ReadUpdates)
            .WithDescription("One rollout: its state, why it waits or is paused, and each ring's progress (on the target / devices, healthy, soak time left).");
        rollouts.MapPost("/", CreateAsync).RequireStaff(Permission.ManageUpdates).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription($"Starts a rollout: `name`, `platform` (ios, macos, chromeos, windows, linux), `targetVersion` (compared numerically: 18.10 is newer than 18.9), " +
                $"`checkInHours` (1 to 336, default 24) and 1 to {UpdateRollouts.MaxRings} `rings` in order, each `groupId`, `requiredPercent` (1 to 100), " +
                $"`soakHours` (0 to {UpdateRollouts.MaxSoakHours}) and an optional `deadline` (UTC, in the future). A target older than a version the rings' devices " +
                "already run is refused (400); a group that is a ring of another unfinished rollout of the platform is refused (409). District administrators only. Audited.");
        rollouts.MapPost("/{id:guid}/pause", PauseAsync).RequireStaff(Permission.ManageUpdates).ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Holds an active rollout: nothing promotes until it is resumed. Audited.");
        rollouts.MapPost("/{id:guid}/resume", ResumeAsync).RequireStaff(Permission.ManageUpdates).ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Resumes a paused rollout: the current ring's soak starts again, earlier failures no longer count, and devices silent since before now are left out of the gate. Audited.");
        rollouts.MapPost("/{id:guid}/stop", StopAsync).RequireStaff(Permission.ManageUpdates).ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Ends a rollout for good: rings not started never start, Apple devices no longer get its target. Audited.");
        group.MapGet("/devices/{id:guid}", DeviceAsync).RequireStaff(ScopedResource.Device, Permission.ReadUpdates)
            .WithDescription("The rollouts a device takes part in: its ring, the ring's phase and whether the device is on the target.");
        return app;
    }

    private static async Task<Ok<List<RolloutDto>>> ListAsync(StaffScope scope, UpdateRollouts rollouts, CancellationToken cancellationToken) =>
        TypedResults.Ok(await rollouts.ListAsync(scope, cancellationToken));

    private static async Task<Results<Ok<RolloutDto>, NotFound>> GetAsync(Guid id, StaffScope scope, UpdateRollouts rollouts, CancellationToken cancellationToken) =>
        await rollouts.GetAsync(scope, id, cancellationToken) is { } rollout ? TypedResults.Ok(rollout) : TypedResults.NotFound();

    private static async Task<Created<RolloutDto>> CreateAsync(RolloutRequest request, StaffScope scope, UpdateRollouts rollouts, CancellationToken cancellationToken)
    {
        var created = await rollouts.CreateAsync(scope, request, cancellationToken);
        return TypedResults.Created($"/api/updates/rollouts/{created.Id}", created);
    }

    private static async Task<Results<Ok<RolloutDto>, NotFound>> PauseAsync(Guid id, StaffScope scope, UpdateRollouts rollouts, CancellationToken cancellationToken) =>
        await rollouts.PauseAsync(scope, id, cancellationToken) is { } rollout ? TypedResults.Ok(rollout) : TypedResults.NotFound();

    private static async Task<Results<Ok<RolloutDto>, NotFound>> ResumeAsync(Guid id, StaffScope scope, UpdateRollouts rollouts, CancellationToken cancellationToken) =>
        await rollouts.ResumeAsync(scope, id, cancellationToken) is { } rollout ? TypedResults.Ok(rollout) : TypedResults.NotFound();

    private static async Task<Results<Ok<RolloutDto>, NotFound>> StopAsync(Guid id, StaffScope scope, UpdateRollouts rollouts, CancellationToken cancellationToken) =>
        await rollouts.StopAsync(scope, id, cancellationToken) is { } rollout ? TypedResults.Ok(rollout) : TypedResults.NotFound();

    private static async Task<Ok<List<DeviceRingDto>>> DeviceAsync(Guid id, StaffScope scope, UpdateRollouts rollouts, CancellationToken cancellationToken) =>
        TypedResults.Ok(await rollouts.ForDeviceAsync(scope, id, cancellationToken));
}
