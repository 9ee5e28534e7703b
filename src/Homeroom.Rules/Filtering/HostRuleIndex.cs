using System.Runtime.CompilerServices;

namespace Homeroom.Rules.Filtering;

/// <summary>
/// Host rules (a listed host covers itself and its subdomains) and host+path-prefix rules, each
/// carrying a 16-bit payload. Shared by the category lists (payload: a category-set id) and by a
/// policy's own site rules (payload: the rule's index + 1). Immutable; safe to read from many threads.
/// </summary>
internal sealed class HostRuleIndex
{
    private readonly DomainTable _hosts;
    private readonly DomainTable _urlHosts;
    private readonly UrlRule[][] _urlGroups;

    // One bit per possible host with path rules (a Bloom filter with one hash): most hosts have none,
    // and this 64 KB map answers "certainly none" without touching the larger table.
    private readonly ulong[] _urlHostBits;

    public HostRuleIndex(DomainTable hosts, DomainTable urlHosts, UrlRule[][] urlGroups, IEnumerable<ulong> urlHostHashes)
    {
        _hosts = hosts;
        _urlHosts = urlHosts;
        _urlGroups = urlGroups;
        _urlHostBits = urlGroups.Length == 0 ? [] : new ulong[UrlBitsWords];
        foreach (var hash in urlHostHashes)
        {
            var bit = BitOf(DomainHash.Mix(hash));
            _urlHostBits[bit >> 6] |= 1UL << (int)(bit & 63);
        }
    }

    private const int UrlBitsWords = 8192;

    private static ulong BitOf(ulong mixed) => (mixed >> 40) & ((UrlBitsWords * 64UL) - 1);

    public static HostRuleIndex Empty { get; } = new(DomainTable.Empty, DomainTable.Empty, [], []);

    public int HostCount => _hosts.Count;

    public int UrlRuleCount { get; init; }

    public bool IsEmpty => _hosts.Count == 0 && _urlGroups.Length == 0;

    public long SizeBytes
    {
        get
        {
            var size = _hosts.SizeBytes + _urlHosts.SizeBytes + (_urlHostBits.Length * 8L);
            foreach (var group in _urlGroups)
            {
                foreach (var rule in group)
                {
                    size += 32 + (rule.PathPrefix.Length * 2);
                }
            }

            return size;
        }
    }

    public void Prefetch(in HostSuffixes suffixes)
    {
        for (var i = 0; i < suffixes.Count; i++)
        {
            _hosts.Prefetch(suffixes.Hash(i));
        }
    }

    /// <summary>The payload stored for one suffix (its mixed hash) as a host rule, or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort FindHost(ulong mixedHash) => _hosts.Find(mixedHash);

    /// <summary>The payload of the first path rule of one suffix (its mixed hash) that prefixes <paramref name="path"/>, or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort FindPath(ulong mixedHash, ReadOnlySpan<char> path)
    {
        if (_urlHostBits.Length == 0)
        {
            return 0;
        }

        var bit = BitOf(mixedHash);
        return (_urlHostBits[bit >> 6] & (1UL << (int)(bit & 63))) == 0 ? (ushort)0 : FindPathSlow(mixedHash, path);
    }

    private ushort FindPathSlow(ulong mixedHash, ReadOnlySpan<char> path)
    {
        var group = _urlHosts.Find(mixedHash);
        if (group == 0)
        {
            return 0;
        }

        foreach (var rule in _urlGroups[group - 1])
        {
            if (PathStartsWith(path, rule.PathPrefix))
            {
                return rule.Payload;
            }
        }

        return 0;
    }

    /// <summary>
    /// Whether a path (empty, or starting with <c>/</c> or <c>?</c>) begins with a rule's prefix
    /// (always starting with <c>/</c>), ignoring case. An empty path or a bare query is the root.
    /// </summary>
    public static bool PathStartsWith(ReadOnlySpan<char> path, string prefix)
    {
        if (path.IsEmpty || path[0] != '/')
        {
            return path.StartsWith(prefix.AsSpan(1), StringComparison.OrdinalIgnoreCase);
        }

        return path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase);
    }

    internal readonly record struct UrlRule(string PathPrefix, ushort Payload);
}

/// <summary>The mixed hashes (<see cref="DomainHash.Mix"/>) of every label-boundary suffix of a host, shortest first (<c>com</c>, <c>example.com</c>, ...).</summary>
internal ref struct HostSuffixes
{
    public const int MaxSuffixes = 128;

    private readonly Span<ulong> _hashes;
    private readonly Span<int> _starts;

    public HostSuffixes(in FilterUrl url, Span<ulong> hashes, Span<int> starts)
    {
        _hashes = hashes;
        _starts = starts;
        var host = url.Host;
        var h = DomainHash.Of(ReadOnlySpan<char>.Empty);
        var count = 0;
        if (url.IsIpAddress)
        {
            _hashes[0] = DomainHash.Mix(DomainHash.Of(host));
            _starts[0] = 0;
            Count = 1;
            return;
        }

        for (var i = host.Length - 1; i >= 0; i--)
        {
            h = DomainHash.Step(h, host[i]);
            if (i == 0 || host[i - 1] == '.')
            {
                _hashes[count] = DomainHash.Mix(h);
                _starts[count] = i;
                count++;
            }
        }

        Count = count;
    }

    public int Count { get; }

    public readonly ulong Hash(int i) => _hashes[i];

    /// <summary>Where suffix <paramref name="i"/> starts in the host.</summary>
    public readonly int Start(int i) => _starts[i];
}
