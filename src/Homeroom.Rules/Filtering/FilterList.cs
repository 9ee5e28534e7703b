namespace Homeroom.Rules.Filtering;

/// <summary>
/// Category lists compiled for lookup: every listed host and host+path prefix with the categories
/// it is in. Built once per import by <see cref="FilterListBuilder"/>, then immutable and shared by
/// every policy; a reload builds a new one beside it and swaps the reference.
/// </summary>
public sealed class FilterList
{
    private readonly Dictionary<string, int> _categoryIndex;

    internal FilterList(IReadOnlyList<string> categories, HostRuleIndex index, ulong[][] sets, IReadOnlyList<int> entriesPerCategory)
    {
        Categories = categories;
        Index = index;
        Sets = sets;
        EntriesPerCategory = entriesPerCategory;
        _categoryIndex = categories.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => x.i, StringComparer.Ordinal);
    }

    /// <summary>A list with no categories.</summary>
    public static FilterList Empty { get; } = new([], HostRuleIndex.Empty, [[]], []);

    /// <summary>Category names, in index order.</summary>
    public IReadOnlyList<string> Categories { get; }

    /// <summary>Host and URL entries per category (before merging duplicates).</summary>
    public IReadOnlyList<int> EntriesPerCategory { get; }

    /// <summary>Distinct hosts listed.</summary>
    public int HostCount => Index.HostCount;

    /// <summary>Host+path rules listed.</summary>
    public int UrlRuleCount => Index.UrlRuleCount;

    /// <summary>Approximate bytes held by the lookup structures.</summary>
    public long SizeBytes => Index.SizeBytes + (Sets.Length * 40L);

    internal HostRuleIndex Index { get; }

    // Set id -> bit set of category indexes. Set 0 is the empty set (not listed).
    internal ulong[][] Sets { get; }

    /// <summary>The index of a category, or -1.</summary>
    public int IndexOf(string category) => _categoryIndex.GetValueOrDefault(category, -1);

    /// <summary>
    /// Every category listing a URL or bare host, whatever a policy says: for each, the most specific
    /// listed host (the URL's host or a parent domain) whose entry lists it, in order from the most
    /// specific host, then by category index. This is what a category step of <see cref="WebFilter"/>
    /// can see; it answers "which lists know this site" for people testing a URL.
    /// </summary>
    public FilterListLookup Lookup(string url)
    {
        if (!FilterUrl.TryParse(url, out var parsed, out var error))
        {
            return new FilterListLookup(url, null, [], error);
        }

        Span<ulong> hashes = stackalloc ulong[HostSuffixes.MaxSuffixes];
        Span<int> starts = stackalloc int[HostSuffixes.MaxSuffixes];
        var suffixes = new HostSuffixes(parsed, hashes, starts);
        var host = parsed.Host.ToString();
        var path = parsed.Path;
        var matches = new List<FilterCategoryMatch>();
        var seen = new bool[Categories.Count];
        for (var i = suffixes.Count - 1; i >= 0; i--)
        {
            var set = Index.FindPath(suffixes.Hash(i), path);
            if (set == 0)
            {
                set = Index.FindHost(suffixes.Hash(i));
            }

            if (set == 0)
            {
                continue;
            }

            for (var category = 0; category < Categories.Count; category++)
            {
                if (!seen[category] && SetContains(set, category))
                {
                    seen[category] = true;
                    matches.Add(new FilterCategoryMatch(Categories[category], host[suffixes.Start(i)..]));
                }
            }
        }

        return new FilterListLookup(url, host, matches, null);
    }

    internal bool SetContains(int setId, int category)
    {
        var words = Sets[setId];
        var word = category >> 6;
        return word < words.Length && (words[word] & (1UL << (category & 63))) != 0;
    }
}

/// <summary>A category listing a URL, and the listed host (the URL's host or a parent domain) whose entry lists it.</summary>
/// <param name="Category">The category.</param>
/// <param name="ListedHost">The most specific listed host of the URL in that category.</param>
public sealed record FilterCategoryMatch(string Category, string ListedHost);

/// <summary>Which categories list a URL (<see cref="FilterList.Lookup"/>).</summary>
/// <param name="Url">The URL asked about.</param>
/// <param name="Host">Its canonical host, when it parsed.</param>
/// <param name="Matches">Every category listing it; empty when none does.</param>
/// <param name="Error">Why the URL could not be parsed.</param>
public sealed record FilterListLookup(string Url, string? Host, IReadOnlyList<FilterCategoryMatch> Matches, string? Error);
