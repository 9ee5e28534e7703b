using Homeroom.Rules.Commands;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

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

public static class CommandEndpoints
{
    public static IEndpointRouteBuilder MapCommandEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/commands").WithTags("Commands");
        group.MapPost("/", IssueAsync);
        group.MapGet("/", ListAsync);
        group.MapGet("/{id:guid}", GetAsync);
        group.MapGet("/{id:guid}/deliveries", ListDeliveriesAsync);
        return app;
    }

    private static async Task<Results<Accepted<CommandDto>, ValidationProblem>> IssueAsync(
        IssueCommandRequest request, IssueCommand issue, HttpContext context, CancellationToken cancellationToken)
    {
        var issued = await issue.ExecuteAsync(
            StaffUser.From(context.User),
            request.Kind ?? string.Empty,
            request.Arguments,
            new CommandTarget(request.DeviceIds, request.GroupId, request.SchoolId),
            request.TtlSeconds is { } ttl ? TimeSpan.FromSeconds(ttl) : null,
            cancellationToken,
            StaffScope.Of(context.User));
        var dto = ToDto(issued.Command, new DeliveryCounts(issued.DeviceIds.Count, 0, 0, 0, 0, 0));
        return TypedResults.Accepted($"/api/commands/{issued.Command.Id}", dto);
    }

    private static async Task<Results<Ok<PagedResult<CommandDto>>, ValidationProblem>> ListAsync(
        HomeroomDbContext db, [AsParameters] PageQuery paging, CancellationToken cancellationToken)
    {
        if (paging.Validate() is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var total = await db.Commands.CountAsync(cancellationToken);
        var commands = await db.Commands.AsNoTracking().OrderByDescending(c => c.IssuedAt).Skip(paging.Skip).Take(paging.Take).ToListAsync(cancellationToken);
        var counts = await CountAsync(db, commands.Select(c => c.Id).ToList(), cancellationToken);
        return TypedResults.Ok(new PagedResult<CommandDto>(commands.Select(c => ToDto(c, counts.GetValueOrDefault(c.Id))).ToList(), total));
    }

    private static async Task<Results<Ok<CommandDto>, NotFound>> GetAsync(Guid id, HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var command = await db.Commands.AsNoTracking().FirstOrDefaultAsync(c => c.Id == id, cancellationToken);
        if (command is null)
        {
            return TypedResults.NotFound();
        }

        var counts = await CountAsync(db, [id], cancellationToken);
        return TypedResults.Ok(ToDto(command, counts.GetValueOrDefault(id)));
    }

    private static async Task<Results<Ok<PagedResult<DeliveryDto>>, NotFound, ValidationProblem>> ListDeliveriesAsync(
        Guid id, HomeroomDbContext db, [AsParameters] PageQuery paging, string? status, CancellationToken cancellationToken)
    {
        var errors = paging.Validate() ?? [];
        if (!QueryEnum.TryParse<DeliveryStatus>(status, "status", errors, out var statusFilter) || errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (!await db.Commands.AnyAsync(c => c.Id == id, cancellationToken))
        {
            return TypedResults.NotFound();
        }

        var query = db.CommandDeliveries.AsNoTracking().Where(d => d.CommandId == id);
        if (statusFilter is { } wanted)
        {
            query = query.Where(d => d.Status == wanted);
        }

        var total = await query.CountAsync(cancellationToken);
        var items = await query
            .OrderBy(d => d.DeviceId)
            .Skip(paging.Skip).Take(paging.Take)
            .Select(d => new DeliveryDto(d.CommandId, d.DeviceId, db.Devices.Where(x => x.Id == d.DeviceId).Select(x => x.Name).FirstOrDefault(), d.Status, d.UpdatedAt, d.Error, d.Result))
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new PagedResult<DeliveryDto>(items, total));
    }

    internal static async Task<Dictionary<Guid, DeliveryCounts>> CountAsync(HomeroomDbContext db, List<Guid> commandIds, CancellationToken cancellationToken)
    {
        var rows = await db.CommandDeliveries.Where(d => commandIds.Contains(d.CommandId))
            .GroupBy(d => new { d.CommandId, d.Status })
            .Select(g => new { g.Key.CommandId, g.Key.Status, Count = g.Count() })
            .ToListAsync(cancellationToken);
        return rows.GroupBy(r => r.CommandId).ToDictionary(g => g.Key, g =>
        {
            int Of(DeliveryStatus s) => g.Where(r => r.Status == s).Sum(r => r.Count);
            return new DeliveryCounts(Of(DeliveryStatus.Queued), Of(DeliveryStatus.Sent), Of(DeliveryStatus.Acknowledged),
                Of(DeliveryStatus.Succeeded), Of(DeliveryStatus.Failed), Of(DeliveryStatus.Expired));
        });
    }

    internal static CommandDto ToDto(Command c, DeliveryCounts? counts) => new(
        c.Id, c.Kind, CommandDispatcher.ToFrame(c).Arguments, c.TargetType, c.TargetId, c.TargetCount, c.IssuedBy, c.IssuedAt, c.ExpiresAt, counts);
}
