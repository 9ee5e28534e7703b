using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Homeroom.Server.Scripts;

/// <summary>The script library and script runs over HTTP: thin calls into <see cref="ScriptLibrary"/> and <see cref="ScriptRuns"/>.</summary>
public static class ScriptEndpoints
{
    public static IEndpointRouteBuilder MapScriptEndpoints(this IEndpointRouteBuilder app)
    {
        var library = app.MapGroup("/api/scripts").WithTags("Scripts").WithMetadata(new RequestSizeLimitAttribute(ScriptLibrary.MaxRequestBytes));
        library.MapGet("/", ListAsync).RequireStaff(Permission.RunScripts, Permission.ManageScripts)
            .WithDescription("The district's scripts by name, each with its newest version and whether it is approved (only approved scripts run).");
        library.MapGet("/{id:guid}", GetAsync).RequireStaff(Permission.RunScripts, Permission.ManageScripts)
            .WithDescription("A script with every version (body, SHA-256, time limit, who wrote and who approved it), newest first.");
        library.MapPost("/", CreateAsync).RequireStaff(Permission.ManageScripts).ProducesValidationProblem()
            .WithDescription("Writes a script (version 1, awaiting approval). Body at most 32 KiB of UTF-8, time limit 1 to 3,600 s. Audited. District administrators.");
        library.MapPut("/{id:guid}", UpdateAsync).RequireStaff(Permission.ManageScripts).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Edits a script: a new version, which must be approved again before the script runs. Audited. District administrators.");
        library.MapPost("/{id:guid}/approve", ApproveAsync).RequireStaff(Permission.ManageScripts).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Approves the newest version (named in the body) and signs it with the server's script-signing key. Audited. District administrators.");

        app.MapPost("/api/devices/{id:guid}/scripts", RunOnDeviceAsync).WithTags("Scripts").RequireStaff(ScopedResource.Device, Permission.RunScripts)
            .WithMetadata(new RequestSizeLimitAttribute(4096))
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Runs an approved script on the device (a `runScript` command, delivered when it is online). A device of another platform is refused. Audited. District and school administrators and IT technicians.");
        app.MapGet("/api/devices/{id:guid}/scripts", DeviceRunsAsync).WithTags("Scripts").RequireStaff(ScopedResource.Device, Permission.RunScripts)
            .WithDescription("The device's newest script runs, each with its delivery status and, once it came, the exit code and output.");
        app.MapPost("/api/groups/{id:guid}/scripts", RunOnGroupAsync).WithTags("Scripts").RequireStaff(ScopedResource.Group, Permission.RunScripts)
            .WithMetadata(new RequestSizeLimitAttribute(4096))
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Runs an approved script on every device of the group: one `runScript` command; devices of another platform are recorded as failed. Audited. District and school administrators and IT technicians.");
        app.MapGet("/api/groups/{id:guid}/scripts", GroupRunsAsync).WithTags("Scripts").RequireStaff(ScopedResource.Group, Permission.RunScripts)
            .WithDescription("The group's newest script runs, newest first, each device with its status, exit code and output.");
        return app;
    }

    private static async Task<Ok<List<ScriptSummaryDto>>> ListAsync(StaffScope scope, ScriptLibrary library, CancellationToken cancellationToken) =>
        TypedResults.Ok(await library.ListAsync(scope, cancellationToken));

    private static async Task<Results<Ok<ScriptDto>, NotFound>> GetAsync(Guid id, StaffScope scope, ScriptLibrary library, CancellationToken cancellationToken) =>
        await library.GetAsync(scope, id, cancellationToken) is { } script ? TypedResults.Ok(script) : TypedResults.NotFound();

    private static async Task<Created<ScriptDto>> CreateAsync(ScriptRequest request, StaffScope scope, ScriptLibrary library, CancellationToken cancellationToken)
    {
        var script = await library.CreateAsync(scope, request, cancellationToken);
        return TypedResults.Created($"/api/scripts/{script.Id}", script);
    }

    private static async Task<Results<Ok<ScriptDto>, NotFound>> UpdateAsync(Guid id, ScriptRequest request, StaffScope scope, ScriptLibrary library, CancellationToken cancellationToken) =>
        await library.UpdateAsync(scope, id, request, cancellationToken) is { } script ? TypedResults.Ok(script) : TypedResults.NotFound();

    private static async Task<Results<Ok<ScriptDto>, NotFound>> ApproveAsync(Guid id, ScriptApprovalRequest request, StaffScope scope, ScriptLibrary library, CancellationToken cancellationToken) =>
        await library.ApproveAsync(scope, id, request, cancellationToken) is { } script ? TypedResults.Ok(script) : TypedResults.NotFound();

    private static async Task<Accepted<ScriptRunRequestedDto>> RunOnDeviceAsync(Guid id, RunScriptRequest request, StaffScope scope, ScriptRuns runs, CancellationToken cancellationToken)
    {
        var requested = await runs.RunOnDeviceAsync(scope, id, request, cancellationToken);
        return TypedResults.Accepted($"/api/devices/{id}/scripts", requested);
    }

    private static async Task<Results<Ok<List<DeviceScriptRunDto>>, NotFound>> DeviceRunsAsync(Guid id, StaffScope scope, ScriptRuns runs, CancellationToken cancellationToken) =>
        await runs.DeviceAsync(scope, id, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();

    private static async Task<Accepted<ScriptRunRequestedDto>> RunOnGroupAsync(Guid id, RunScriptRequest request, StaffScope scope, ScriptRuns runs, CancellationToken cancellationToken)
    {
        var requested = await runs.RunOnGroupAsync(scope, id, request, cancellationToken);
        return TypedResults.Accepted($"/api/groups/{id}/scripts", requested);
    }

    private static async Task<Results<Ok<List<GroupScriptRunDto>>, NotFound>> GroupRunsAsync(Guid id, StaffScope scope, ScriptRuns runs, CancellationToken cancellationToken) =>
        await runs.GroupAsync(scope, id, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();
}
