namespace Homeroom.Rules.Filtering;

/// <summary>
/// Collects category entries (a host, which covers its subdomains, or a host with a path prefix) and
/// compiles them into a <see cref="FilterList"/>. Not thread-safe.
/// </summary>
public sealed class FilterListBuilder
{
    /// <summary>Most categories in one list.</summary>
    public const int MaxCategories = 1024;

    /// <summary>Longest category name.</summary>
    public const int MaxCategoryNameLength = 64;

    private readonly List<string> _categories = [];
    private readonly Dictionary<string, int> _categoryIndex = new(StringComparer.Ordinal);
    private readonly List<int> _counts = [];
    private readonly Dictionary<ulong, Dictionary<string, ushort>> _urls = [];
    private ulong[] _hostHashes = new ulong[1024];
    private ushort[] _hostSets = new ushort[1024];
    private int _hostCount;
    private int _urlCount;

    /// <summary>Whether a category name is acceptable: 1 to 64 of a–z, A–Z, 0–9, '_', '-' and '.'.</summary>
    public static bool IsValidCategoryName(string? name) =>
        !string.IsNullOrEmpty(name)
        && name.Length <= MaxCategoryNameLength
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');

    /// <summary>Adds a category, or finds it when already added; returns its index.</summary>
    public int AddCategory(string name)
    {
        if (!IsValidCategoryName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid category name.", nameof(name));
        }

        if (_categoryIndex.TryGetValue(name, out var existing))
        {
            return existing;
        }

        if (_categories.Count >= MaxCategories)
        {
            throw new InvalidOperationException($"A filter list holds at most {MaxCategories} categories.");
        }

        var index = _categories.Count;
        var words = new ulong[SetWords];
        words[index >> 6] = 1UL << (index & 63);
        var set = Intern(words);
        _categories.Add(name);
        _counts.Add(0);
        _categorySets.Add(set);
        _categoryIndex[name] = index;
        return index;
    }

    /// <summary>Adds one entry to a category; false with a reason when the entry is not a host or host/path.</summary>
    public bool TryAdd(int category, string entry, out string? error)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(category);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(category, _categories.Count);
        if (entry.Contains("://", StringComparison.Ordinal))
        {
            error = "A list entry is a host or a host with a path, without a scheme.";
            return false;
        }

        if (!FilterUrl.TryParse(entry, out var url, out error))
        {
            return false;
        }

        if (!url.IsIpAddress && !url.Host.Contains('.') && url.Host.Length < 2)
        {
            error = "The host is too short.";
            return false;
        }

        var hash = DomainHash.Of(url.Host);
        var set = _categorySets[category];
        var path = url.Path;
        if (path.IsEmpty || path is "/")
        {
            if (_hostCount == _hostHashes.Length)
            {
                Array.Resize(ref _hostHashes, _hostHashes.Length * 2);
                Array.Resize(ref _hostSets, _hostSets.Length * 2);
            }

            _hostHashes[_hostCount] = hash;
            _hostSets[_hostCount] = set;
            _hostCount++;
        }
        else
        {
            if (!_urls.TryGetValue(hash, out var group))
            {
                group = new Dictionary<string, ushort>(StringComparer.OrdinalIgnoreCase);
                _urls[hash] = group;
            }

            var prefix = path[0] == '/' ? path.ToString() : "/" + path.ToString();
            if (group.TryGetValue(prefix, out var existingSet))
            {
                group[prefix] = Union(existingSet, set);
            }
            else
            {
                group[prefix] = set;
                _urlCount++;
            }
        }

        _counts[category]++;
        return true;
    }

    /// <summary>Compiles what was added. The builder can be dropped afterwards.</summary>
    public FilterList Build()
    {
        var hosts = DomainTable.Build(_hostHashes.AsSpan(0, _hostCount), _hostSets.AsSpan(0, _hostCount), Union);
        var urlHashes = new ulong[_urls.Count];
        var urlGroupIds = new ushort[_urls.Count];
        var groups = new HostRuleIndex.UrlRule[_urls.Count][];
        var g = 0;
        foreach (var (hash, rules) in _urls)
        {
            if (g >= ushort.MaxValue)
            {
                throw new InvalidOperationException("A filter list holds host+path rules for at most 65,534 hosts.");
            }

            urlHashes[g] = hash;
            urlGroupIds[g] = (ushort)(g + 1);
            groups[g] = CompleteRules(rules, hosts.Find(DomainHash.Mix(hash)));
            g++;
        }

        var urlHosts = DomainTable.Build(urlHashes, urlGroupIds, (a, _) => a);
        var index = new HostRuleIndex(hosts, urlHosts, groups, urlHashes) { UrlRuleCount = _urlCount };
        return new FilterList(_categories.ToArray(), index, SetsArray(), _counts.ToArray());
    }

    // A lookup takes one set per host suffix: the longest path rule that prefixes the URL's path,
    // else the host rule. So that this one set holds every category listing the URL at that suffix,
    // each path rule's set is widened here with the host's own set and the sets of its shorter rules
    // that prefix it. Sorted case-insensitively, the rules a rule extends come right before it, so a
    // stack of the current chain of prefixes finds them in one pass.
    private HostRuleIndex.UrlRule[] CompleteRules(Dictionary<string, ushort> rules, ushort hostSet)
    {
        var sorted = rules.OrderBy(r => r.Key, StringComparer.OrdinalIgnoreCase).ToArray();
        var completed = new HostRuleIndex.UrlRule[sorted.Length];
        var chain = new Stack<HostRuleIndex.UrlRule>();
        for (var i = 0; i < sorted.Length; i++)
        {
            var (prefix, set) = sorted[i];
            while (chain.Count > 0 && !prefix.StartsWith(chain.Peek().PathPrefix, StringComparison.OrdinalIgnoreCase))
            {
                chain.Pop();
            }

            set = Union(set, chain.Count > 0 ? chain.Peek().Payload : hostSet);
            completed[i] = new HostRuleIndex.UrlRule(prefix, set);
            chain.Push(completed[i]);
        }

        // Longest first: the first rule that prefixes a path is the most specific one.
        return completed.OrderByDescending(r => r.PathPrefix.Length).ToArray();
    }

    // Category sets. Id 0 is the empty set (not listed); every other id names one distinct set of
    // categories, interned as it is first met (a single category when it is added, a union while
    // merging). An id never changes meaning once handed out, whenever categories are added later.
    private const int SetWords = MaxCategories / 64;
    private readonly List<ulong[]> _sets = [new ulong[SetWords]];
    private readonly Dictionary<ulong[], ushort> _setIds = new(WordsComparer.Instance);
    private readonly List<ushort> _categorySets = [];
    private readonly Dictionary<(ushort, ushort), ushort> _unionMemo = [];

    private ushort Intern(ulong[] words)
    {
        if (_setIds.TryGetValue(words, out var id))
        {
            return id;
        }

        if (_sets.Count > ushort.MaxValue)
        {
            throw new InvalidOperationException("Too many distinct combinations of categories.");
        }

        id = (ushort)_sets.Count;
        _sets.Add(words);
        _setIds[words] = id;
        return id;
    }

    private ushort Union(ushort a, ushort b)
    {
        if (a == b || b == 0)
        {
            return a;
        }

        if (a == 0)
        {
            return b;
        }

        var key = a < b ? (a, b) : (b, a);
        if (_unionMemo.TryGetValue(key, out var memo))
        {
            return memo;
        }

        var words = (ulong[])_sets[a].Clone();
        var other = _sets[b];
        for (var i = 0; i < words.Length; i++)
        {
            words[i] |= other[i];
        }

        var id = Intern(words);
        _unionMemo[key] = id;
        return id;
    }

    private ulong[][] SetsArray()
    {
        var used = (_categories.Count + 63) / 64;
        return _sets.Select(words => words[..used]).ToArray();
    }

    private sealed class WordsComparer : IEqualityComparer<ulong[]>
    {
        public static WordsComparer Instance { get; } = new();

        public bool Equals(ulong[]? x, ulong[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(ulong[] obj)
        {
            var hash = default(HashCode);
            hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(obj.AsSpan()));
            return hash.ToHashCode();
        }
    }
}
