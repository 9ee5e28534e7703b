using Homeroom.Contracts.Agents;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.SelfUpdates;

/// <summary>Agent builds over HTTP (thin calls into <see cref="AgentBuilds"/>) and the device's download of one.</summary>
public static class AgentUpdateEndpoints
{
    public static IEndpointRouteBuilder MapAgentUpdateEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/agent-updates").WithTags("Agent updates");
        group.MapGet("/", ListAsync).RequireStaff(Permission.ManageAgentUpdates)
            .WithDescription("The uploaded desktop agent builds, newest first (which is current for its runtime, how many devices run its version), and every agent version the district's desktops report.");
        group.MapPost("/", UploadAsync).RequireStaff(Permission.ManageAgentUpdates)
            .Accepts<Stream>("application/octet-stream")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithDescription("Uploads a build as the raw request body: ?rid=linux-x64|win-x64|osx-arm64|osx-x64&version=MAJOR.MINOR.PATCH. The file must be an executable of the runtime (ELF, PE, Mach-O) of at most Homeroom:AgentUpdates:MaxPackageBytes (150 MB). Its manifest is signed with the server's signing key. Audited. District administrators.");
        group.MapPost("/{id:guid}/current", SetCurrentAsync).RequireStaff(Permission.ManageAgentUpdates)
            .WithDescription("Makes the build its runtime's current one, district-wide: devices whose agent is older are sent an `agentUpdate` command (online ones now, the others when they connect). Audited.");
        group.MapPost("/{id:guid}/pilot", StartPilotAsync).RequireStaff(Permission.ManageAgentUpdates)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Pilots the build: body {\"groupId\"}; only that group's devices of the runtime's platform (placed in it or assigned to its people, read again at each connect) are offered it, the others keep the current build. 400 for a missing or unknown group, 409 when the build is current, not newer than the current build, or the runtime has a pilot already. Audited.");
        group.MapPost("/{id:guid}/promote", PromoteAsync).RequireStaff(Permission.ManageAgentUpdates)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Promotes a piloting build to its runtime's current build, district-wide. 409 when it is not piloting, or when more than Homeroom:AgentUpdates:PilotHoldPercent (10 %) of the pilot devices offered it failed, with the figures, unless ?confirm=true. Audited.");
        group.MapPost("/{id:guid}/withdraw", WithdrawAsync).RequireStaff(Permission.ManageAgentUpdates)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Withdraws a piloting build: its waiting offers expire and the pilot's devices are offered the current build again (a device that already installed the pilot build keeps it: agents take only newer versions). 409 when it is not piloting. Audited.");
        group.MapDelete("/{id:guid}", DeleteAsync).RequireStaff(Permission.ManageAgentUpdates)
            .WithDescription("Deletes a build and, unless another build is the same file, its file. Audited.");
        app.MapGet(AgentProtocol.UpdatePathPrefix + "{sha256}", DownloadAsync).AllowAnonymous().WithTags("Agents")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream").ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status404NotFound)
            .WithDescription("A device downloads a build it was offered, by SHA-256 (Authorization: Device <id>:<credential>).");
        return app;
    }

    private static async Task<Ok<AgentUpdatesDto>> ListAsync(StaffScope scope, AgentBuilds builds, CancellationToken cancellationToken) =>
        TypedResults.Ok(await builds.ListAsync(scope, cancellationToken));

    private static async Task<Created<AgentBuildDto>> UploadAsync(
        string? rid, string? version, HttpContext context, StaffScope scope, AgentBuilds builds, CancellationToken cancellationToken)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            // One byte over the limit reaches the upload, which answers 413 with the limit.
            sizeFeature.MaxRequestBodySize = builds.MaxPackageBytes + 1;
        }

        var build = await builds.UploadAsync(scope, rid, version, context.Request.Body, context.Request.ContentLength, cancellationToken);
        return TypedResults.Created($"/api/agent-updates/{build.Id}", build);
    }

    private static async Task<Results<Ok<AgentBuildDto>, NotFound>> SetCurrentAsync(Guid id, StaffScope scope, AgentBuilds builds, CancellationToken cancellationToken) =>
        await builds.SetCurrentAsync(scope, id, cancellationToken) is { } build ? TypedResults.Ok(build) : TypedResults.NotFound();

    private static async Task<Results<Ok<AgentBuildDto>, NotFound>> StartPilotAsync(
        Guid id, AgentPilotRequest request, StaffScope scope, AgentBuilds builds, CancellationToken cancellationToken) =>
        await builds.StartPilotAsync(scope, id, request, cancellationToken) is { } build ? TypedResults.Ok(build) : TypedResults.NotFound();

    private static async Task<Results<Ok<AgentBuildDto>, NotFound>> PromoteAsync(Guid id, bool? confirm, StaffScope scope, AgentBuilds builds, CancellationToken cancellationToken) =>
        await builds.PromoteAsync(scope, id, confirm == true, cancellationToken) is { } build ? TypedResults.Ok(build) : TypedResults.NotFound();

    private static async Task<Results<Ok<AgentBuildDto>, NotFound>> WithdrawAsync(Guid id, StaffScope scope, AgentBuilds builds, CancellationToken cancellationToken) =>
        await builds.WithdrawAsync(scope, id, cancellationToken) is { } build ? TypedResults.Ok(build) : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> DeleteAsync(Guid id, StaffScope scope, AgentBuilds builds, CancellationToken cancellationToken) =>
        await builds.DeleteAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Results<PhysicalFileHttpResult, PushStreamHttpResult, UnauthorizedHttpResult, NotFound>> DownloadAsync(
        string sha256, HttpContext context, HomeroomDbContext db, AgentBuilds builds, CancellationToken cancellationToken)
    {
        if (await DeviceCredentials.AuthenticateAsync(context, db, cancellationToken) is null)
        {
            return TypedResults.Unauthorized();
        }

        switch (await builds.DownloadOfAsync(sha256, cancellationToken))
        {
            case null:
                return TypedResults.NotFound();
            case { File: { } file }:
                return TypedResults.PhysicalFile(file, "application/octet-stream", enableRangeProcessing: false);
            case { WriteAsync: { } write } stored:
                // In the database (a cluster): streamed a chunk at a time from whichever node the device reached.
                context.Response.ContentLength = stored.Size;
                return TypedResults.Stream(output => write(output, context.RequestAborted), "application/octet-stream");
            default:
                return TypedResults.NotFound();
        }
    }
}
