using Homeroom.Server.Accounts;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Roster.OneRoster;

/// <summary>OneRoster CSV imports over HTTP: upload a zip for a preview, apply it, read the history. District administrators only.</summary>
public static class OneRosterEndpoints
{
    public const int MaxListed = 200;

    public static IEndpointRouteBuilder MapOneRosterEndpoints(this IEndpointRouteBuilder app)
    {
        var imports = app.MapGroup("/api/roster/oneroster/imports").WithTags("OneRoster");
        imports.MapPost("/", UploadAsync).RequireStaff(Permission.ManageSchools).Accepts<Stream>("application/zip")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithDescription("Uploads a OneRoster 1.1 or 1.2 CSV set as a zip (the raw body; ?fileName= names it) and answers its preview. Nothing is changed until it is applied.");
        imports.MapGet("/", ListAsync).RequireStaff(Permission.ManageSchools).ProducesValidationProblem();
        imports.MapGet("/{id:guid}", GetAsync).RequireStaff(Permission.ManageSchools);
        imports.MapPost("/{id:guid}/apply", ApplyAsync).RequireStaff(Permission.ManageSchools).ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Applies a preview in one transaction, if the changes are still exactly those previewed (otherwise 409, with the preview computed again).");
        return app;
    }

    private static async Task<Results<Created<ImportDto>, ValidationProblem, ProblemHttpResult>> UploadAsync(
        string? fileName, HttpContext context, StaffScope scope, OneRosterImports imports, CancellationToken cancellationToken)
    {
        if (fileName is { Length: > OneRosterImports.MaxFileNameLength })
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["fileName"] = [$"At most {OneRosterImports.MaxFileNameLength} characters."] });
        }

        var limit = imports.Options.MaxUploadBytes;
        if (await RequestBody.ReadLimitedAsync(context.Request, limit, cancellationToken) is not { } zip)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Too large", detail: $"An upload may be at most {limit:N0} bytes.");
        }

        if (zip.Length == 0)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["The body must be a zip of OneRoster CSV files."] });
        }

        try
        {
            var import = await imports.PreviewAsync(scope, fileName, zip, cancellationToken);
            return TypedResults.Created($"/api/roster/oneroster/imports/{import.Id}", import);
        }
        catch (ImportRefusedException refused)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Upload refused", detail: refused.Message,
                extensions: new Dictionary<string, object?> { ["importId"] = refused.Import.Id });
        }
    }

    private static async Task<Results<Ok<List<ImportDto>>, ValidationProblem>> ListAsync(int? take, StaffScope scope, OneRosterImports imports, CancellationToken cancellationToken) =>
        take is < 1 or > MaxListed
            ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["take"] = [$"1 to {MaxListed}."] })
            : TypedResults.Ok(await imports.ListAsync(scope, take ?? 50, cancellationToken));

    private static async Task<Results<Ok<ImportDto>, NotFound>> GetAsync(Guid id, StaffScope scope, OneRosterImports imports, CancellationToken cancellationToken) =>
        await imports.GetAsync(scope, id, cancellationToken) is { } import ? TypedResults.Ok(import) : TypedResults.NotFound();

    private static async Task<Results<Ok<ImportDto>, NotFound, ProblemHttpResult>> ApplyAsync(Guid id, StaffScope scope, OneRosterImports imports, CancellationToken cancellationToken)
    {
        try
        {
            return await imports.ApplyAsync(scope, id, cancellationToken) is { } import ? TypedResults.Ok(import) : TypedResults.NotFound();
        }
        catch (ImportNotAppliedException refused)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not applied", detail: refused.Message,
                extensions: new Dictionary<string, object?> { ["import"] = refused.Import });
        }
    }
}

/// <summary>Expires OneRoster previews (deleting their packages) and old import history, hourly.</summary>
public sealed class OneRosterRetention(OneRosterImports imports, TimeProvider time, ILogger<OneRosterRetention> logger) : PeriodicTask(TimeSpan.FromHours(1), time, logger)
{
    protected override async Task RunOnceAsync(CancellationToken cancellationToken) => await imports.PurgeAsync(cancellationToken);
}

/// <summary>Registers OneRoster CSV imports.</summary>
public static class OneRosterServiceCollectionExtensions
{
    public static IServiceCollection AddOneRoster(this IServiceCollection services)
    {
        services.AddOptions<OneRosterOptions>().BindConfiguration(OneRosterOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<OneRosterOptions>, OneRosterOptionsValidator>();
        services.AddSingleton<OneRosterImports>();
        services.AddHostedService<OneRosterRetention>();
        return services;
    }
}
