using Homeroom.Server.Accounts;
using Homeroom.Server.Commands;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Classroom;

public sealed record ClassCommandRequest(string? Kind, Dictionary<string, string>? Arguments, IReadOnlyList<Guid>? DeviceIds);

/// <summary>The teacher's classroom over HTTP: the classes one may open, a class's live tiles, and class commands.</summary>
public static class ClassroomEndpoints
{
    public static IEndpointRouteBuilder MapClassroomEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/classes", ListAsync).WithTags("Classroom").RequireStaff(Permission.UseClassroom)
            .WithDescription("The classes the signed-in staff member may open: a teacher's own, or those of an administrator's scope.");
        var group = app.MapGroup("/api/groups/{id:guid}").WithTags("Classroom");
        group.MapGet("/classroom", GetAsync).RequireStaff(ScopedResource.Group, Permission.UseClassroom)
            .WithDescription("The class's tiles: each student device, online, locked and focus; what each student is doing only while the class is in session.");
        group.MapPost("/commands", CommandAsync).RequireStaff(ScopedResource.Group, Permission.UseClassroom).ProducesValidationProblem()
            .WithDescription("Sends lock, unlock, message, openUrl, closeTab, focus or endFocus to the class or some of its devices; only during class.");
        return app;
    }

    private static async Task<Ok<List<ClassSummary>>> ListAsync(StaffScope scope, Classroom classroom, CancellationToken cancellationToken) =>
        TypedResults.Ok(await classroom.ClassesAsync(scope, cancellationToken));

    private static async Task<Ok<ClassroomDto>> GetAsync(Guid id, StaffScope scope, Classroom classroom, CancellationToken cancellationToken) =>
        TypedResults.Ok(await classroom.ViewAsync(scope, id, cancellationToken));

    private static async Task<Accepted<CommandDto>> CommandAsync(Guid id, ClassCommandRequest request, StaffScope scope, Classroom classroom, CancellationToken cancellationToken)
    {
        var issued = await classroom.CommandAsync(scope, id, request.Kind ?? "", request.Arguments, request.DeviceIds, cancellationToken);
        return TypedResults.Accepted($"/api/commands/{issued.Command.Id}", CommandLog.Issued(scope, issued));
    }
}
