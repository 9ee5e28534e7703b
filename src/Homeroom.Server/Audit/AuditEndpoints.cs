using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Audit;

public sealed record AuditEntryDto(long Id, DateTime At, string ActorName, string Action, string? TargetType, string? TargetId, string? Details, string? RemoteAddress);

public static class AuditEndpoints
{
    public static IEndpointRouteBuilder MapAuditEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/audit").WithTags("Audit");
        group.MapGet("/", ListAsync);
        return app;
    }

    private static async Task<Results<Ok<PagedResult<AuditEntryDto>>, ValidationProblem>> ListAsync(
        HomeroomDbContext db, [AsParameters] PageQuery paging, string? action, string? actor, CancellationToken cancellationToken)
    {
        if (paging.Validate() is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var query = db.AuditLog.AsNoTracking();
        if (!string.IsNullOrEmpty(action))
        {
            query = query.Where(e => e.Action == action);
        }

        if (!string.IsNullOrEmpty(actor))
        {
            query = query.Where(e => e.ActorName == actor);
        }

        var total = await query.CountAsync(cancellationToken);
        var items = await query.OrderByDescending(e => e.Id).Skip(paging.Skip).Take(paging.Take)
            .Select(e => new AuditEntryDto(e.Id, e.At, e.ActorName, e.Action, e.TargetType, e.TargetId, e.Details, e.RemoteAddress))
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new PagedResult<AuditEntryDto>(items, total));
    }
}
