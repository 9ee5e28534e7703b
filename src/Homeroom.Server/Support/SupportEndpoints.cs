using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Support;

/// <summary>Help requests over HTTP: the IT queue and a class's list, thin calls into <see cref="HelpRequests"/>.</summary>
public static class SupportEndpoints
{
    public static IEndpointRouteBuilder MapSupportEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/support").WithTags("Support");
        var requests = group.MapGroup("/requests");
        requests.MapGet("/", ListAsync).RequireStaff(Permission.ManageHelpRequests).ProducesValidationProblem()
            .WithDescription("The IT queue of your scope: help requests with the status filter `status` (open, the default: everything not resolved; all; withTeacher, escalated, itQueue or resolved), those in the IT queue first, oldest first; at most 500.");
        requests.MapGet("/{id:guid}", GetAsync).RequireStaff(ScopedResource.HelpRequest, Permission.ManageHelpRequests, Permission.UseClassroom)
            .WithDescription("One help request with its thread (created, assigned, escalated, resolved, notes), and `diagnostics`: the device's newest diagnostics report in brief (when gathered, OS and agent versions, uptime, storage, memory, batteries, connection tests, failed checks) with a request under way (`pending`, `newerOnItsWay`), only for staff who may run diagnostics on the device (null for others). A teacher reaches those of their class, only while it is in session.");
        requests.MapGet("/{id:guid}/screenshot", ScreenshotAsync).RequireStaff(ScopedResource.HelpRequest, Permission.ManageHelpRequests, Permission.UseClassroom)
            .Produces(StatusCodes.Status200OK, contentType: "image/jpeg")
            .WithDescription("The screenshot the student attached (JPEG); 404 when there is none. Audited.");
        requests.MapPost("/{id:guid}/assign", AssignAsync).RequireStaff(ScopedResource.HelpRequest, Permission.ManageHelpRequests)
            .WithDescription("Assigns the request to you (the device is told it was taken). Audited.");
        requests.MapPost("/{id:guid}/notes", NoteAsync).RequireStaff(ScopedResource.HelpRequest, Permission.ManageHelpRequests, Permission.UseClassroom).ProducesValidationProblem()
            .WithDescription($"Adds a note (`text`, at most {HelpRequests.MaxNoteLength} characters) to the request's thread. Audited.");
        requests.MapPost("/{id:guid}/escalate", EscalateAsync).RequireStaff(ScopedResource.HelpRequest, Permission.UseClassroom).ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("The teacher sends a request of their class on to the school's IT queue (status escalated); a request already there is left as it is, a resolved one is refused (409). Audited.");
        requests.MapPost("/{id:guid}/resolve", ResolveAsync).RequireStaff(ScopedResource.HelpRequest, Permission.ManageHelpRequests, Permission.UseClassroom)
            .WithDescription("Resolves the request (the device is told); resolving it again changes nothing. Audited.");
        group.MapGet("/classes/{id:guid}", ClassAsync).RequireStaff(ScopedResource.Group, Permission.UseClassroom)
            .WithDescription("The open help requests routed to a class, newest first, for its teacher: only while the class is in session (`inSession` false and no requests otherwise).");
        return app;
    }

    private static async Task<Ok<List<HelpRequestDto>>> ListAsync(string? status, StaffScope scope, HelpRequests help, CancellationToken cancellationToken) =>
        TypedResults.Ok(await help.ListAsync(scope, status, cancellationToken));

    private static async Task<Results<Ok<HelpRequestDetailDto>, NotFound>> GetAsync(Guid id, StaffScope scope, HelpRequests help, CancellationToken cancellationToken) =>
        await help.GetAsync(scope, id, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();

    private static async Task<Results<FileContentHttpResult, NotFound>> ScreenshotAsync(Guid id, StaffScope scope, HelpRequests help, CancellationToken cancellationToken) =>
        await help.ScreenshotAsync(scope, id, cancellationToken) is { } image ? TypedResults.File(image, "image/jpeg") : TypedResults.NotFound();

    private static async Task<Results<Ok<HelpRequestDto>, NotFound>> AssignAsync(Guid id, StaffScope scope, HelpRequests help, CancellationToken cancellationToken) =>
        await help.AssignToMeAsync(scope, id, cancellationToken) is { } changed ? TypedResults.Ok(changed) : TypedResults.NotFound();

    private static async Task<Results<Ok<HelpRequestDto>, NotFound>> NoteAsync(Guid id, HelpNoteRequest request, StaffScope scope, HelpRequests help, CancellationToken cancellationToken) =>
        await help.AddNoteAsync(scope, id, request, cancellationToken) is { } changed ? TypedResults.Ok(changed) : TypedResults.NotFound();

    private static async Task<Results<Ok<HelpRequestDto>, NotFound>> EscalateAsync(Guid id, StaffScope scope, HelpRequests help, CancellationToken cancellationToken) =>
        await help.EscalateAsync(scope, id, cancellationToken) is { } changed ? TypedResults.Ok(changed) : TypedResults.NotFound();

    private static async Task<Results<Ok<HelpRequestDto>, NotFound>> ResolveAsync(Guid id, StaffScope scope, HelpRequests help, CancellationToken cancellationToken) =>
        await help.ResolveAsync(scope, id, cancellationToken) is { } changed ? TypedResults.Ok(changed) : TypedResults.NotFound();

    private static async Task<Ok<ClassHelpDto>> ClassAsync(Guid id, StaffScope scope, HelpRequests help, CancellationToken cancellationToken) =>
        TypedResults.Ok(await help.ForClassAsync(scope, id, cancellationToken));
}
