using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Audit;

public sealed record AuditEntryDto(long Id, DateTime At, string ActorName, string Action, string? TargetType, string? TargetId, string? Details, string? RemoteAddress);

/// <summary>
/// Which audit entries to read. <see cref="Action"/> and <see cref="Actor"/> match exactly;
/// <see cref="ActionPrefix"/> and <see cref="ActorContains"/> are the console's looser search.
/// </summary>
public sealed record AuditFilter(
    string? Action = null, string? ActionPrefix = null, string? Actor = null, string? ActorContains = null, string? TargetId = null, DateTime? From = null, DateTime? To = null)
{
    public const int MaxTextLength = 100;

    public Dictionary<string, string[]>? Validate()
    {
        var validation = new Validation()
            .Optional("action", Action, MaxTextLength).Optional("actionPrefix", ActionPrefix, MaxTextLength)
            .Optional("actor", Actor, MaxTextLength).Optional("actorContains", ActorContains, MaxTextLength)
            .Optional("targetId", TargetId, MaxTextLength);
        return validation.IsValid ? null : validation.Errors;
    }
}

/// <summary>The audit log as staff read it (API and console): newest first, through the reader's scope.</summary>
public sealed class AuditQueries(IDbContextFactory<HomeroomDbContext> dbFactory)
{
    public async Task<PagedResult<AuditEntryDto>> ListAsync(StaffScope scope, AuditFilter filter, PageQuery paging, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadAudit);
        if (filter.Validate() is { } errors)
        {
            throw new RequestValidationException(errors);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query = scope.AuditEntries(db);
        if (!string.IsNullOrEmpty(filter.Action))
        {
            query = query.Where(e => e.Action == filter.Action);
        }

        if (!string.IsNullOrWhiteSpace(filter.ActionPrefix))
        {
            var prefix = filter.ActionPrefix.Trim();
            query = query.Where(e => e.Action.StartsWith(prefix));
        }

        if (!string.IsNullOrEmpty(filter.Actor))
        {
            query = query.Where(e => e.ActorName == filter.Actor);
        }

        if (!string.IsNullOrWhiteSpace(filter.ActorContains))
        {
            var part = filter.ActorContains.Trim();
            query = query.Where(e => e.ActorName.Contains(part));
        }

        if (!string.IsNullOrWhiteSpace(filter.TargetId))
        {
            var target = filter.TargetId.Trim();
            query = query.Where(e => e.TargetId == target);
        }

        if (filter.From is { } from)
        {
            query = query.Where(e => e.At >= from);
        }

        if (filter.To is { } to)
        {
            query = query.Where(e => e.At < to);
        }

        var total = await query.CountAsync(cancellationToken);
        var items = await query.OrderByDescending(e => e.Id).Skip(paging.Skip).Take(paging.Take)
            .Select(e => new AuditEntryDto(e.Id, e.At, e.ActorName, e.Action, e.TargetType, e.TargetId, e.Details, e.RemoteAddress))
            .ToListAsync(cancellationToken);
        return new PagedResult<AuditEntryDto>(items, total);
    }
}
