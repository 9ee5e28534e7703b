using Homeroom.Server.Accounts;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Activity;

/// <summary>Activity over HTTP: a thin call into <see cref="ActivityQueries"/>.</summary>
public static class ActivityEndpoints
{
    public static IEndpointRouteBuilder MapActivityEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/activity").WithTags("Activity").MapGet("/", ListAsync)
            .RequireStaffOn(ScopedResource.Device, "deviceId", Permission.ReadActivity);
        return app;
    }

    private static async Task<Results<Ok<PagedResult<ActivityEventDto>>, NotFound, ValidationProblem>> ListAsync(
        StaffScope scope, ActivityQueries activity, [AsParameters] PageQuery paging, Guid? deviceId, string? kind, CancellationToken cancellationToken)
    {
        var errors = paging.Validate() ?? [];
        if (deviceId is null)
        {
            errors["deviceId"] = ["Required."];
        }

        if (kind is { Length: > ActivityQueries.MaxKindLength })
        {
            errors["kind"] = ["Too long."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await activity.ListAsync(scope, deviceId!.Value, kind, paging, cancellationToken) is { } page ? TypedResults.Ok(page) : TypedResults.NotFound();
    }
}
