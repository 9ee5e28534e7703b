using Homeroom.Contracts.Agents;
using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Classroom;

public sealed record ScreenDto(Guid DeviceId, DateTimeOffset? CapturedAt);

/// <summary>
/// A teacher watching their class's screens: only their own classes, only while the class is in
/// session (a scheduled meeting or an ad-hoc session), and every start and stop is audited.
/// </summary>
public static class ScreenViewEndpoints
{
    public static IEndpointRouteBuilder MapScreenViewEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/groups/{id:guid}").WithTags("Classroom");
        group.MapPost("/screen-view", StartAsync).RequireStaff(ScopedResource.Group, Permission.UseClassroom)
            .WithDescription("Starts watching the class's screens until the session ends.");
        group.MapDelete("/screen-view", StopAsync).RequireStaff(ScopedResource.Group, Permission.UseClassroom);
        group.MapGet("/screens", ListAsync).RequireStaff(ScopedResource.Group, Permission.UseClassroom)
            .WithDescription("The class's devices being watched, with when each was last captured.");
        group.MapGet("/screens/{deviceId:guid}", ImageAsync).RequireStaff(ScopedResource.Group, Permission.UseClassroom)
            .WithDescription("A device's latest screen image, as the device sent it; 204 when there is none (not watched, or nothing sent yet).");
        return app;
    }

    private static async Task<Ok<List<ScreenDto>>> StartAsync(Guid id, StaffScope scope, Classroom classroom, CancellationToken cancellationToken)
    {
        var devices = await classroom.StartViewingAsync(scope, id, cancellationToken);
        return TypedResults.Ok(devices.Select(d => new ScreenDto(d, null)).ToList());
    }

    private static async Task<NoContent> StopAsync(Guid id, StaffScope scope, Classroom classroom, CancellationToken cancellationToken)
    {
        await classroom.StopViewingAsync(scope, id, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<List<ScreenDto>>> ListAsync(Guid id, StaffScope scope, Classroom classroom, CancellationToken cancellationToken) =>
        TypedResults.Ok((await classroom.ScreensAsync(scope, id, cancellationToken)).Select(s => new ScreenDto(s.DeviceId, s.CapturedAt)).ToList());

    private static async Task<Results<FileContentHttpResult, NoContent>> ImageAsync(
        Guid id, Guid deviceId, HttpContext context, StaffScope scope, Classroom classroom, CancellationToken cancellationToken)
    {
        if (await classroom.ScreenAsync(scope, id, deviceId, cancellationToken) is not { } thumbnail)
        {
            // No image now (not watched, or none sent yet): nothing to show, which is not an error.
            return TypedResults.NoContent();
        }

        context.Response.Headers.CacheControl = "no-store";
        var type = thumbnail.Format switch { ThumbnailFormat.Jpeg => "image/jpeg", ThumbnailFormat.Webp => "image/webp", _ => "image/png" };
        return TypedResults.File(thumbnail.Image.ToArray(), type);
    }
}
