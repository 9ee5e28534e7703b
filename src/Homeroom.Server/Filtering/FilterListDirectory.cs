using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Filtering;

/// <summary>
/// Filter lists as staff see them (API and console): every list, with its import report, for those
/// who read policies; deleting one is for district administrators (lists are district-wide). Uploads
/// are <see cref="UploadFilterList"/>.
/// </summary>
public sealed class FilterListDirectory(IDbContextFactory<HomeroomDbContext> dbFactory, FilterListStore store, AuditTrail audit)
{
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
