using Homeroom.Contracts.Agents;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

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
        group.MapGet("/screens/{deviceId:guid}", ImageAsync).WithDescription("A device's latest screen image, as the device sent it.");
        return app;
    }

    private static async Task<Results<Ok<List<ScreenDto>>, ProblemHttpResult, NotFound>> StartAsync(
        Guid id, HttpContext context, HomeroomDbContext db, ScreenViews views, AuditTrail audit, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!await ClassSessionEndpoints.MayUseAsync(context, db, id, cancellationToken))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not your class");
        }

        var state = await ClassSessionEndpoints.StateAsync(db, id, time.GetUtcNow(), cancellationToken);
        if (state is null)
        {
            return TypedResults.NotFound();
        }

        if (!state.InSession || state.Until is not { } until)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "The class is not in session", detail: $"Screens can be viewed only during class: {state.Reason}.");
        }

        var devices = await DevicesOfAsync(db, id, cancellationToken);
        var viewer = await db.StaffAccounts.Where(a => a.Id == StaffUser.From(context.User).Id).Select(a => a.DisplayName).FirstAsync(cancellationToken);
        await views.StartAsync(id, viewer, until, devices);
        audit.Record(db, "class.screen-view.start", "group", id.ToString(), $"{devices.Count} devices until {until:u}");
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(devices.Select(d => new ScreenDto(d, null)).ToList());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> StopAsync(Guid id, HttpContext context, HomeroomDbContext db, ScreenViews views, AuditTrail audit, CancellationToken cancellationToken)
    {
        if (!await ClassSessionEndpoints.MayUseAsync(context, db, id, cancellationToken))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not your class");
        }

        await views.StopAsync(id);
        audit.Record(db, "class.screen-view.stop", "group", id.ToString());
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<List<ScreenDto>>, ProblemHttpResult>> ListAsync(Guid id, HttpContext context, HomeroomDbContext db, ScreenViews views, CancellationToken cancellationToken)
    {
        if (!await ClassSessionEndpoints.MayUseAsync(context, db, id, cancellationToken))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not your class");
        }

        var devices = await DevicesOfAsync(db, id, cancellationToken);
        return TypedResults.Ok(devices.Where(d => views.IsViewing(id, d)).Select(d => new ScreenDto(d, views.Latest(id, d)?.CapturedAt)).ToList());
    }

    private static async Task<Results<FileContentHttpResult, NotFound, ProblemHttpResult>> ImageAsync(
        Guid id, Guid deviceId, HttpContext context, HomeroomDbContext db, ScreenViews views, CancellationToken cancellationToken)
    {
        if (!await ClassSessionEndpoints.MayUseAsync(context, db, id, cancellationToken))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not your class");
        }

        if (views.Latest(id, deviceId) is not { } thumbnail)
        {
            return TypedResults.NotFound();
        }

        context.Response.Headers.CacheControl = "no-store";
        var type = thumbnail.Format switch { ThumbnailFormat.Jpeg => "image/jpeg", ThumbnailFormat.Webp => "image/webp", _ => "image/png" };
        return TypedResults.File(thumbnail.Image.ToArray(), type);
    }

    // The class's devices: assigned to it directly, or to its students.
    private static async Task<List<Guid>> DevicesOfAsync(HomeroomDbContext db, Guid groupId, CancellationToken cancellationToken) =>
        await db.Devices.Where(d => d.RevokedAt == null && d.State != DeviceState.Retired
                && (db.GroupDevices.Any(m => m.GroupId == groupId && m.DeviceId == d.Id)
                    || (d.AssignedPersonId != null && db.GroupMembers.Any(m => m.GroupId == groupId && m.PersonId == d.AssignedPersonId))))
            .Select(d => d.Id)
            .ToListAsync(cancellationToken);
}
