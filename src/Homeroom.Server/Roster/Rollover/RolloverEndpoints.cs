using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Roster.Rollover;

/// <summary>The school year rollover over HTTP: a dry run or an apply, for the district or one school. District administrators only.</summary>
public static class RolloverEndpoints
{
    public static IEndpointRouteBuilder MapRolloverEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/roster/rollover", RolloverAsync).WithTags("Roster").RequireStaff(Permission.ManageSchools)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Promotes every active student a grade, graduates (archives) grade 12, unassigns graduates' devices and archives every active class, "
                + "for the district or one school (schoolId). dryRun (required) true answers what would change and changes nothing; false applies it in one transaction. "
                + "A second apply within 24 hours is refused (409) unless force is true.");
        return app;
    }

    private static async Task<Results<Ok<RolloverSummary>, ValidationProblem>> RolloverAsync(
        RolloverRequest? request, StaffScope scope, SchoolYearRollover rollover, CancellationToken cancellationToken)
    {
        if (request?.DryRun is not { } dryRun)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["dryRun"] = ["Required: true for a dry run, false to apply."] });
        }

        if (request.SchoolId == Guid.Empty)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["schoolId"] = ["No such school."] });
        }

        return TypedResults.Ok(dryRun
            ? await rollover.DryRunAsync(scope, request.SchoolId, cancellationToken)
            : await rollover.ApplyAsync(scope, request.SchoolId, request.Force == true, cancellationToken));
    }
}

/// <summary>Registers the school year rollover.</summary>
public static class RolloverServiceCollectionExtensions
{
    public static IServiceCollection AddRollover(this IServiceCollection services) => services.AddSingleton<SchoolYearRollover>();
}
