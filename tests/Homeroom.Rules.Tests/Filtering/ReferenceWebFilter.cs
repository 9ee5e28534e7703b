using Homeroom.Rules.Filtering;

namespace Homeroom.Rules.Tests.Filtering;

/// <summary>
/// Category lists kept the obvious way, to check the engine against: a dictionary from each listed
/// host name to the categories listing it, and from each host to its host+path entries. No hashing,
/// no set ids, no shortcuts. It shares only <see cref="FilterUrl"/> with the engine, the parser that
/// defines what a canonical host and path are (tested on its own in <see cref="FilterUrlTests"/>).
/// </summary>
internal sealed class ReferenceLists
{
    public HashSet<string> Categories { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, HashSet<string>> Hosts { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, List<(string Prefix, string Category)>> Paths { get; } = new(StringComparer.Ordinal);

    /// <summary>Reads a UT1 folder: each category folder's <c>domains</c> and <c>urls</c> files, line by line.</summary>
    public static ReferenceLists FromUt1Directory(string directory)
    {
        var lists = new ReferenceLists();
        foreach (var folder in Directory.GetDirectories(directory))
        {
            var category = Path.GetFileName(folder);
            foreach (var kind in new[] { "domains", "urls" })
            {
                var file = Path.Combine(folder, kind);
                if (File.Exists(file))
                {
                    lists.Categories.Add(category);
                    foreach (var line in File.ReadLines(file))
                    {
                        lists.AddLine(category, line);
                    }
                }
            }
        }

        return lists;
    }

    /// <summary>
    /// One line of a UT1 file: blank lines, comments (<c>#</c>, <c>!</c>, a trailing <c> #</c>), lines
    /// with two words and overlong lines list nothing; otherwise the line is a host or host/path.
    /// </summary>
    public void AddLine(string category, string line)
    {
        if (line.Length > FilterListImport.MaxLineLength)
        {
            return;
        }

        var text = line.Trim();
        if (text.Length == 0 || text[0] == '#' || text[0] == '!')
        {
            return;
        }

        var comment = text.IndexOf(" #", StringComparison.Ordinal);
        if (comment >= 0)
        {
            text = text[..comment].TrimEnd();
        }

        if (text.Contains(' ', StringComparison.Ordinal) || text.Contains('\t', StringComparison.Ordinal) || text.Contains("://", StringComparison.Ordinal))
        {
            return;
        }

        if (!FilterUrl.TryParse(text, out var url, out _))
        {
            return;
        }

        var host = url.Host.ToString();
        if (!url.IsIpAddress && !host.Contains('.', StringComparison.Ordinal) && host.Length < 2)
        {
            return;
        }

        var path = url.Path.ToString();
        if (path is "" or "/")
        {
            if (!Hosts.TryGetValue(host, out var categories))
            {
                Hosts[host] = categories = new HashSet<string>(StringComparer.Ordinal);
            }

            categories.Add(category);
        }
        else
        {
            if (!Paths.TryGetValue(host, out var entries))
            {
                Paths[host] = entries = [];
            }

            entries.Add((path.StartsWith('/') ? path : "/" + path, category));
        }
    }

    /// <summary>Every category with an entry listing this URL at exactly this host (the host itself, or it with a path prefix of the URL's path).</summary>
    public HashSet<string> CategoriesAt(string host, string path)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (Hosts.TryGetValue(host, out var categories))
        {
            found.UnionWith(categories);
        }

        if (Paths.TryGetValue(host, out var entries))
        {
            foreach (var (prefix, category) in entries)
            {
                if (ReferenceWebFilter.PathHasPrefix(path, prefix))
                {
                    found.Add(category);
                }
            }
        }

        return found;
    }
}

/// <summary>
/// <see cref="WebFilter"/>'s documented rules, written as plainly as possible: an allowed site allows;
/// a blocked site blocks; a category the policy allows allows; a category it blocks blocks; in
/// allow-only mode anything else is blocked, otherwise allowed. A URL's hosts are its host and every
/// parent domain (an IP address only itself), most specific first; within each step the most specific
/// host decides, a site rule with a path before the host's own rule, the longest path first, then the
/// first written; a category step names the policy's first category (in its order) listing that host.
/// </summary>
internal sealed class ReferenceWebFilter(ReferenceLists lists, WebFilterSettings settings)
{
    public FilterExplanation Explain(string url)
    {
        if (!FilterUrl.TryParse(url, out var parsed, out var error))
        {
            return new FilterExplanation(url, null, true, FilterReason.InvalidUrl, null, null, null, error);
        }

        var host = parsed.Host.ToString();
        var path = parsed.Path.ToString();
        var hosts = HostAndParents(host, parsed.IsIpAddress);

        if (FirstSiteRule(settings.AllowedSites, hosts, path) is { } allowedSite)
        {
            return new FilterExplanation(url, host, false, FilterReason.AllowedSite, allowedSite.Rule, null, allowedSite.Host, null);
        }

        if (FirstSiteRule(settings.BlockedSites, hosts, path) is { } blockedSite)
        {
            return new FilterExplanation(url, host, true, FilterReason.BlockedSite, blockedSite.Rule, null, blockedSite.Host, null);
        }

        (string Category, string Host)? blockedBy = null;
        foreach (var candidate in hosts)
        {
            var categories = lists.CategoriesAt(candidate, path);
            var allowed = settings.AllowedCategories.FirstOrDefault(categories.Contains);
            if (allowed is not null)
            {
                return new FilterExplanation(url, host, false, FilterReason.AllowedCategory, null, allowed, candidate, null);
            }

            var blocked = settings.BlockedCategories.FirstOrDefault(categories.Contains);
            if (blocked is not null && blockedBy is null)
            {
                blockedBy = (blocked, candidate);
            }
        }

        if (blockedBy is { } b)
        {
            return new FilterExplanation(url, host, true, FilterReason.BlockedCategory, null, b.Category, b.Host, null);
        }

        return settings.AllowOnly
            ? new FilterExplanation(url, host, true, FilterReason.NotAllowed, null, null, null, null)
            : new FilterExplanation(url, host, false, FilterReason.NoRule, null, null, null, null);
    }

    /// <summary>Whether a URL path (empty, or starting with <c>/</c> or <c>?</c>) starts with an entry's path, ignoring case; a path not starting with <c>/</c> is read as if it did.</summary>
    public static bool PathHasPrefix(string path, string prefix) =>
        (path.StartsWith('/') ? path : "/" + path).StartsWith(prefix, StringComparison.OrdinalIgnoreCase);

    private static List<string> HostAndParents(string host, bool isIpAddress)
    {
        var hosts = new List<string> { host };
        if (!isIpAddress)
        {
            for (var dot = host.IndexOf('.', StringComparison.Ordinal); dot >= 0; dot = host.IndexOf('.', dot + 1))
            {
                hosts.Add(host[(dot + 1)..]);
            }
        }

        return hosts;
    }

    private static (string Rule, string Host)? FirstSiteRule(IReadOnlyList<string> rules, List<string> hosts, string path)
    {
        foreach (var candidate in hosts)
        {
            string? pathRule = null;
            var pathRuleLength = -1;
            string? hostRule = null;
            foreach (var rule in rules)
            {
                var text = rule.Trim();
                if (text.StartsWith("*.", StringComparison.Ordinal))
                {
                    text = text[2..];
                }

                if (!FilterUrl.TryParse(text, out var parsed, out _) || parsed.Host.ToString() != candidate)
                {
                    continue;
                }

                var rulePath = parsed.Path.ToString();
                if (rulePath is "" or "/")
                {
                    hostRule ??= rule;
                    continue;
                }

                var prefix = rulePath.StartsWith('/') ? rulePath : "/" + rulePath;
                if (PathHasPrefix(path, prefix) && prefix.Length > pathRuleLength)
                {
                    pathRule = rule;
                    pathRuleLength = prefix.Length;
                }
            }

            if ((pathRule ?? hostRule) is { } found)
            {
                return (found, candidate);
            }
        }

        return null;
    }
}
