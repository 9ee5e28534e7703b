using System.Collections.Concurrent;
using System.Text;
using Homeroom.Rules.Filtering;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Filtering;

/// <summary>
/// Holds the category lists every web filter decision reads. A reload builds the new lists beside
/// the old ones and swaps one reference, so a decision always finds a complete list: the old one
/// until the new one is ready. Compiled per-policy filters are cached per list generation.
/// </summary>
public sealed class FilterListStore(IDbContextFactory<HomeroomDbContext> dbFactory, TimeProvider time, ILogger<FilterListStore> logger)
{
    private readonly SemaphoreSlim _reloading = new(1, 1);
    private volatile Generation _current = new(FilterList.Empty, "0", DateTime.MinValue);

    /// <summary>Raised after a reload swapped in new lists.</summary>
    public event Action? Changed;

    /// <summary>The lists in use.</summary>
    public FilterList Current => _current.List;

    /// <summary>Identifies the lists in use; changes with every reload that changed them.</summary>
    public string Version => _current.Version;

    /// <summary>A policy's filter compiled against the lists in use.</summary>
    public WebFilter FilterFor(WebFilterSettings settings)
    {
        var generation = _current;
        var key = string.Join('\u001f', [.. settings.BlockedCategories, "|", .. settings.AllowedCategories, "|", .. settings.BlockedSites, "|", .. settings.AllowedSites, settings.AllowOnly ? "1" : "0"]);
        if (generation.Compiled.Count > 10_000)
        {
            generation.Compiled.Clear();
        }

        return generation.Compiled.GetOrAdd(key, _ => WebFilter.Compile(generation.List, settings));
    }

    /// <summary>Rebuilds from every stored list and swaps it in.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        await _reloading.WaitAsync(cancellationToken);
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var records = await db.FilterLists.AsNoTracking().OrderBy(l => l.CreatedAt).ToListAsync(cancellationToken);
            var version = records.Count == 0
                ? "0"
                : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(string.Join(',', records.Select(r => $"{r.Id:N}@{r.UpdatedAt.Ticks}")))))[..16];
            if (version == _current.Version)
            {
                return;
            }

            var builder = ImportAll(records);
            var list = await Task.Run(builder.Build, cancellationToken);
            _current = new Generation(list, version, time.GetUtcNow().UtcDateTime);
            FilteringLog.Reloaded(logger, records.Count, list.HostCount, list.UrlRuleCount);
        }
        finally
        {
            _reloading.Release();
        }

        Changed?.Invoke();
    }

    /// <summary>
    /// The entries of some categories as text (<c># category</c>, then one host or host/path per line),
    /// read from the stored lists. The last few answers are kept until the lists change.
    /// </summary>
    public async Task<byte[]> ExportAsync(IReadOnlyCollection<string> categories, CancellationToken cancellationToken)
    {
        var generation = _current;
        var key = string.Join(',', categories.Order(StringComparer.Ordinal));
        if (generation.Exports.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var wanted = categories.ToHashSet(StringComparer.Ordinal);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var records = await db.FilterLists.AsNoTracking().OrderBy(l => l.CreatedAt).ToListAsync(cancellationToken);
        var sections = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        var checker = new FilterListBuilder();
        foreach (var record in records)
        {
            try
            {
                ReadEntries(record, wanted, (category, entry) =>
                {
                    if (checker.TryAdd(checker.AddCategory(category), entry, out _))
                    {
                        if (!sections.TryGetValue(category, out var set))
                        {
                            sections[category] = set = new SortedSet<string>(StringComparer.Ordinal);
                        }

                        set.Add(entry.Trim().ToLowerInvariant());
                    }
                });
            }
            catch (Exception e) when (IsUnreadable(e))
            {
                FilteringLog.StoredListUnreadable(logger, e, record.Name);
            }
        }

        var text = new StringBuilder();
        text.Append("# homeroom filter list ").Append(generation.Version).Append('\n');
        foreach (var (category, entries) in sections)
        {
            text.Append("# ").Append(category).Append('\n');
            foreach (var entry in entries)
            {
                text.Append(entry).Append('\n');
            }
        }

        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        if (generation.Exports.Count >= 8)
        {
            generation.Exports.Clear();
        }

        generation.Exports[key] = bytes;
        return bytes;
    }

    // Imports every stored list into one builder. A stored list that no longer imports (stored by an
    // older version with other limits, or damaged) is left out and logged, so it cannot stop the
    // server from starting or the other lists from loading.
    private FilterListBuilder ImportAll(List<FilterListRecord> records)
    {
        var excluded = new HashSet<Guid>();
        while (true)
        {
            var builder = new FilterListBuilder();
            var complete = true;
            foreach (var record in records.Where(r => !excluded.Contains(r.Id)))
            {
                try
                {
                    Import(record, builder);
                }
                catch (Exception e) when (IsUnreadable(e))
                {
                    FilteringLog.StoredListUnreadable(logger, e, record.Name);
                    excluded.Add(record.Id);
                    complete = false;
                    break;
                }
            }

            if (complete)
            {
                return builder;
            }
        }
    }

    private static bool IsUnreadable(Exception e) =>
        e is FilterListFormatException or FilterListTooLargeException or InvalidOperationException or ArgumentException;

    // Every (category, entry) of the wanted categories in a stored list, as written in it, streamed
    // with the same line and size limits as an import.
    private static void ReadEntries(FilterListRecord record, HashSet<string> wanted, Action<string, string> found)
    {
        var entries = new List<string>();
        using var content = new MemoryStream(record.Content, writable: false);
        if (record.Format == FilterListFormats.Ut1)
        {
            FilterListImport.ReadUt1Archive(content, (category, _, lines) => Read(lines, category, hostsFormat: false));
        }
        else
        {
            FilterListImport.ReadPlain(content, lines => Read(lines, record.Category!, hostsFormat: true));
        }

        void Read(FilterListLineReader lines, string category, bool hostsFormat)
        {
            if (!wanted.Contains(category))
            {
                return;
            }

            while (lines.TryRead(out var line))
            {
                entries.Clear();
                if (line.Text is not null && FilterListImport.TryParseLine(line.Text, hostsFormat, entries, out _))
                {
                    foreach (var entry in entries)
                    {
                        found(category, entry);
                    }
                }
            }
        }
    }

    /// <summary>Imports one stored list into a builder, streamed from its stored (compressed) content.</summary>
    /// <exception cref="FilterListFormatException">It cannot be read.</exception>
    /// <exception cref="FilterListTooLargeException">It expands beyond the import limits.</exception>
    public static FilterListImportReport Import(FilterListRecord record, FilterListBuilder builder)
    {
        using var content = new MemoryStream(record.Content, writable: false);
        return record.Format == FilterListFormats.Ut1
            ? FilterListImport.ImportUt1Archive(content, builder)
            : FilterListImport.ImportPlain(content, record.Category!, builder);
    }

    private sealed record Generation(FilterList List, string Version, DateTime LoadedAt)
    {
        public ConcurrentDictionary<string, WebFilter> Compiled { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, byte[]> Exports { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>The list formats an upload may declare.</summary>
public static class FilterListFormats
{
    /// <summary>The UT1 archive (<c>blacklists.tar.gz</c>): a folder per category holding <c>domains</c> and <c>urls</c>.</summary>
    public const string Ut1 = "ut1";

    /// <summary>One host or host/path per line, or hosts-file lines, all in one category.</summary>
    public const string Plain = "plain";
}

/// <summary>Loads the stored lists when the server starts.</summary>
public sealed class FilterListLoader(FilterListStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.ReloadAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal static partial class FilteringLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Filter lists loaded: {Lists} lists, {Hosts} hosts, {UrlRules} URL rules")]
    public static partial void Reloaded(ILogger logger, int lists, int hosts, int urlRules);

    [LoggerMessage(Level = LogLevel.Error, Message = "The stored filter list {Name} could not be read and is left out of the lists in use")]
    public static partial void StoredListUnreadable(ILogger logger, Exception exception, string name);
}
