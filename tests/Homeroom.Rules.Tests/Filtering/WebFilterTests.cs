using Homeroom.Rules.Filtering;

namespace Homeroom.Rules.Tests.Filtering;

public sealed class WebFilterTests
{
    private static FilterList Lists()
    {
        var builder = new FilterListBuilder();
        var games = builder.AddCategory("games");
        var social = builder.AddCategory("social_networks");
        var educational = builder.AddCategory("educational_games");
        var adult = builder.AddCategory("adult");
        foreach (var host in new[] { "example.com", "coolmath-games.test", "10.9.8.7" })
        {
            builder.TryAdd(games, host, out _).ShouldBeTrue();
        }

        builder.TryAdd(educational, "coolmath-games.test", out _).ShouldBeTrue();
        builder.TryAdd(social, "social.test", out _).ShouldBeTrue();
        builder.TryAdd(adult, "videos.test/adult", out _).ShouldBeTrue();
        builder.TryAdd(adult, "xn--bcher-kva.de", out _).ShouldBeTrue();
        return builder.Build();
    }

    private static WebFilter Filter(
        string[]? blockedCategories = null,
        string[]? allowedCategories = null,
        string[]? blockedSites = null,
        string[]? allowedSites = null,
        bool allowOnly = false) =>
        WebFilter.Compile(Lists(), new WebFilterSettings(
            blockedCategories ?? ["games", "adult"],
            allowedCategories ?? [],
            blockedSites ?? [],
            allowedSites ?? [],
            allowOnly));

    [Theory]
    [InlineData("example.com", true)]
    [InlineData("https://www.example.com/", true)]
    [InlineData("https://deep.sub.example.com/x", true)]
    [InlineData("https://notexample.com/", false)]
    [InlineData("https://example.com.evil.test/", false)]
    [InlineData("https://example.co/", false)]
    [InlineData("https://xample.com/", false)]
    [InlineData("https://EXAMPLE.com./", true)]
    [InlineData("https://example.com:8443/path", true)]
    [InlineData("https://social.test/", false)]
    public void Decide_DomainCoversSubdomainsButNotLookAlikes(string url, bool blocked)
    {
        var decision = Filter().Decide(url);

        decision.Blocked.ShouldBe(blocked);
        if (blocked)
        {
            decision.Reason.ShouldBe(FilterReason.BlockedCategory);
        }
    }

    [Theory]
    [InlineData("https://videos.test/adult", true)]
    [InlineData("https://videos.test/adult/clip?id=1", true)]
    [InlineData("https://www.videos.test/Adult/clip", true)]
    [InlineData("https://videos.test/", false)]
    [InlineData("https://videos.test/kids", false)]
    [InlineData("https://videos.test/adul", false)]
    public void Decide_UrlRules_MatchPathPrefixIgnoringCase(string url, bool blocked)
    {
        Filter().Decide(url).Blocked.ShouldBe(blocked);
    }

    [Theory]
    [InlineData("https://bücher.de/", true)]
    [InlineData("https://www.BÜCHER.de/", true)]
    [InlineData("https://xn--bcher-kva.de/", true)]
    [InlineData("https://bucher.de/", false)]
    public void Decide_InternationalNames_MatchTheirPunycode(string url, bool blocked)
    {
        Filter().Decide(url).Blocked.ShouldBe(blocked);
    }

    [Theory]
    [InlineData("http://10.9.8.7/", true)]
    [InlineData("http://10.9.8.7:8080/a", true)]
    [InlineData("http://110.9.8.7/", false)]
    [InlineData("http://9.8.7/", false)]
    public void Decide_IpAddresses_MatchOnlyWhole(string url, bool blocked)
    {
        Filter().Decide(url).Blocked.ShouldBe(blocked);
    }

    [Fact]
    public void Decide_AllowedSite_BeatsBlockedCategoryAndBlockedSite()
    {
        var filter = Filter(blockedSites: ["docs.example.com"], allowedSites: ["docs.example.com/allowed", "*.games.example.com"]);

        filter.Decide("https://docs.example.com/allowed/page").Reason.ShouldBe(FilterReason.AllowedSite);
        filter.Decide("https://docs.example.com/other").Reason.ShouldBe(FilterReason.BlockedSite);
        filter.Decide("https://a.games.example.com/").Reason.ShouldBe(FilterReason.AllowedSite);
        filter.Decide("https://games.example.com/").Reason.ShouldBe(FilterReason.AllowedSite);
        filter.Decide("https://www.example.com/").Reason.ShouldBe(FilterReason.BlockedCategory);
    }

    [Fact]
    public void Decide_AllowedCategory_BeatsBlockedCategory()
    {
        var filter = Filter(allowedCategories: ["educational_games"]);

        var decision = filter.Explain("https://coolmath-games.test/");

        decision.Blocked.ShouldBeFalse();
        decision.Reason.ShouldBe(FilterReason.AllowedCategory);
        decision.Category.ShouldBe("educational_games");
    }

    [Fact]
    public void Decide_PathEntryInBlockedCategory_DoesNotHideTheHostsAllowedCategory()
    {
        var builder = new FilterListBuilder();
        var education = builder.AddCategory("education");
        var games = builder.AddCategory("games");
        builder.TryAdd(education, "school.test", out _).ShouldBeTrue();
        builder.TryAdd(games, "school.test/arcade", out _).ShouldBeTrue();
        var filter = WebFilter.Compile(builder.Build(), new WebFilterSettings(["games"], ["education"], [], [], false));

        var explanation = filter.Explain("https://www.school.test/arcade/pacman");

        explanation.Reason.ShouldBe(FilterReason.AllowedCategory);
        explanation.Category.ShouldBe("education");
        explanation.MatchedHost.ShouldBe("school.test");
    }

    [Fact]
    public void Decide_NestedPathEntries_EveryCategoryListingTheUrlCounts()
    {
        var builder = new FilterListBuilder();
        var education = builder.AddCategory("education");
        var games = builder.AddCategory("games");
        builder.TryAdd(education, "video.test/Learn", out _).ShouldBeTrue();
        builder.TryAdd(games, "video.test/learn/play", out _).ShouldBeTrue();
        var list = builder.Build();

        var allowEducation = WebFilter.Compile(list, new WebFilterSettings(["games"], ["education"], [], [], false));
        allowEducation.Explain("video.test/learn/play/1").Reason.ShouldBe(FilterReason.AllowedCategory);
        var blockBoth = WebFilter.Compile(list, new WebFilterSettings(["education", "games"], [], [], [], false));
        blockBoth.Explain("video.test/learn/play/1").Category.ShouldBe("education");
        blockBoth.Explain("video.test/learn/other").Category.ShouldBe("education");
        blockBoth.Decide("video.test/play").Blocked.ShouldBeFalse();
    }

    [Fact]
    public void Explain_SeveralBlockedCategoriesListTheHost_NamesThePolicysFirst()
    {
        var list = Lists();

        WebFilter.Compile(list, new WebFilterSettings(["educational_games", "games"], [], [], [], false)).Explain("coolmath-games.test").Category.ShouldBe("educational_games");
        WebFilter.Compile(list, new WebFilterSettings(["games", "educational_games"], [], [], [], false)).Explain("coolmath-games.test").Category.ShouldBe("games");
    }

    [Fact]
    public void Decide_BlockedSite_BeatsAllowedCategory()
    {
        var filter = Filter(allowedCategories: ["educational_games"], blockedSites: ["coolmath-games.test"]);

        filter.Decide("https://coolmath-games.test/").Reason.ShouldBe(FilterReason.BlockedSite);
    }

    [Fact]
    public void Decide_AllowOnly_BlocksEverythingNotAllowed()
    {
        var filter = Filter(blockedCategories: [], allowedSites: ["classroom.example.org", "docs.test/course"], allowOnly: true);

        filter.Decide("https://classroom.example.org/c/1").Blocked.ShouldBeFalse();
        filter.Decide("https://docs.test/course/week1").Blocked.ShouldBeFalse();
        filter.Decide("https://docs.test/other").Reason.ShouldBe(FilterReason.NotAllowed);
        filter.Decide("https://social.test/").Reason.ShouldBe(FilterReason.NotAllowed);
    }

    [Fact]
    public void Decide_InvalidUrl_IsBlockedWithReason()
    {
        var explanation = Filter().Explain("http://exa mple.com/");

        explanation.Blocked.ShouldBeTrue();
        explanation.Reason.ShouldBe(FilterReason.InvalidUrl);
        explanation.Error.ShouldNotBeNull();
    }

    [Fact]
    public void Explain_BlockedCategory_NamesCategoryAndListedHost()
    {
        var explanation = Filter().Explain("https://WWW.Example.com./games?x");

        explanation.Blocked.ShouldBeTrue();
        explanation.Host.ShouldBe("www.example.com");
        explanation.Category.ShouldBe("games");
        explanation.MatchedHost.ShouldBe("example.com");
    }

    [Fact]
    public void Explain_SiteRule_NamesTheRuleAsWritten()
    {
        var explanation = Filter(blockedSites: ["  *.Social.test "]).Explain("https://m.social.test/feed");

        explanation.Reason.ShouldBe(FilterReason.BlockedSite);
        explanation.Rule.ShouldBe("  *.Social.test ");
        explanation.MatchedHost.ShouldBe("social.test");
    }

    [Fact]
    public void Decide_MostSpecificSiteRuleWins()
    {
        var filter = Filter(blockedCategories: [], blockedSites: ["a.test", "b.a.test/x"]);

        filter.Explain("https://c.b.a.test/z").Rule.ShouldBe("a.test");
        filter.Explain("https://c.b.a.test/x/y").Rule.ShouldBe("b.a.test/x");
        filter.Explain("https://b.a.test/x/y").Rule.ShouldBe("b.a.test/x");
    }

    [Fact]
    public void Compile_UnknownCategory_IsReportedAndMatchesNothing()
    {
        var filter = Filter(blockedCategories: ["games", "gambling"]);

        filter.UnknownCategories.ShouldBe(["gambling"]);
        filter.Decide("example.com").Blocked.ShouldBeTrue();
    }

    [Fact]
    public void ValidateSites_BadRules_NameEachOne()
    {
        var errors = WebFilter.ValidateSites(new WebFilterSettings(["bad name!"], [], ["ok.test", "a*b.test", ""], ["http://exa mple.com"], false));

        errors.Count.ShouldBe(4);
        errors.ShouldContain(e => e.StartsWith("blockedSites[1]", StringComparison.Ordinal));
        errors.ShouldContain(e => e.StartsWith("blockedSites[2]", StringComparison.Ordinal));
        errors.ShouldContain(e => e.StartsWith("allowedSites[0]", StringComparison.Ordinal));
        errors.ShouldContain(e => e.StartsWith("blockedCategories", StringComparison.Ordinal));
        Should.Throw<ArgumentException>(() => WebFilter.Compile(FilterList.Empty, new WebFilterSettings([], [], ["a*b"], [], false)));
    }

    [Fact]
    public void WithList_ReloadedLists_TakeEffectWithoutTouchingTheOldFilter()
    {
        var old = Filter();
        var builder = new FilterListBuilder();
        builder.TryAdd(builder.AddCategory("games"), "newgame.test", out _).ShouldBeTrue();

        var reloaded = old.WithList(builder.Build());

        reloaded.Decide("newgame.test").Blocked.ShouldBeTrue();
        reloaded.Decide("example.com").Blocked.ShouldBeFalse();
        old.Decide("example.com").Blocked.ShouldBeTrue();
    }

    [Fact]
    public void Decide_ManyHosts_NoFalsePositives()
    {
        var builder = new FilterListBuilder();
        var category = builder.AddCategory("synthetic");
        for (var i = 0; i < 200_000; i++)
        {
            builder.TryAdd(category, $"site{i}.test", out _).ShouldBeTrue();
        }

        var filter = WebFilter.Compile(builder.Build(), new WebFilterSettings(["synthetic"], [], [], [], false));

        for (var i = 0; i < 200_000; i++)
        {
            filter.Decide($"site{i}.test").Blocked.ShouldBeTrue();
            filter.Decide($"www.site{i}.test").Blocked.ShouldBeTrue();
            filter.Decide($"site{i}x.test").Blocked.ShouldBeFalse();
            filter.Decide($"site{i}.testx").Blocked.ShouldBeFalse();
        }
    }

    [Fact]
    public void Lookup_ListedHostAndPath_NamesEveryCategoryWithItsListedHost()
    {
        var lists = Lists();

        lists.Lookup("https://www.coolmath-games.test/play").Matches.ShouldBe([
            new FilterCategoryMatch("games", "coolmath-games.test"), new FilterCategoryMatch("educational_games", "coolmath-games.test")]);
        lists.Lookup("videos.test/adult/1").Matches.ShouldBe([new FilterCategoryMatch("adult", "videos.test")]);
        lists.Lookup("videos.test/music").Matches.ShouldBeEmpty();
        lists.Lookup("https://notexample.com/").Matches.ShouldBeEmpty();
    }

    [Fact]
    public void Lookup_NotAUrl_SaysWhy()
    {
        var lookup = Lists().Lookup("http://exa mple.com/");

        lookup.Host.ShouldBeNull();
        lookup.Matches.ShouldBeEmpty();
        lookup.Error.ShouldNotBeNullOrEmpty();
    }
}
