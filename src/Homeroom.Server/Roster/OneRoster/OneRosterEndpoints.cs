using Homeroom.Server.Accounts;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Roster.OneRoster;

/// <summary>
/// OneRoster over HTTP: upload a CSV zip for a preview, apply it, read the history; the REST connection,
/// its test and "sync now". District administrators only.
/// </summary>
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

        var connection = app.MapGroup("/api/roster/oneroster").WithTags("OneRoster").WithMetadata(new RequestSizeLimitAttribute(MaxConnectionBodyBytes));
        connection.MapGet("/connection", GetConnectionAsync).RequireStaff(Permission.ManageSchools)
            .WithDescription("The district's OneRoster REST connection; its secret only as \"set\" or \"not set\".");
        connection.MapPut("/connection", SaveConnectionAsync).RequireStaff(Permission.ManageSchools)
            .WithDescription("Saves the OneRoster REST connection (https only, except to this machine). A null clientSecret keeps the stored one; scheduleHours 0 or null turns the schedule off.");
        connection.MapPost("/connection/test", TestConnectionAsync).RequireStaff(Permission.ManageSchools).ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Reads the first page of orgs with the saved connection and reports whether it worked.");
        connection.MapPost("/sync", SyncAsync).RequireStaff(Permission.ManageSchools).ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Syncs now: reads the whole roster from the service and answers the run (failed, invalid, previewed, or applied when the connection applies automatically and the archive brake allows).");
        return app;
    }

    /// <summary>The largest connection request body; a connection is a few short strings.</summary>
    public const int MaxConnectionBodyBytes = 16 * 1024;

    private static async Task<Ok<OneRosterConnectionDto>> GetConnectionAsync(StaffScope scope, OneRosterSync sync, CancellationToken cancellationToken) =>
        TypedResults.Ok(await sync.GetAsync(scope, cancellationToken));

    private static async Task<Results<Ok<OneRosterConnectionDto>, ValidationProblem>> SaveConnectionAsync(
        OneRosterConnectionRequest request, StaffScope scope, OneRosterSync sync, CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Ok(await sync.SaveAsync(scope, request, cancellationToken));
        }
        catch (RequestValidationException invalid)
        {
            return TypedResults.ValidationProblem(invalid.Errors);
        }
    }

    private static async Task<Ok<OneRosterConnectionTest>> TestConnectionAsync(StaffScope scope, OneRosterSync sync, CancellationToken cancellationToken) =>
        TypedResults.Ok(await sync.TestAsync(scope, cancellationToken));

    private static async Task<Ok<ImportDto>> SyncAsync(StaffScope scope, OneRosterSync sync, CancellationToken cancellationToken) =>
        TypedResults.Ok(await sync.SyncAsync(scope, scope.Username, cancellationToken));

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
public sealed class OneRosterRetention(OneRosterImports imports, JobLeases leases, TimeProvider time, ILogger<OneRosterRetention> logger) : PeriodicTask(TimeSpan.FromHours(1), leases, time, logger)
{
    protected override async Task RunOnceAsync(CancellationToken cancellationToken) => await imports.PurgeAsync(cancellationToken);
}

/// <summary>Registers OneRoster CSV imports and the REST sync.</summary>
public static class OneRosterServiceCollectionExtensions
{
    public static IServiceCollection AddOneRoster(this IServiceCollection services)
    {
        services.AddOptions<OneRosterOptions>().BindConfiguration(OneRosterOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<OneRosterOptions>, OneRosterOptionsValidator>();
        services.AddSingleton<OneRosterImports>();
        services.AddHostedService<OneRosterRetention>();

        // Redirects are not followed: a signed or bearer request goes only where the connection says.
        services.AddHttpClient(OneRosterRestClient.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        services.AddSingleton<OneRosterRestClient>();
        services.AddSingleton<OneRosterSync>();
        services.AddHostedService<OneRosterSyncSchedule>();
        return services;
    }
}
