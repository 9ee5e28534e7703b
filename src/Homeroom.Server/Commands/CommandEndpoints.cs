using Homeroom.Rules.Commands;
using Homeroom.Server.Accounts;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Commands;

public sealed record IssueCommandRequest(
    string? Kind,
    Dictionary<string, string>? Arguments,
    List<Guid>? DeviceIds,
    Guid? GroupId,
    Guid? SchoolId,
    int? TtlSeconds);

public sealed record DeliveryCounts(int Queued, int Sent, int Acknowledged, int Succeeded, int Failed, int Expired);

public sealed record CommandDto(
    Guid Id,
    string Kind,
    IReadOnlyDictionary<string, string>? Arguments,
    string TargetType,
    Guid? TargetId,
    int TargetCount,
    string IssuedBy,
    DateTime IssuedAt,
    DateTime ExpiresAt,
    DeliveryCounts? Counts);

public sealed record DeliveryDto(Guid CommandId, Guid DeviceId, string? DeviceName, DeliveryStatus Status, DateTime UpdatedAt, string? Error, string? Result);

/// <summary>Commands over HTTP: thin calls into <see cref="IssueCommand"/> and <see cref="CommandLog"/>.</summary>
public static class CommandEndpoints
{
    public static IEndpointRouteBuilder MapCommandEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/commands").WithTags("Commands");
        group.MapPost("/", IssueAsync).RequireStaff(Permission.IssueCommands)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/", ListAsync).RequireStaff(Permission.ReadCommands);
        group.MapGet("/{id:guid}", GetAsync).RequireStaff(ScopedResource.Command, Permission.ReadCommands);
        group.MapGet("/{id:guid}/deliveries", ListDeliveriesAsync).RequireStaff(ScopedResource.Command, Permission.ReadCommands);
        return app;
    }

    private static async Task<Accepted<CommandDto>> IssueAsync(IssueCommandRequest request, StaffScope scope, IssueCommand issue, CancellationToken cancellationToken)
    {
        var issued = await issue.ExecuteAsync(
            scope,
            request.Kind ?? string.Empty,
            request.Arguments,
            new CommandTarget(request.DeviceIds, request.GroupId, request.SchoolId),
            request.TtlSeconds is { } ttl ? TimeSpan.FromSeconds(ttl) : null,
            cancellationToken);
        return TypedResults.Accepted($"/api/commands/{issued.Command.Id}", CommandLog.Issued(scope, issued));
    }

    private static async Task<Results<Ok<PagedResult<CommandDto>>, ValidationProblem>> ListAsync(
        StaffScope scope, CommandLog commands, [AsParameters] PageQuery paging, CancellationToken cancellationToken) =>
        paging.Validate() is { } errors ? TypedResults.ValidationProblem(errors) : TypedResults.Ok(await commands.ListAsync(scope, paging, cancellationToken));

    private static async Task<Results<Ok<CommandDto>, NotFound>> GetAsync(Guid id, StaffScope scope, CommandLog commands, CancellationToken cancellationToken) =>
        await commands.GetAsync(scope, id, cancellationToken) is { } command ? TypedResults.Ok(command) : TypedResults.NotFound();

    private static async Task<Results<Ok<PagedResult<DeliveryDto>>, NotFound, ValidationProblem>> ListDeliveriesAsync(
        Guid id, StaffScope scope, CommandLog commands, [AsParameters] PageQuery paging, string? status, CancellationToken cancellationToken)
    {
        var errors = paging.Validate() ?? [];
        if (!QueryEnum.TryParse<DeliveryStatus>(status, "status", errors, out var statusFilter) || errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await commands.DeliveriesAsync(scope, id, statusFilter, paging, cancellationToken) is { } page ? TypedResults.Ok(page) : TypedResults.NotFound();
    }
}
