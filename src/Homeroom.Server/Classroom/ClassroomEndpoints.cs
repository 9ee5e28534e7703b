using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Agents;
using Homeroom.Server.Commands;
using Homeroom.Server.Devices;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Classroom;

public sealed record ClassTileDto(
    Guid DeviceId, string DeviceName, DevicePlatform Platform, Guid? StudentId, string StudentName,
    bool Online, bool Locked, string? FocusSites, string? CurrentUrl, string? CurrentTitle, DateTimeOffset? ScreenCapturedAt);

public sealed record ClassroomDto(Guid GroupId, bool InSession, DateTimeOffset? Until, string Reason, bool Viewing, IReadOnlyList<ClassTileDto> Tiles);

public sealed record ClassCommandRequest(string? Kind, Dictionary<string, string>? Arguments, IReadOnlyList<Guid>? DeviceIds);

/// <summary>The teacher's classroom over HTTP: the classes one may open, a class's live tiles, and class commands.</summary>
public static class ClassroomEndpoints
{
    public static IEndpointRouteBuilder MapClassroomEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/classes", ListAsync).WithTags("Classroom").WithDescription("The classes the signed-in staff member may open: a teacher's own, or those of an administrator's scope.");
        var group = app.MapGroup("/api/groups/{id:guid}").WithTags("Classroom");
        group.MapGet("/classroom", GetAsync).WithDescription("The class's tiles: each device with its student, online, locked, focus and current page, and the session state.");
        group.MapPost("/commands", CommandAsync).WithDescription("Sends lock, unlock, message, openUrl, closeTab, focus or endFocus to the class or some of its devices; only during class.");
        return app;
    }

    private static async Task<Ok<List<ClassSummary>>> ListAsync(HttpContext context, Classroom classroom, CancellationToken cancellationToken) =>
        TypedResults.Ok(await classroom.ClassesAsync(StaffScope.Of(context.User), cancellationToken));

    private static async Task<Ok<ClassroomDto>> GetAsync(
        Guid id, HttpContext context, Classroom classroom, ConnectionRegistry registry, DeviceLiveState live, ScreenViews views, CancellationToken cancellationToken)
    {
        var scope = StaffScope.Of(context.User);
        var state = await classroom.StateAsync(scope, id, cancellationToken);
        var devices = await classroom.DevicesAsync(scope, id, cancellationToken);
        var tiles = devices.Select(d => Tile(d, registry, live, views, id)).ToList();
        return TypedResults.Ok(new ClassroomDto(id, state.InSession, state.Until, state.Reason, devices.Any(d => views.IsViewing(id, d.DeviceId)), tiles));
    }

    public static ClassTileDto Tile(ClassDevice device, ConnectionRegistry registry, DeviceLiveState live, ScreenViews views, Guid groupId)
    {
        var now = live.Get(device.DeviceId);
        return new ClassTileDto(device.DeviceId, device.DeviceName, device.Platform, device.StudentId, device.StudentName,
            registry.IsOnline(device.DeviceId), now.Locked, now.FocusSites, now.CurrentUrl, now.CurrentTitle, views.Latest(groupId, device.DeviceId)?.CapturedAt);
    }

    private static async Task<Accepted<CommandDto>> CommandAsync(Guid id, ClassCommandRequest request, HttpContext context, Classroom classroom, CancellationToken cancellationToken)
    {
        var issued = await classroom.CommandAsync(StaffScope.Of(context.User), StaffUser.From(context.User), id, request.Kind ?? "", request.Arguments, request.DeviceIds, cancellationToken);
        return TypedResults.Accepted($"/api/commands/{issued.Command.Id}", CommandEndpoints.ToDto(issued.Command, new DeliveryCounts(issued.DeviceIds.Count, 0, 0, 0, 0, 0)));
    }
}
