using System.Text.Json.Serialization;

namespace Homeroom.Rules.Safety;

/// <summary>What a concerning phrase is about.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SafetyCategory>))]
public enum SafetyCategory
{
    [JsonStringEnumMemberName("selfHarm")]
    SelfHarm,
    [JsonStringEnumMemberName("bullying")]
    Bullying,
    [JsonStringEnumMemberName("violence")]
    Violence,
    [JsonStringEnumMemberName("drugs")]
    Drugs,
    [JsonStringEnumMemberName("sexual")]
    Sexual,
    [JsonStringEnumMemberName("extremism")]
    Extremism,
}

/// <summary>How serious a score is; ordered, so comparisons (<c>&gt;=</c>) are meaningful.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SafetySeverity>))]
public enum SafetySeverity
{
    [JsonStringEnumMemberName("none")]
    None,
    [JsonStringEnumMemberName("low")]
    Low,
    [JsonStringEnumMemberName("medium")]
    Medium,
    [JsonStringEnumMemberName("high")]
    High,
    [JsonStringEnumMemberName("imminent")]
    Imminent,
}

/// <summary>
/// A context rule of one entry: when <paramref name="Phrase"/> occurs near a match (same sentence,
/// at most <see cref="SafetyScoring.ContextWindowWords"/> words away), the match's weight is multiplied by
/// <paramref name="Factor"/>. Factor &gt; 1 raises (first person, intent, time), &lt; 1 lowers ("prevention", "movie").
/// A raising factor of at least <see cref="SafetyScoring.UrgencyFactor"/> marks intent, plan or time (needed for imminent).
/// </summary>
public sealed record ContextRule(string Phrase, double Factor);

/// <summary>One lexicon entry. Phrase is written naturally ("kill myself"); Language is "en", "es" or "any".</summary>
public sealed record LexiconEntry(string Phrase, SafetyCategory Category, double Weight, string Language, IReadOnlyList<ContextRule> Context);

/// <summary>
/// A district's changes to the built-in lexicon: entries added, phrases removed, phrases re-weighted, and
/// false-positive demotions (this phrase, when this context phrase is near, is multiplied by Factor).
/// Phrases are compared after normalisation, in every category.
/// </summary>
public sealed record LexiconAdjustments(
    IReadOnlyList<LexiconEntry> Added,
    IReadOnlyList<string> Removed,
    IReadOnlyDictionary<string, double> Weights,
    IReadOnlyList<FalsePositiveRule> Demotions)
{
    public static LexiconAdjustments None { get; } = new([], [], new Dictionary<string, double>(), []);
}

/// <summary>A false-positive demotion: <paramref name="Phrase"/>, when <paramref name="Context"/> is near, is multiplied by <paramref name="Factor"/>.</summary>
public sealed record FalsePositiveRule(string Phrase, string Context, double Factor);

/// <summary>The result of importing a phrase list: the entries read and every error with its line.</summary>
public sealed record LexiconImport(IReadOnlyList<LexiconEntry> Entries, IReadOnlyList<LexiconImportError> Errors)
{
    public bool IsValid => Errors.Count == 0;
}

/// <summary>One refused line of an imported list (1-based line number; 0 for the whole input).</summary>
public sealed record LexiconImportError(int Line, string Message);

/// <summary>A scan's decision with its explanation.</summary>
public sealed record SafetyVerdict(
    SafetySeverity Severity,
    SafetyCategory? Category,
    IReadOnlyList<CategoryScore> Scores,
    IReadOnlyList<PhraseMatch> Matches,
    bool Truncated)
{
    public bool IsMatch => Matches.Count > 0;

    public static SafetyVerdict Nothing { get; } = new(SafetySeverity.None, null, [], [], false);
}

/// <summary>The score of one category (sum of its matches' context-adjusted weights, see docs/safety.md) and its severity.</summary>
public sealed record CategoryScore(SafetyCategory Category, double Score, SafetySeverity Severity);

/// <summary>One matched phrase. Start/Length are offsets in the ORIGINAL text (UTF-16), Text the original characters there.</summary>
public sealed record PhraseMatch(string Phrase, SafetyCategory Category, int Start, int Length, string Text,
    double BaseWeight, double Weight, IReadOnlyList<AppliedContext> Context);

/// <summary>A context rule or false-positive demotion that changed a match's weight, where it was found in the original text.</summary>
public sealed record AppliedContext(string Phrase, double Factor, int Start, int Length, bool IsDemotion);
