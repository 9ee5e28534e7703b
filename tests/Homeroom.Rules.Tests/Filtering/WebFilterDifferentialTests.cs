using System.Globalization;
using System.Text;
using Homeroom.Rules.Filtering;

namespace Homeroom.Rules.Tests.Filtering;

/// <summary>The UT1 copy, imported once per test class both by the engine and by the reference.</summary>
public sealed class Ut1Lists
{
    public Ut1Lists()
    {
        Directory = SharedData.PathOf("filter-lists/ut1");
        var builder = new FilterListBuilder();
        FilterListImport.ImportUt1Directory(Directory, builder);
        Engine = builder.Build();
        Reference = ReferenceLists.FromUt1Directory(Directory);
        Hosts = [.. Reference.Hosts.Keys.Order(StringComparer.Ordinal)];
        PathEntries = [.. Reference.Paths.SelectMany(p => p.Value.Select(e => (p.Key, e.Prefix))).Distinct().OrderBy(e => e.Key, StringComparer.Ordinal).ThenBy(e => e.Prefix, StringComparer.Ordinal)];
        var usage = Reference.Categories.Order(StringComparer.Ordinal)
            .Select(c => (Category: c, Words: ReadUsage(Path.Combine(Directory, c, "usage"))))
            .ToList();
        BlackCategories = [.. usage.Where(u => u.Words.Contains("black")).Select(u => u.Category)];
        WhiteCategories = [.. usage.Where(u => u.Words.Contains("white") && !u.Words.Contains("black")).Select(u => u.Category)];
    }

    public string Directory { get; }

    public FilterList Engine { get; }

    internal ReferenceLists Reference { get; }

    /// <summary>Every distinct listed host, sorted (so a seed picks the same ones on every machine).</summary>
    public IReadOnlyList<string> Hosts { get; }

    /// <summary>Every distinct host+path entry.</summary>
    public IReadOnlyList<(string Host, string Prefix)> PathEntries { get; }

    /// <summary>Categories whose <c>usage</c> file says <c>black</c>.</summary>
    public IReadOnlyList<string> BlackCategories { get; }

    /// <summary>Categories whose <c>usage</c> file says <c>white</c> only.</summary>
    public IReadOnlyList<string> WhiteCategories { get; }

    private static HashSet<string> ReadUsage(string file) =>
        File.Exists(file)
            ? File.ReadLines(file).Where(l => !l.TrimStart().StartsWith('#')).SelectMany(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToHashSet(StringComparer.Ordinal)
            : [];
}

/// <summary>
/// The engine (<see cref="WebFilter"/> over <see cref="FilterList"/>'s hashed tables and category-set
/// ids) against <see cref="ReferenceWebFilter"/> over plain dictionaries of strings, on the whole UT1
/// copy: every decision and its explanation (reason, category or rule, matched host) must be equal.
/// Random inputs come from a seed; set HOMEROOM_FILTER_SEED to try other ones. A failure names the
/// seed, the policy and the URL.
/// </summary>
public sealed class WebFilterDifferentialTests(Ut1Lists ut1) : IClassFixture<Ut1Lists>
{
    private const int Policies = 400;
    private const int UrlsPerPolicy = 2000;

    private static readonly string[] Tlds = ["com", "fr", "org", "net", "de", "io", "test", "co.uk", "edu"];

    [Fact]
    public void Explain_UnivLyon3WithBlackCategoriesBlocked_IsNotBlocked()
    {
        // univ-lyon3.fr is listed only in liste_blanche and liste_bu, both "white" categories; it used
        // to be blocked as "manga" (a set of categories met while reading URLs took an id that a
        // category added later also had).
        ut1.Reference.Hosts["univ-lyon3.fr"].Order(StringComparer.Ordinal).ToArray().ShouldBe(["liste_blanche", "liste_bu"]);
        var blockBlack = new WebFilterSettings(ut1.BlackCategories, [], [], [], false);
        var filter = WebFilter.Compile(ut1.Engine, blockBlack);

        var explanation = filter.Explain("https://www.univ-lyon3.fr/formation");

        explanation.Blocked.ShouldBeFalse(explanation.ToString());
        explanation.Reason.ShouldBe(FilterReason.NoRule);
        explanation.Category.ShouldBeNull();

        var allowWhite = WebFilter.Compile(ut1.Engine, blockBlack with { AllowedCategories = ["liste_bu"] }).Explain("univ-lyon3.fr");
        allowWhite.Reason.ShouldBe(FilterReason.AllowedCategory);
        allowWhite.Category.ShouldBe("liste_bu");
        allowWhite.MatchedHost.ShouldBe("univ-lyon3.fr");
    }

    [Fact]
    public void Explain_EveryHostOfTheWhiteListsWithBlackCategoriesBlocked_IsBlockedOnlyByAListingCategory()
    {
        var filter = WebFilter.Compile(ut1.Engine, new WebFilterSettings(ut1.BlackCategories, [], [], [], false));
        var wrong = new List<string>();
        foreach (var (host, categories) in ut1.Reference.Hosts.Where(h => h.Value.Contains("liste_blanche") || h.Value.Contains("liste_bu")))
        {
            // Blocked only when a blocked category lists the host or a parent domain (wordpress.com is "blog").
            var explanation = filter.Explain(host);
            if (explanation.Blocked
                && (explanation.MatchedHost is null || !ut1.Reference.CategoriesAt(explanation.MatchedHost, string.Empty).Contains(explanation.Category ?? string.Empty)))
            {
                wrong.Add($"{host} (in {string.Join(", ", categories)}) blocked as {explanation.Category} for {explanation.MatchedHost}");
            }
        }

        wrong.ShouldBeEmpty($"{wrong.Count} hosts blocked by a category that does not list them, e.g.\n{string.Join('\n', wrong.Take(10))}");
    }

    [Fact]
    public void Explain_EveryListedHostUnderFixedPolicies_MatchesReference()
    {
        var rng = new Random(Seed());
        WebFilterSettings[] policies =
        [
            new(ut1.BlackCategories, [], [], [], false),
            new(ut1.BlackCategories, ut1.WhiteCategories, [], [], false),
            new([.. ut1.Engine.Categories.OrderBy(_ => rng.Next())], [], [], [], false),
        ];
        foreach (var settings in policies)
        {
            var filter = WebFilter.Compile(ut1.Engine, settings);
            var reference = new ReferenceWebFilter(ut1.Reference, settings);
            foreach (var host in ut1.Hosts)
            {
                Compare(filter, reference, settings, host, Seed());
            }
        }
    }

    [Fact]
    public void Explain_RandomPoliciesAndUrls_MatchesReference()
    {
        var seed = Seed();
        for (var p = 0; p < Policies; p++)
        {
            var policySeed = seed + p;
            var rng = new Random(policySeed);
            var settings = RandomPolicy(rng);
            var filter = WebFilter.Compile(ut1.Engine, settings);
            var reference = new ReferenceWebFilter(ut1.Reference, settings);
            for (var u = 0; u < UrlsPerPolicy; u++)
            {
                Compare(filter, reference, settings, RandomUrl(rng, settings), policySeed);
            }
        }
    }

    [Fact]
    public void Lookup_RandomUrls_FindsEveryListingCategoryLikeTheReference()
    {
        var seed = Seed();
        var rng = new Random(seed);
        var settings = new WebFilterSettings([], [], [], [], false);
        for (var u = 0; u < 20_000; u++)
        {
            var url = RandomUrl(rng, settings);
            var actual = ut1.Engine.Lookup(url);
            if (!FilterUrl.TryParse(url, out var parsed, out _))
            {
                actual.Error.ShouldNotBeNull(url);
                continue;
            }

            // The reference: every category at each host from the most specific, first one found wins.
            var expected = new List<FilterCategoryMatch>();
            var host = parsed.Host.ToString();
            var hosts = new List<string> { host };
            if (!parsed.IsIpAddress)
            {
                for (var dot = host.IndexOf('.', StringComparison.Ordinal); dot >= 0; dot = host.IndexOf('.', dot + 1))
                {
                    hosts.Add(host[(dot + 1)..]);
                }
            }

            foreach (var candidate in hosts)
            {
                var at = ut1.Reference.CategoriesAt(candidate, parsed.Path.ToString());
                expected.AddRange(at.Where(c => expected.All(e => e.Category != c)).OrderBy(ut1.Engine.IndexOf).Select(c => new FilterCategoryMatch(c, candidate)));
            }

            actual.Matches.ShouldBe(expected, $"seed {seed}, URL {url}");
        }
    }

    private static void Compare(WebFilter filter, ReferenceWebFilter reference, WebFilterSettings settings, string url, int seed)
    {
        var expected = reference.Explain(url);
        var actual = filter.Explain(url);
        if (actual != expected)
        {
            Assert.Fail($"""
                The engine and the reference disagree (seed {seed}).
                URL:       {url}
                policy:    {Describe(settings)}
                engine:    {actual}
                reference: {expected}
                """);
        }
    }

    private static int Seed() =>
        int.TryParse(Environment.GetEnvironmentVariable("HOMEROOM_FILTER_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed) ? seed : 20261201;

    private static string Describe(WebFilterSettings s) =>
        $"blockedCategories [{string.Join(", ", s.BlockedCategories)}], allowedCategories [{string.Join(", ", s.AllowedCategories)}], " +
        $"blockedSites [{string.Join(", ", s.BlockedSites.Select(x => $"'{x}'"))}], allowedSites [{string.Join(", ", s.AllowedSites.Select(x => $"'{x}'"))}], allowOnly {s.AllowOnly}";

    private WebFilterSettings RandomPolicy(Random rng)
    {
        var categories = ut1.Engine.Categories;
        var blockShare = rng.NextDouble() * 0.7;
        var allowShare = rng.NextDouble() * 0.25;
        var blocked = categories.Where(_ => rng.NextDouble() < blockShare).ToList();
        var allowed = categories.Where(_ => rng.NextDouble() < allowShare).ToList();
        if (rng.Next(4) == 0)
        {
            blocked.Add("not_a_list");
        }

        return new WebFilterSettings(
            [.. blocked.OrderBy(_ => rng.Next())],
            [.. allowed.OrderBy(_ => rng.Next())],
            RandomSites(rng, rng.Next(4) == 0 ? 0 : rng.Next(1, 30)),
            RandomSites(rng, rng.Next(3) == 0 ? 0 : rng.Next(1, 20)),
            rng.Next(5) == 0);
    }

    private string[] RandomSites(Random rng, int count)
    {
        var sites = new string[count];
        for (var i = 0; i < count; i++)
        {
            var site = rng.Next(6) switch
            {
                0 => Pick(rng, ut1.Hosts),
                1 => "*." + Pick(rng, ut1.Hosts),
                2 => Subdomain(rng, Pick(rng, ut1.Hosts)),
                3 => PathEntryText(rng, Pick(rng, ut1.PathEntries)),
                4 => Pick(rng, ut1.Hosts) + "/" + Label(rng),
                _ => ParentOf(Pick(rng, ut1.Hosts)),
            };
            sites[i] = rng.Next(8) switch
            {
                0 => "  " + site.ToUpperInvariant() + " ",
                1 => site + "/",
                _ => site,
            };
        }

        return sites;
    }

    private string RandomUrl(Random rng, WebFilterSettings settings)
    {
        var siteRules = settings.AllowedSites.Concat(settings.BlockedSites).ToList();
        string target;
        var kind = rng.Next(20);
        if (kind < 3 && siteRules.Count > 0)
        {
            // Near a site rule of the policy: the rule itself, under it, or beside it.
            var rule = Pick(rng, siteRules).Trim().ToLowerInvariant();
            rule = rule.StartsWith("*.", StringComparison.Ordinal) ? rule[2..] : rule;
            target = rng.Next(3) switch
            {
                0 => rule,
                1 => Subdomain(rng, rule),
                _ => rule.TrimEnd('/') + "/" + Label(rng),
            };
        }
        else
        {
            target = kind switch
            {
                < 7 => Pick(rng, ut1.Hosts),
                < 10 => Subdomain(rng, Pick(rng, ut1.Hosts)),
                < 11 => ParentOf(Pick(rng, ut1.Hosts)),
                < 14 => LookAlike(rng, Pick(rng, ut1.Hosts)),
                < 16 => UnderPathEntry(rng, Pick(rng, ut1.PathEntries)),
                < 17 => UnderPathEntry(rng, Pick(rng, ut1.PathEntries)) is var under && under.IndexOf('/', StringComparison.Ordinal) is var slash and > 0
                    ? Subdomain(rng, under[..slash]) + under[slash..]
                    : under,
                < 18 => string.Join('.', Enumerable.Range(0, 4).Select(_ => rng.Next(256).ToString(CultureInfo.InvariantCulture))),
                _ => $"{Label(rng)}.{Label(rng)}.{Pick(rng, Tlds)}",
            };
        }

        return Decorate(rng, target);
    }

    // Scheme, case, trailing dot, port, user info, path, query and fragment: the same site written differently.
    private static string Decorate(Random rng, string target)
    {
        var slash = target.IndexOf('/', StringComparison.Ordinal);
        var host = slash < 0 ? target : target[..slash];
        var path = slash < 0 ? string.Empty : target[slash..];
        if (rng.Next(6) == 0)
        {
            host = RandomCase(rng, host);
        }

        if (rng.Next(10) == 0 && !host.StartsWith('['))
        {
            host += ".";
        }

        if (rng.Next(10) == 0)
        {
            host += ":" + rng.Next(1, 65536).ToString(CultureInfo.InvariantCulture);
        }

        if (rng.Next(4) == 0)
        {
            path += "/" + Label(rng);
        }

        if (rng.Next(6) == 0)
        {
            path = RandomCase(rng, path);
        }

        if (rng.Next(8) == 0)
        {
            path += "?q=" + Label(rng);
        }

        if (rng.Next(12) == 0)
        {
            path += "#" + Label(rng);
        }

        var scheme = rng.Next(5) switch
        {
            0 => string.Empty,
            1 => "http://",
            2 => "https://user:pw@",
            _ => "https://",
        };
        return scheme + host + path;
    }

    private static string UnderPathEntry(Random rng, (string Host, string Prefix) entry) =>
        rng.Next(5) switch
        {
            0 => entry.Host + entry.Prefix,
            1 => entry.Host + entry.Prefix[..^1],
            2 => entry.Host + RandomCase(rng, entry.Prefix),
            3 => entry.Host + entry.Prefix + Label(rng),
            _ => entry.Host + entry.Prefix + "/" + Label(rng),
        };

    private static string PathEntryText(Random rng, (string Host, string Prefix) entry) =>
        rng.Next(3) == 0 && entry.Prefix.Length > 2 ? entry.Host + entry.Prefix[..^1] : entry.Host + entry.Prefix;

    private static string LookAlike(Random rng, string host)
    {
        var i = rng.Next(host.Length);
        var letter = (char)('a' + rng.Next(26));
        return rng.Next(7) switch
        {
            0 => letter + host,
            1 => host + letter,
            2 => host.Length > 3 ? host[1..] : host + "x",
            3 => host[..i] + letter + host[(i + 1)..],
            4 => host + "." + Pick(rng, Tlds),
            5 => host.Replace('.', '-'),
            _ => host.LastIndexOf('.') is var dot and > 0 ? host[..dot] + "." + Pick(rng, Tlds) : "x" + host,
        };
    }

    private static string Subdomain(Random rng, string host) =>
        rng.Next(3) switch
        {
            0 => "www." + host,
            1 => Label(rng) + "." + host,
            _ => Label(rng) + "." + Label(rng) + "." + host,
        };

    private static string ParentOf(string host) =>
        host.IndexOf('.', StringComparison.Ordinal) is var dot and >= 0 && host.IndexOf('.', dot + 1) >= 0 ? host[(dot + 1)..] : host;

    private static string Label(Random rng)
    {
        var length = rng.Next(1, 9);
        var label = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            label.Append("abcdefghijklmnopqrstuvwxyz0123456789-"[rng.Next(i == 0 || i == length - 1 ? 36 : 37)]);
        }

        return label.ToString();
    }

    private static string RandomCase(Random rng, string text) =>
        string.Create(text.Length, (text, rng), static (span, state) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                var c = state.text[i];
                span[i] = state.rng.Next(2) == 0 ? char.ToUpperInvariant(c) : c;
            }
        });

    private static T Pick<T>(Random rng, IReadOnlyList<T> items) => items[rng.Next(items.Count)];
}
