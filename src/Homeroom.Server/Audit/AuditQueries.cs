using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Audit;

/// <summary>
/// One audit entry. <see cref="TargetName"/> is the target's name as it is now (null when the target
/// is gone or has no name); <see cref="SchoolId"/> is the school the entry concerns.
/// </summary>
public sealed record AuditEntryDto(
    long Id, DateTime At, string ActorName, string Action, string? TargetType, string? TargetId, string? Details, string? RemoteAddress,
    string? TargetName = null, Guid? SchoolId = null);

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
            .Select(e => new AuditEntryDto(e.Id, e.At, e.ActorName, e.Action, e.TargetType, e.TargetId, e.Details, e.RemoteAddress, null, e.SchoolId))
            .ToListAsync(cancellationToken);
        var names = await TargetNamesAsync(db, items, cancellationToken);
        return new PagedResult<AuditEntryDto>(
            [.. items.Select(e => names.TryGetValue((e.TargetType ?? "", e.TargetId ?? ""), out var name) ? e with { TargetName = name } : e)], total);
    }

    /// <summary>
    /// The names of a page's targets, one query per kind of target. The reader may see the entry, so
    /// they may see what it names: an entry's school is its target's school.
    /// </summary>
    private static async Task<Dictionary<(string Type, string Id), string>> TargetNamesAsync(
        HomeroomDbContext db, IReadOnlyList<AuditEntryDto> entries, CancellationToken cancellationToken)
    {
        var names = new Dictionary<(string, string), string>();
        foreach (var kind in entries.Where(e => e.TargetType is not null).GroupBy(e => e.TargetType!))
        {
            var ids = kind.Select(e => Guid.TryParse(e.TargetId, out var id) ? id : Guid.Empty).Where(id => id != Guid.Empty).Distinct().ToList();
            if (ids.Count == 0)
            {
                continue;
            }

            var found = kind.Key switch
            {
                "device" => await db.Devices.Where(d => ids.Contains(d.Id)).Select(d => new { d.Id, Name = d.Name }).ToListAsync(cancellationToken),
                "group" => await db.Groups.Where(g => ids.Contains(g.Id)).Select(g => new { g.Id, Name = g.Name }).ToListAsync(cancellationToken),
                "person" => await db.People.Where(p => ids.Contains(p.Id)).Select(p => new { p.Id, Name = p.GivenName + " " + p.FamilyName }).ToListAsync(cancellationToken),
                "school" => await db.Schools.Where(s => ids.Contains(s.Id)).Select(s => new { s.Id, Name = s.Name }).ToListAsync(cancellationToken),
                "account" => await db.StaffAccounts.Where(a => ids.Contains(a.Id)).Select(a => new { a.Id, Name = a.DisplayName + " (" + a.Username + ")" }).ToListAsync(cancellationToken),
                "profile" => await db.Profiles.Where(p => ids.Contains(p.Id)).Select(p => new { p.Id, Name = p.Name }).ToListAsync(cancellationToken),
                "zone" => await db.Zones.Where(z => ids.Contains(z.Id)).Select(z => new { z.Id, Name = z.Name }).ToListAsync(cancellationToken),
                "token" => await db.EnrollmentTokens.Where(t => ids.Contains(t.Id)).Select(t => new { t.Id, Name = t.Name }).ToListAsync(cancellationToken),
                _ => [],
            };
            foreach (var target in found)
            {
                names[(kind.Key, target.Id.ToString())] = target.Name;
            }
        }

        return names;
    }
}
