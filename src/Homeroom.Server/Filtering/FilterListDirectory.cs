using Homeroom.Rules.Filtering;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Filtering;

/// <summary>
/// Filter lists as staff see them (API and console): every list, with its import report, for those
/// who read policies; deleting one is for district administrators (lists are district-wide). Uploads
/// are <see cref="UploadFilterList"/>.
/// </summary>
public sealed class FilterListDirectory(IDbContextFactory<HomeroomDbContext> dbFactory, FilterListStore store, AuditTrail audit)
{
    private readonly SemaphoreSlim _singleLock = new(1, 1);
    private (Guid Id, DateTime UpdatedAt, FilterList List)? _single;

    public async Task<List<FilterListDto>> ListAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var records = await db.FilterLists.AsNoTracking()
            .Select(l => new FilterListRecord
            {
                Id = l.Id, Name = l.Name, Format = l.Format, Category = l.Category, Content = Array.Empty<byte>(), ContentBytes = l.ContentBytes,
                Entries = l.Entries, SkippedLines = l.SkippedLines, ReportJson = l.ReportJson, CreatedAt = l.CreatedAt, UpdatedAt = l.UpdatedAt,
            })
            .ToListAsync(cancellationToken);
        return records.OrderBy(r => r.Name, StringComparer.Ordinal).Select(FilterListDto.From).ToList();
    }

    /// <summary>The categories in use, with how many entries each has.</summary>
    public FilterListsSummary Categories(StaffScope scope)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        var list = store.Current;
        var categories = list.Categories.Select((name, i) => new FilterCategoryDto(name, list.EntriesPerCategory[i])).OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        return new FilterListsSummary(store.Version, list.HostCount, list.UrlRuleCount, categories);
    }

    /// <summary>
    /// Which categories list a URL: in the lists in use, or (with <paramref name="listId"/>) in that
    /// stored list alone, read again from its stored content. Null when there is no such list.
    /// </summary>
    public async Task<FilterLookupDto?> LookupAsync(StaffScope scope, string? url, Guid? listId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        if (string.IsNullOrWhiteSpace(url) || url.Length > FilterUrl.MaxLength)
        {
            throw new RequestValidationException(new() { ["url"] = [$"A URL or host of at most {FilterUrl.MaxLength} characters."] });
        }

        url = url.Trim();
        var lists = await ListAsync(scope, cancellationToken);
        if (listId is { } id)
        {
            if (lists.FirstOrDefault(l => l.Id == id) is not { } chosen || await SingleListAsync(chosen, cancellationToken) is not { } single)
            {
                return null;
            }

            var found = single.Lookup(url);
            return new FilterLookupDto(url, found.Host, id, chosen.Name, found.Matches.Select(m => new FilterLookupMatchDto(m.Category, m.ListedHost, [chosen.Name])).ToList(), found.Error);
        }

        var lookup = store.Current.Lookup(url);
        return new FilterLookupDto(url, lookup.Host, null, null, lookup.Matches
            .Select(m => new FilterLookupMatchDto(m.Category, m.ListedHost, lists.Where(l => l.Categories.Any(c => c.Name == m.Category)).Select(l => l.Name).ToList()))
            .ToList(), lookup.Error);
    }

    // One stored list compiled on its own (UT1 in about a fifth of a second), kept until another is asked for.
    private async Task<FilterList?> SingleListAsync(FilterListDto list, CancellationToken cancellationToken)
    {
        await _singleLock.WaitAsync(cancellationToken);
        try
        {
            if (_single is { } cached && cached.Id == list.Id && cached.UpdatedAt == list.UpdatedAt)
            {
                return cached.List;
            }

            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            if (await db.FilterLists.AsNoTracking().FirstOrDefaultAsync(l => l.Id == list.Id, cancellationToken) is not { } record)
            {
                return null;
            }

            FilterList built;
            try
            {
                built = await Task.Run(() =>
                {
                    var builder = new FilterListBuilder();
                    FilterListStore.Import(record, builder);
                    return builder.Build();
                }, cancellationToken);
            }
            catch (Exception e) when (e is FilterListFormatException or FilterListTooLargeException or InvalidOperationException or ArgumentException)
            {
                throw new RequestValidationException(new() { ["listId"] = [$"The stored list '{record.Name}' could not be read: {e.Message}"] });
            }

            _single = (record.Id, record.UpdatedAt, built);
            return built;
        }
        finally
        {
            _singleLock.Release();
        }
    }

    /// <summary>Deletes a list and reloads the lists in use; false when there is none.</summary>
    public async Task<bool> DeleteAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageFilterLists);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var record = await db.FilterLists.Where(l => l.Id == id).Select(l => new { l.Id, l.Name }).FirstOrDefaultAsync(cancellationToken);
        if (record is null)
        {
            return false;
        }

        await db.FilterLists.Where(l => l.Id == id).ExecuteDeleteAsync(cancellationToken);
        audit.Record(db, "filter-list.delete", "filter-list", id.ToString(), record.Name);
        await db.SaveChangesAsync(cancellationToken);
        await store.ReloadAsync(cancellationToken);
        return true;
    }
}
