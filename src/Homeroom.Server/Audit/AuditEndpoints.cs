using Homeroom.Server.Accounts;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Audit;

/// <summary>The audit log over HTTP: a thin call into <see cref="AuditQueries"/>.</summary>
public static class AuditEndpoints
{
    public static IEndpointRouteBuilder MapAuditEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/audit").WithTags("Audit");
        group.MapGet("/", ListAsync).RequireStaff(Permission.ReadAudit)
            .WithDescription("Audit entries of the caller's scope (a school's staff see their school's), newest first. action and actor match exactly.");
        return app;
    }

    private static async Task<Results<Ok<PagedResult<AuditEntryDto>>, ValidationProblem>> ListAsync(
        StaffScope scope, AuditQueries audit, [AsParameters] PageQuery paging, string? action, string? actor, string? targetId, CancellationToken cancellationToken)
    {
        var filter = new AuditFilter(Action: action, Actor: actor, TargetId: targetId);
        if ((paging.Validate() ?? filter.Validate()) is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return TypedResults.Ok(await audit.ListAsync(scope, filter, paging, cancellationToken));
    }
}
