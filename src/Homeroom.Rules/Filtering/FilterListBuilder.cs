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

        _categories.Add(name);
        _counts.Add(0);
        _categoryIndex[name] = _categories.Count - 1;
        return _categories.Count - 1;
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
        var set = (ushort)(category + 1);
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
            groups[g] = rules
                .OrderByDescending(r => r.Key.Length)
                .Select(r => new HostRuleIndex.UrlRule(r.Key, r.Value))
                .ToArray();
            g++;
        }

        var urlHosts = DomainTable.Build(urlHashes, urlGroupIds, (a, _) => a);
        var index = new HostRuleIndex(hosts, urlHosts, groups, urlHashes) { UrlRuleCount = _urlCount };
        return new FilterList(_categories.ToArray(), index, SetsArray(), _counts.ToArray());
    }

    // Category sets: id 0 is empty, 1..N the single categories, then every union met while merging.
    private readonly List<ulong[]> _unions = [];
    private readonly Dictionary<string, ushort> _unionIds = new(StringComparer.Ordinal);
    private readonly Dictionary<(ushort, ushort), ushort> _unionMemo = [];

    private ulong[] Words(ushort set)
    {
        var words = new ulong[(_categories.Count + 63) / 64];
        if (set == 0)
        {
            return words;
        }

        if (set <= _categories.Count)
        {
            var c = set - 1;
            words[c >> 6] |= 1UL << (c & 63);
            return words;
        }

        var union = _unions[set - _categories.Count - 1];
        Array.Copy(union, words, union.Length);
        return words;
    }

    private ushort Union(ushort a, ushort b)
    {
        if (a == b)
        {
            return a;
        }

        var key = a < b ? (a, b) : (b, a);
        if (_unionMemo.TryGetValue(key, out var memo))
        {
            return memo;
        }

        var left = Words(a);
        var right = Words(b);
        for (var i = 0; i < left.Length; i++)
        {
            left[i] |= right[i];
        }

        var name = string.Join(',', left);
        if (!_unionIds.TryGetValue(name, out var id))
        {
            if (_categories.Count + _unions.Count + 1 >= ushort.MaxValue)
            {
                throw new InvalidOperationException("Too many distinct combinations of categories.");
            }

            _unions.Add(left);
            id = (ushort)(_categories.Count + _unions.Count);
            _unionIds[name] = id;
        }

        _unionMemo[key] = id;
        return id;
    }

    private ulong[][] SetsArray()
    {
        var sets = new ulong[1 + _categories.Count + _unions.Count][];
        for (var i = 0; i < sets.Length; i++)
        {
            sets[i] = Words((ushort)i);
        }

        return sets;
    }
}
