using Homeroom.Contracts.Agents;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
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
        group.MapPost("/screen-view", StartAsync).WithDescription("Starts watching the class's screens until the session ends.");
        group.MapDelete("/screen-view", StopAsync);
        group.MapGet("/screens", ListAsync).WithDescription("The class's devices being watched, with when each was last captured.");
        group.MapGet("/screens/{deviceId:guid}", ImageAsync).WithDescription("A device's latest screen image, as the device sent it; 204 when there is none (not watched, or nothing sent yet).");
        return app;
    }

    private static async Task<Ok<List<ScreenDto>>> StartAsync(Guid id, HttpContext context, Classroom classroom, CancellationToken cancellationToken)
    {
        var devices = await classroom.StartViewingAsync(StaffScope.Of(context.User), StaffUser.DisplayNameOf(context.User), id, cancellationToken);
        return TypedResults.Ok(devices.Select(d => new ScreenDto(d, null)).ToList());
    }

    private static async Task<NoContent> StopAsync(Guid id, HttpContext context, Classroom classroom, CancellationToken cancellationToken)
    {
        await classroom.StopViewingAsync(StaffScope.Of(context.User), id, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<List<ScreenDto>>, ProblemHttpResult>> ListAsync(Guid id, HttpContext context, HomeroomDbContext db, ScreenViews views, CancellationToken cancellationToken)
    {
        if (!await ClassSessionEndpoints.MayUseAsync(context, db, id, cancellationToken))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not your class");
        }

        var devices = (await Classroom.DevicesAsync(db, id, cancellationToken)).Select(d => d.DeviceId);
        return TypedResults.Ok(devices.Where(d => views.IsViewing(id, d)).Select(d => new ScreenDto(d, views.Latest(id, d)?.CapturedAt)).ToList());
    }

    private static async Task<Results<FileContentHttpResult, NoContent, ProblemHttpResult>> ImageAsync(
        Guid id, Guid deviceId, HttpContext context, HomeroomDbContext db, ScreenViews views, CancellationToken cancellationToken)
    {
        if (!await ClassSessionEndpoints.MayUseAsync(context, db, id, cancellationToken))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not your class");
        }

        if (views.Latest(id, deviceId) is not { } thumbnail)
        {
            // No image now (not watched, or none sent yet): nothing to show, which is not an error.
            return TypedResults.NoContent();
        }

        context.Response.Headers.CacheControl = "no-store";
        var type = thumbnail.Format switch { ThumbnailFormat.Jpeg => "image/jpeg", ThumbnailFormat.Webp => "image/webp", _ => "image/png" };
        return TypedResults.File(thumbnail.Image.ToArray(), type);
    }
}
