namespace Homeroom.Rules.Filtering;

/// <summary>
/// The web filter part of a policy. Sites are host names (covering their subdomains; a leading
/// <c>*.</c> is accepted and means the same) or a host with a path prefix (<c>example.com/games</c>).
/// </summary>
/// <param name="BlockedCategories">Categories of the filter lists to block.</param>
/// <param name="AllowedCategories">Categories to allow even when a blocked category also lists the site.</param>
/// <param name="BlockedSites">Sites to block.</param>
/// <param name="AllowedSites">Sites to allow; they beat every block.</param>
/// <param name="AllowOnly">Block everything except allowed sites and allowed categories (focus mode, young grades).</param>
public sealed record WebFilterSettings(
    IReadOnlyList<string> BlockedCategories,
    IReadOnlyList<string> AllowedCategories,
    IReadOnlyList<string> BlockedSites,
    IReadOnlyList<string> AllowedSites,
    bool AllowOnly)
{
    /// <summary>Most site rules in one policy (blocked and allowed together).</summary>
    public const int MaxSites = 20_000;

    /// <summary>Filters nothing.</summary>
    public static WebFilterSettings None { get; } = new([], [], [], [], AllowOnly: false);
}

/// <summary>What a decision was based on.</summary>
public enum FilterReason
{
    /// <summary>No rule matched; allowed.</summary>
    NoRule,
    /// <summary>An allowed site matched.</summary>
    AllowedSite,
    /// <summary>A blocked site matched.</summary>
    BlockedSite,
    /// <summary>A category the policy allows lists the site.</summary>
    AllowedCategory,
    /// <summary>A category the policy blocks lists the site.</summary>
    BlockedCategory,
    /// <summary>Allow-only mode and nothing allowed it.</summary>
    NotAllowed,
    /// <summary>The URL could not be parsed; blocked.</summary>
    InvalidUrl,
}

/// <summary>A decision, without strings: cheap enough to make millions of times a second.</summary>
/// <param name="Blocked">Whether the URL is blocked.</param>
/// <param name="Reason">Why.</param>
/// <param name="Detail">The site rule's index, or the matched category-set id; -1 when none.</param>
/// <param name="MatchStart">Where the matched host suffix starts in the canonical host; -1 when none.</param>
public readonly record struct FilterDecision(bool Blocked, FilterReason Reason, int Detail, int MatchStart);

/// <summary>A decision explained for people: which rule or category, and which listed host.</summary>
/// <param name="Url">The URL asked about.</param>
/// <param name="Host">Its canonical host, when it parsed.</param>
/// <param name="Blocked">Whether it is blocked.</param>
/// <param name="Reason">Why.</param>
/// <param name="Rule">The site rule that matched, as written in the policy.</param>
/// <param name="Category">The category that decided it.</param>
/// <param name="MatchedHost">The listed host (a suffix of <paramref name="Host"/>) that matched.</param>
/// <param name="Error">Why the URL could not be parsed.</param>
public sealed record FilterExplanation(
    string Url,
    string? Host,
    bool Blocked,
    FilterReason Reason,
    string? Rule,
    string? Category,
    string? MatchedHost,
    string? Error);
