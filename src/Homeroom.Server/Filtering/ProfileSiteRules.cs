using Homeroom.Rules.Filtering;
using Homeroom.Rules.Policies;
using Homeroom.Server.Policies;

namespace Homeroom.Server.Filtering;

/// <summary>One profile's site rules: the sites it blocks and allows whatever the lists say.</summary>
public sealed record ProfileSiteRules(Guid ProfileId, string Profile, IReadOnlyList<string> BlockedSites, IReadOnlyList<string> AllowedSites)
{
    /// <summary>The profiles that have site rules, read from their settings (<c>webFilter.blockedSites</c>, <c>webFilter.allowedSites</c>).</summary>
    public static List<ProfileSiteRules> Of(IEnumerable<ProfileDto> profiles) =>
        profiles
            .Select(p => (Profile: p, Filter: PolicySettings.ToWebFilter(PolicySettings.Parse(p.Settings).Settings)))
            .Where(x => x.Filter.BlockedSites.Count + x.Filter.AllowedSites.Count > 0)
            .Select(x => new ProfileSiteRules(x.Profile.Id, x.Profile.Name, x.Filter.BlockedSites, x.Filter.AllowedSites))
            .ToList();

    /// <summary>
    /// What this profile's site rules say about a URL, as the web filter decides them (an allowed site
    /// beats a blocked one; the most specific host first): the rule that matched, or null.
    /// </summary>
    public SiteRuleMatch? Match(string url)
    {
        var explanation = WebFilter.Compile(FilterList.Empty, new WebFilterSettings([], [], BlockedSites, AllowedSites, AllowOnly: false)).Explain(url);
        return explanation.Reason is FilterReason.AllowedSite or FilterReason.BlockedSite
            ? new SiteRuleMatch(Profile, explanation.Rule!, explanation.Blocked)
            : null;
    }
}

/// <summary>A profile's site rule that decides a URL: blocks it or allows it.</summary>
public sealed record SiteRuleMatch(string Profile, string Rule, bool Blocked);
