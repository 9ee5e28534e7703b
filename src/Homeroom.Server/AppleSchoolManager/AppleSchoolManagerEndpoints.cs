using Homeroom.Server.Accounts;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.AppleSchoolManager;

/// <summary>
/// <c>/api/apple/school-manager</c>: status, this server's public key, the server token (automated
/// device enrollment) and content token (Apps and Books) uploads, a sync now, and the devices Apple
/// assigned. District administrators only (<see cref="Permission.ManageApple"/>).
/// </summary>
public static class AppleSchoolManagerEndpoints
{
    public static IEndpointRouteBuilder MapAppleSchoolManagerEndpoints(this IEndpointRouteBuilder app)
    {
        // The district's identity towards Apple: district administrators only.
        var group = app.MapGroup("/api/apple/school-manager").WithTags("Apple");
        group.MapGet("/", StatusAsync).RequireStaff(Permission.ManageApple)
            .WithDescription("Which tokens are uploaded and until when (never their content), the last sync and its error, and device counts.");
        group.MapGet("/public-key", PublicKey).RequireStaff(Permission.ManageApple)
            .Produces<string>(StatusCodes.Status200OK, "application/x-pem-file")
            .WithDescription("This server's public key (PEM) to upload to the MDM server in Apple School Manager; Apple encrypts the server token to it.");
        group.MapPut("/server-token", UploadServerTokenAsync).RequireStaff(Permission.ManageApple)
            .Accepts<Stream>("application/pkcs7-mime", "application/octet-stream", "text/plain")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithDescription("Uploads the server token (.p7m) from Apple School Manager, or its decrypted message, as the raw body; stored encrypted, never returned.");
        group.MapPut("/content-token", UploadContentTokenAsync).RequireStaff(Permission.ManageApple)
            .Accepts<Stream>("application/octet-stream", "text/plain")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithDescription("Uploads the Apps and Books content token (.vpptoken) as the raw body; stored encrypted, never returned.");
        group.MapPost("/sync", SyncAsync).RequireStaff(Permission.ManageApple)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Syncs devices from Apple (and assigns the enrollment profile) and licence counts now, as the schedule does.");
        group.MapGet("/devices", DevicesAsync).RequireStaff(Permission.ManageApple)
            .WithDescription("The devices Apple School Manager assigned to this server (at most 1000, by serial number), with their profile status.");
        return app;
    }

    private static async Task<Ok<AsmStatusDto>> StatusAsync(StaffScope scope, AppleSchoolManagerService service, CancellationToken cancellationToken) =>
        TypedResults.Ok(await service.StatusAsync(scope, cancellationToken));

    private static IResult PublicKey(StaffScope scope, AppleSchoolManagerService service) =>
        Results.Text(service.PublicKey(scope), "application/x-pem-file");

    private static async Task<Results<Ok<AsmStatusDto>, ProblemHttpResult>> UploadServerTokenAsync(
        StaffScope scope, HttpContext context, AppleSchoolManagerService service, IOptions<AppleSchoolManagerOptions> options, CancellationToken cancellationToken) =>
        await ReadAsync(context, options.Value.MaxTokenBytes, cancellationToken) is { } upload
            ? TypedResults.Ok(await service.UploadServerTokenAsync(scope, upload, cancellationToken))
            : TooLargeOrEmpty(context, options.Value.MaxTokenBytes);

    private static async Task<Results<Ok<AsmStatusDto>, ProblemHttpResult>> UploadContentTokenAsync(
        StaffScope scope, HttpContext context, AppleSchoolManagerService service, IOptions<AppleSchoolManagerOptions> options, CancellationToken cancellationToken) =>
        await ReadAsync(context, options.Value.MaxTokenBytes, cancellationToken) is { } upload
            ? TypedResults.Ok(await service.UploadContentTokenAsync(scope, upload, cancellationToken))
            : TooLargeOrEmpty(context, options.Value.MaxTokenBytes);

    private static async Task<Ok<AsmSyncDto>> SyncAsync(StaffScope scope, AppleSchoolManagerService service, CancellationToken cancellationToken) =>
        TypedResults.Ok(await service.SyncNowAsync(scope, cancellationToken));

    private static async Task<Ok<List<AdeDeviceDto>>> DevicesAsync(StaffScope scope, string? search, AppleSchoolManagerService service, CancellationToken cancellationToken) =>
        TypedResults.Ok(await service.DevicesAsync(scope, search is { Length: > 64 } ? search[..64] : search, cancellationToken));

    /// <summary>The body when it is within the limit and not empty; null otherwise (the reason is left in the context's items).</summary>
    private static async Task<byte[]?> ReadAsync(HttpContext context, int limit, CancellationToken cancellationToken)
    {

        var upload = await RequestBody.ReadLimitedAsync(context.Request, limit, cancellationToken);
        context.Items[nameof(TooLargeOrEmpty)] = upload is null;
        return upload is { Length: > 0 } ? upload : null;
    }

    private static ProblemHttpResult TooLargeOrEmpty(HttpContext context, int limit) =>
        context.Items[nameof(TooLargeOrEmpty)] is true
            ? TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Too large", detail: $"A token file is at most {limit / 1024} KB.")
            : TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad request", detail: "Upload the token file from Apple School Manager as the body.");
}
