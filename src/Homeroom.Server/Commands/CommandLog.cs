using Homeroom.Rules.Commands;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Commands;

/// <summary>
/// Commands as staff read them (API and console): the commands that reached devices of the reader's
/// scope, with counts and deliveries of those devices only, and what the reader may not see
/// (locations, texts to students) hidden (<see cref="CommandRedaction"/>).
/// </summary>
public sealed class CommandLog(IDbContextFactory<HomeroomDbContext> dbFactory)
{
    public async Task<PagedResult<CommandDto>> ListAsync(StaffScope scope, PageQuery paging, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadCommands);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var commands = scope.Commands(db);
        var total = await commands.CountAsync(cancellationToken);
        var page = await commands.OrderByDescending(c => c.IssuedAt).ThenByDescending(c => c.Id).Skip(paging.Skip).Take(paging.Take).ToListAsync(cancellationToken);
        var counts = await CountAsync(scope, db, page.Select(c => c.Id).ToList(), cancellationToken);
        return new PagedResult<CommandDto>(page.Select(c => ToDto(scope, c, counts.GetValueOrDefault(c.Id))).ToList(), total);
    }

    public async Task<CommandDto?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadCommands);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var command = await scope.Commands(db).FirstOrDefaultAsync(c => c.Id == id, cancellationToken);
        if (command is null)
        {
            return null;
        }

        var counts = await CountAsync(scope, db, [id], cancellationToken);
        return ToDto(scope, command, counts.GetValueOrDefault(id));
    }

    /// <summary>A command's deliveries to devices of the scope; null when the command is not in the scope.</summary>
    public async Task<PagedResult<DeliveryDto>?> DeliveriesAsync(StaffScope scope, Guid id, DeliveryStatus? status, PageQuery paging, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadCommands);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var command = await scope.Commands(db).Select(c => new { c.Id, c.Kind }).FirstOrDefaultAsync(c => c.Id == id, cancellationToken);
        if (command is null)
        {
            return null;
        }

        var query = scope.Deliveries(db).Where(d => d.CommandId == id);
        if (status is { } wanted)
        {
            query = query.Where(d => d.Status == wanted);
        }

        var total = await query.CountAsync(cancellationToken);
        var rows = await query
            .OrderBy(d => d.DeviceId)
            .Skip(paging.Skip).Take(paging.Take)
            .Select(d => new { d.CommandId, d.DeviceId, Name = db.Devices.Where(x => x.Id == d.DeviceId).Select(x => x.Name).FirstOrDefault(), d.Status, d.UpdatedAt, d.Error, d.Result })
            .ToListAsync(cancellationToken);
        return new PagedResult<DeliveryDto>(
            rows.Select(r => new DeliveryDto(r.CommandId, r.DeviceId, r.Name, r.Status, r.UpdatedAt, r.Error, CommandRedaction.Result(scope, command.Kind, r.Result))).ToList(),
            total);
    }

    /// <summary>The commands a staff member issued most recently (the console's overview), within their scope.</summary>
    public async Task<List<CommandDto>> RecentAsync(StaffScope scope, int count, CancellationToken cancellationToken = default)
    {
        var page = await ListAsync(scope, new PageQuery(1, Math.Clamp(count, 1, PageQuery.MaxPageSize)), cancellationToken);
        return [.. page.Items];
    }

    private static async Task<Dictionary<Guid, DeliveryCounts>> CountAsync(StaffScope scope, HomeroomDbContext db, List<Guid> commandIds, CancellationToken cancellationToken)
    {
        var rows = await scope.Deliveries(db).Where(d => commandIds.Contains(d.CommandId))
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

    /// <summary>A command as its issuer sees it right after issuing.</summary>
    public static CommandDto Issued(StaffScope scope, IssuedCommand issued) =>
        ToDto(scope, issued.Command, new DeliveryCounts(issued.DeviceIds.Count, 0, 0, 0, 0, 0));

    private static CommandDto ToDto(StaffScope scope, Command c, DeliveryCounts? counts)
    {
        // Staff limited to a school see how many of their devices a command reached, not the district's.
        var targetCount = scope.IsDistrictWide || counts is null
            ? c.TargetCount
            : counts.Queued + counts.Sent + counts.Acknowledged + counts.Succeeded + counts.Failed + counts.Expired;
        return new CommandDto(c.Id, c.Kind, CommandRedaction.Arguments(scope, CommandDispatcher.ToFrame(c).Arguments), c.TargetType,
            scope.IsDistrictWide ? c.TargetId : null, targetCount, c.IssuedBy, c.IssuedAt, c.ExpiresAt, counts ?? new DeliveryCounts(0, 0, 0, 0, 0, 0));
    }
}
