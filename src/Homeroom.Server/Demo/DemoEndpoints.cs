using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Demo;

public static class DemoEndpoints
{
    public static IEndpointRouteBuilder MapDemoEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapDelete("/api/demo", RemoveAsync).WithTags("Demo").RequireStaff(Permission.ManageDemo);
        return app;
    }

    /// <summary>Stops the simulated fleet and deletes every row the demo created; the district's own data stays.</summary>
    private static async Task<Ok<DemoRemovedDto>> RemoveAsync(
        DemoFleetService fleet, DemoDistrict district, HomeroomDbContext db, AuditTrail audit, HttpContext context, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        await fleet.StopFleetAsync();
        var rows = await district.RemoveAsync(cancellationToken);
        await fleet.ReloadRulesAsync(cancellationToken);
        var actor = StaffUser.From(context.User).Username;
        audit.Record(db, "demo.remove", "demo", null, $"{rows} rows removed");
        await db.SaveChangesAsync(cancellationToken);
        DemoLog.Removed(loggers.CreateLogger(typeof(DemoEndpoints)), rows, actor);
        return TypedResults.Ok(new DemoRemovedDto(rows));
    }
}

public sealed record DemoRemovedDto(int RowsRemoved);
