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

    internal bool SetContains(int setId, int category)
    {
        var words = Sets[setId];
        var word = category >> 6;
        return word < words.Length && (words[word] & (1UL << (category & 63))) != 0;
    }
}
