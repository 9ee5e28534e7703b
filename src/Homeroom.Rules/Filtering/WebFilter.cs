namespace Homeroom.Rules.Filtering;

/// <summary>
/// A policy's web filter compiled against the current category lists. Decides in this order:
/// an allowed site allows; a blocked site blocks; a category the policy allows allows; a category it
/// blocks blocks; in allow-only mode anything else is blocked, otherwise allowed. A category lists a
/// URL when it holds the URL's host or a parent domain, or one of those with a path prefix of the
/// URL's path; every category listing the URL counts, whichever entry lists it. Within each step the
/// most specific listed host wins (a site rule with a path before the host's own rule, the longest
/// path first), and a category step names the first of the policy's categories, in the policy's
/// order, that lists that host. Immutable; safe to use from many threads.
/// </summary>
public sealed class WebFilter
{
    private readonly FilterList _list;
    private readonly HostRuleIndex _allowedSites;
    private readonly HostRuleIndex _blockedSites;
    private readonly string[] _allowedRules;
    private readonly string[] _blockedRules;
    private readonly bool[] _blockedSet;
    private readonly bool[] _allowedSet;
    private readonly bool _usesCategories;
    private readonly int[] _blockedCategories;
    private readonly int[] _allowedCategories;

    private WebFilter(FilterList list, WebFilterSettings settings, SiteRules allowed, SiteRules blocked)
    {
        _list = list;
        Settings = settings;
        _allowedSites = allowed.Index;
        _blockedSites = blocked.Index;
        _allowedRules = allowed.Rules;
        _blockedRules = blocked.Rules;
        _blockedCategories = settings.BlockedCategories.Select(list.IndexOf).Where(i => i >= 0).Distinct().ToArray();
        _allowedCategories = settings.AllowedCategories.Select(list.IndexOf).Where(i => i >= 0).Distinct().ToArray();
        _blockedSet = new bool[list.Sets.Length];
        _allowedSet = new bool[list.Sets.Length];
        for (var set = 1; set < list.Sets.Length; set++)
        {
            _blockedSet[set] = _blockedCategories.Any(c => list.SetContains(set, c));
            _allowedSet[set] = _allowedCategories.Any(c => list.SetContains(set, c));
        }

        _usesCategories = _blockedCategories.Length > 0 || _allowedCategories.Length > 0;
        UnknownCategories = settings.BlockedCategories.Concat(settings.AllowedCategories)
            .Where(c => list.IndexOf(c) < 0)
            .Distinct(StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>The settings compiled.</summary>
    public WebFilterSettings Settings { get; }

    /// <summary>Categories the settings name that the current lists do not have; they match nothing.</summary>
    public IReadOnlyList<string> UnknownCategories { get; }

    /// <summary>A filter that allows everything.</summary>
    public static WebFilter AllowAll { get; } = Compile(FilterList.Empty, WebFilterSettings.None);

    /// <summary>Compiles settings; throws <see cref="ArgumentException"/> for a malformed site rule (use <see cref="ValidateSites"/> first for messages).</summary>
    public static WebFilter Compile(FilterList list, WebFilterSettings settings)
    {
        var errors = ValidateSites(settings);
        if (errors.Count > 0)
        {
            throw new ArgumentException(errors[0], nameof(settings));
        }

        return new WebFilter(list, settings, SiteRules.Build(settings.AllowedSites), SiteRules.Build(settings.BlockedSites));
    }

    /// <summary>The same settings compiled against other lists (after a reload).</summary>
    public WebFilter WithList(FilterList list) => Compile(list, Settings);

    /// <summary>Every problem with the site rules and category names, as messages naming the rule.</summary>
    public static IReadOnlyList<string> ValidateSites(WebFilterSettings settings)
    {
        var errors = new List<string>();
        if (settings.AllowedSites.Count + settings.BlockedSites.Count > WebFilterSettings.MaxSites)
        {
            errors.Add($"A web filter holds at most {WebFilterSettings.MaxSites} site rules.");
            return errors;
        }

        Check(settings.AllowedSites, "allowedSites");
        Check(settings.BlockedSites, "blockedSites");
        foreach (var (name, field) in settings.BlockedCategories.Select(c => (c, "blockedCategories"))
            .Concat(settings.AllowedCategories.Select(c => (c, "allowedCategories"))))
        {
            if (!FilterListBuilder.IsValidCategoryName(name))
            {
                errors.Add($"{field}: '{name}' is not a valid category name.");
            }
        }

        return errors;

        void Check(IReadOnlyList<string> sites, string field)
        {
            for (var i = 0; i < sites.Count; i++)
            {
                if (!SiteRules.TryParse(sites[i], out _, out var error))
                {
                    errors.Add($"{field}[{i}] '{sites[i]}': {error}");
                }
            }
        }
    }

    /// <summary>Decides a URL or bare host.</summary>
    public FilterDecision Decide(string url) =>
        FilterUrl.TryParse(url, out var parsed, out _) ? Decide(parsed) : new FilterDecision(true, FilterReason.InvalidUrl, -1, -1);

    /// <summary>Decides a parsed URL.</summary>
    public FilterDecision Decide(in FilterUrl url)
    {
        Span<ulong> hashes = stackalloc ulong[HostSuffixes.MaxSuffixes];
        Span<int> starts = stackalloc int[HostSuffixes.MaxSuffixes];
        var suffixes = new HostSuffixes(url, hashes, starts);
        if (_usesCategories)
        {
            // Start loading the category slots now; the site checks below run while they arrive.
            _list.Index.Prefetch(suffixes);
        }

        var path = url.Path;
        if (!_allowedSites.IsEmpty && Match(_allowedSites, suffixes, path, out var rule, out var at))
        {
            return new FilterDecision(false, FilterReason.AllowedSite, rule - 1, at);
        }

        if (!_blockedSites.IsEmpty && Match(_blockedSites, suffixes, path, out rule, out at))
        {
            return new FilterDecision(true, FilterReason.BlockedSite, rule - 1, at);
        }

        if (_usesCategories)
        {
            var blockedSet = 0;
            var blockedAt = -1;
            var index = _list.Index;
            for (var i = suffixes.Count - 1; i >= 0; i--)
            {
                var hash = suffixes.Hash(i);
                var set = index.FindPath(hash, path);
                if (set == 0)
                {
                    set = index.FindHost(hash);
                }

                if (set == 0)
                {
                    continue;
                }

                if (_allowedSet[set])
                {
                    return new FilterDecision(false, FilterReason.AllowedCategory, set, suffixes.Start(i));
                }

                if (blockedSet == 0 && _blockedSet[set])
                {
                    blockedSet = set;
                    blockedAt = suffixes.Start(i);
                }
            }

            if (blockedSet != 0)
            {
                return new FilterDecision(true, FilterReason.BlockedCategory, blockedSet, blockedAt);
            }
        }

        return Settings.AllowOnly
            ? new FilterDecision(true, FilterReason.NotAllowed, -1, -1)
            : new FilterDecision(false, FilterReason.NoRule, -1, -1);
    }

    /// <summary>Decides a URL and says why in words: the rule, category and listed host.</summary>
    public FilterExplanation Explain(string url)
    {
        if (!FilterUrl.TryParse(url, out var parsed, out var error))
        {
            return new FilterExplanation(url, null, true, FilterReason.InvalidUrl, null, null, null, error);
        }

        var decision = Decide(parsed);
        var host = parsed.Host.ToString();
        var matched = decision.MatchStart >= 0 ? host[decision.MatchStart..] : null;
        string? rule = null;
        string? category = null;
        switch (decision.Reason)
        {
            case FilterReason.AllowedSite:
                rule = _allowedRules[decision.Detail];
                break;
            case FilterReason.BlockedSite:
                rule = _blockedRules[decision.Detail];
                break;
            case FilterReason.AllowedCategory:
                category = FirstOf(decision.Detail, _allowedCategories);
                break;
            case FilterReason.BlockedCategory:
                category = FirstOf(decision.Detail, _blockedCategories);
                break;
            default:
                break;
        }

        return new FilterExplanation(url, host, decision.Blocked, decision.Reason, rule, category, matched, null);
    }

    // The policy's first category (in the order the policy names them) that the matched set holds.
    private string? FirstOf(int set, int[] wanted)
    {
        foreach (var category in wanted)
        {
            if (_list.SetContains(set, category))
            {
                return _list.Categories[category];
            }
        }

        return null;
    }

    private static bool Match(HostRuleIndex index, in HostSuffixes suffixes, ReadOnlySpan<char> path, out int payload, out int at)
    {
        for (var i = suffixes.Count - 1; i >= 0; i--)
        {
            var hash = suffixes.Hash(i);
            var found = index.FindPath(hash, path);
            if (found == 0)
            {
                found = index.FindHost(hash);
            }

            if (found != 0)
            {
                payload = found;
                at = suffixes.Start(i);
                return true;
            }
        }

        payload = 0;
        at = -1;
        return false;
    }

    // A policy's own site rules: payload = rule index + 1.
    private sealed record SiteRules(HostRuleIndex Index, string[] Rules)
    {
        public static bool TryParse(string site, out FilterUrl url, out string? error)
        {
            url = default;
            if (string.IsNullOrWhiteSpace(site))
            {
                error = "The site is empty.";
                return false;
            }

            var text = site.Trim();
            if (text.StartsWith("*.", StringComparison.Ordinal))
            {
                text = text[2..];
            }

            if (text.Contains('*'))
            {
                error = "Only a leading '*.' wildcard is supported.";
                return false;
            }

            return FilterUrl.TryParse(text, out url, out error);
        }

        public static SiteRules Build(IReadOnlyList<string> sites)
        {
            if (sites.Count == 0)
            {
                return new SiteRules(HostRuleIndex.Empty, []);
            }

            var hostHashes = new List<ulong>();
            var hostPayloads = new List<ushort>();
            var groups = new Dictionary<ulong, List<HostRuleIndex.UrlRule>>();
            for (var i = 0; i < sites.Count; i++)
            {
                TryParse(sites[i], out var url, out _);
                var hash = DomainHash.Of(url.Host);
                var payload = (ushort)(i + 1);
                var path = url.Path;
                if (path.IsEmpty || path is "/")
                {
                    hostHashes.Add(hash);
                    hostPayloads.Add(payload);
                }
                else
                {
                    if (!groups.TryGetValue(hash, out var group))
                    {
                        groups[hash] = group = [];
                    }

                    group.Add(new HostRuleIndex.UrlRule(path[0] == '/' ? path.ToString() : "/" + path.ToString(), payload));
                }
            }

            var hosts = DomainTable.Build(hostHashes.ToArray(), hostPayloads.ToArray(), (first, _) => first);
            var urlHashes = groups.Keys.ToArray();
            var urlIds = Enumerable.Range(1, urlHashes.Length).Select(i => (ushort)i).ToArray();
            var urlGroups = urlHashes.Select(h => groups[h].OrderByDescending(r => r.PathPrefix.Length).ToArray()).ToArray();
            var index = new HostRuleIndex(hosts, DomainTable.Build(urlHashes, urlIds, (first, _) => first), urlGroups, urlHashes)
            {
                UrlRuleCount = groups.Values.Sum(g => g.Count),
            };
            return new SiteRules(index, sites.ToArray());
        }
    }
}
