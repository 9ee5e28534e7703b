using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Activity;

public sealed record ActivityEventDto(long Seq, Guid DeviceId, DateTime OccurredAt, DateTime ReceivedAt, string Kind, string? Url, string? Title, string? AppId, int? DurationSeconds, string? Detail);

public static class ActivityEndpoints
{
    public static IEndpointRouteBuilder MapActivityEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/activity").WithTags("Activity").MapGet("/", ListAsync);
        return app;
    }

    /// <summary>A device's activity, newest first. A device is required: activity is personal data and is read one student at a time.</summary>
    private static async Task<Results<Ok<PagedResult<ActivityEventDto>>, ValidationProblem>> ListAsync(
        HomeroomDbContext db, [AsParameters] PageQuery paging, Guid? deviceId, string? kind, CancellationToken cancellationToken)
    {
        var errors = paging.Validate() ?? [];
        if (deviceId is null)
        {
            errors["deviceId"] = ["Required."];
        }

        if (kind is { Length: > 32 })
        {
            errors["kind"] = ["Too long."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var query = db.ActivityEvents.AsNoTracking().Where(e => e.DeviceId == deviceId);
        if (!string.IsNullOrEmpty(kind))
        {
            query = query.Where(e => e.Kind == kind);
        }

        var total = await query.CountAsync(cancellationToken);
        var items = await query.OrderByDescending(e => e.Seq).Skip(paging.Skip).Take(paging.Take)
            .Select(e => new ActivityEventDto(e.Seq, e.DeviceId, e.OccurredAt, e.ReceivedAt, e.Kind, e.Url, e.Title, e.AppId, e.DurationSeconds, e.Detail))
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new PagedResult<ActivityEventDto>(items, total));
    }
}
