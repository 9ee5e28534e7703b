namespace Homeroom.Rules.Safety;

/// <summary>
/// A validated set of weighted entries (and a district's false-positive demotions). Immutable: <see cref="With"/>
/// returns a new lexicon. An entry whose normalised phrase and category equal an earlier one's replaces it.
/// </summary>
public sealed class SafetyLexicon
{
    /// <summary>The longest phrase accepted, in characters.</summary>
    public const int MaxPhraseLength = 200;

    /// <summary>The largest weight accepted.</summary>
    public const double MaxWeight = 1000;

    /// <summary>The largest context factor accepted (the smallest is anything above 0).</summary>
    public const double MaxFactor = 100;

    private static readonly Lazy<SafetyLexicon> BuiltInLexicon = new(() => Build(BuiltInEntries.All()), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly string[] normalizedPhrases;

    private SafetyLexicon(List<LexiconEntry> entries, List<string> normalized, IReadOnlyList<FalsePositiveRule> demotions)
    {
        Entries = entries;
        normalizedPhrases = [.. normalized];
        Demotions = demotions;
    }

    /// <summary>The shipped English and Spanish lexicon (built once, on first use).</summary>
    public static SafetyLexicon BuiltIn => BuiltInLexicon.Value;

    public IReadOnlyList<LexiconEntry> Entries { get; }

    public int Count => Entries.Count;

    /// <summary>The false-positive demotions applied on top of the entries' own context rules.</summary>
    public IReadOnlyList<FalsePositiveRule> Demotions { get; }

    internal string NormalizedPhrase(int entry) => normalizedPhrases[entry];

    /// <summary>Validates the entries; throws <see cref="ArgumentException"/> naming the first bad one.</summary>
    public static SafetyLexicon Build(IEnumerable<LexiconEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var list = new List<LexiconEntry>();
        var normalized = new List<string>();
        var index = new Dictionary<(string, SafetyCategory), int>();
        var phraseCache = new Dictionary<string, string>(StringComparer.Ordinal);
        var n = 0;
        foreach (var entry in entries)
        {
            var phrase = Validate(entry, n, phraseCache);
            if (index.TryGetValue((phrase, entry.Category), out var existing))
            {
                list[existing] = entry;
            }
            else
            {
                index[(phrase, entry.Category)] = list.Count;
                list.Add(entry);
                normalized.Add(phrase);
            }

            n++;
        }

        return new SafetyLexicon(list, normalized, []);
    }

    /// <summary>A new lexicon with a district's adjustments; this one is unchanged. Throws <see cref="ArgumentException"/> on a bad adjustment.</summary>
    public SafetyLexicon With(LexiconAdjustments adjustments)
    {
        ArgumentNullException.ThrowIfNull(adjustments);
        var removed = adjustments.Removed.Select(CheckedPhrase).ToHashSet(StringComparer.Ordinal);
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (phrase, weight) in adjustments.Weights)
        {
            CheckWeight(weight, phrase);
            weights[CheckedPhrase(phrase)] = weight;
        }

        var demotions = new List<FalsePositiveRule>(Demotions);
        foreach (var rule in adjustments.Demotions)
        {
            ArgumentNullException.ThrowIfNull(rule);
            CheckedPhrase(rule.Phrase);
            CheckedPhrase(rule.Context);
            CheckFactor(rule.Factor, rule.Phrase);
            demotions.Add(rule);
        }

        var kept = new List<LexiconEntry>();
        for (var i = 0; i < Entries.Count; i++)
        {
            var phrase = normalizedPhrases[i];
            if (removed.Contains(phrase))
            {
                continue;
            }

            kept.Add(weights.TryGetValue(phrase, out var weight) ? Entries[i] with { Weight = weight } : Entries[i]);
        }

        var rebuilt = Build(kept.Concat(adjustments.Added));
        return new SafetyLexicon([.. rebuilt.Entries], [.. rebuilt.normalizedPhrases], demotions);
    }

    private static string Validate(LexiconEntry entry, int position, Dictionary<string, string> phraseCache)
    {
        if (entry is null)
        {
            throw new ArgumentException($"Entry {position} is null.", nameof(entry));
        }

        var phrase = CachedPhrase(entry.Phrase, position, phraseCache);
        if (!Enum.IsDefined(entry.Category))
        {
            throw new ArgumentException($"Entry {position} ('{entry.Phrase}') has an unknown category.", nameof(entry));
        }

        CheckWeight(entry.Weight, entry.Phrase);
        if (entry.Language is not ("en" or "es" or "any"))
        {
            throw new ArgumentException($"Entry {position} ('{entry.Phrase}') has language '{entry.Language}'; expected en, es or any.", nameof(entry));
        }

        if (entry.Context is null)
        {
            throw new ArgumentException($"Entry {position} ('{entry.Phrase}') has no context list (use an empty one).", nameof(entry));
        }

        foreach (var rule in entry.Context)
        {
            if (rule is null)
            {
                throw new ArgumentException($"Entry {position} ('{entry.Phrase}') has a null context rule.", nameof(entry));
            }

            CachedPhrase(rule.Phrase, position, phraseCache);
            CheckFactor(rule.Factor, entry.Phrase);
        }

        return phrase;
    }

    private static string CachedPhrase(string? phrase, int position, Dictionary<string, string> cache)
    {
        if (phrase is not null && cache.TryGetValue(phrase, out var normalized))
        {
            return normalized;
        }

        try
        {
            normalized = CheckedPhrase(phrase);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Entry {position}: {e.Message}", nameof(phrase), e);
        }

        cache[phrase!] = normalized;
        return normalized;
    }

    internal static string CheckedPhrase(string? phrase)
    {
        if (string.IsNullOrWhiteSpace(phrase))
        {
            throw new ArgumentException("A phrase is empty.", nameof(phrase));
        }

        if (phrase.Length > MaxPhraseLength)
        {
            throw new ArgumentException($"The phrase '{phrase[..40]}…' is longer than {MaxPhraseLength} characters.", nameof(phrase));
        }

        var normalized = SafetyNormalizer.NormalizePhrase(phrase);
        if (normalized.Length == 0)
        {
            throw new ArgumentException($"The phrase '{phrase}' has no letters or digits.", nameof(phrase));
        }

        return normalized;
    }

    private static void CheckWeight(double weight, string phrase)
    {
        if (!double.IsFinite(weight) || weight <= 0 || weight > MaxWeight)
        {
            throw new ArgumentException($"The weight of '{phrase}' must be above 0 and at most {MaxWeight}.", nameof(weight));
        }
    }

    private static void CheckFactor(double factor, string phrase)
    {
        if (!double.IsFinite(factor) || factor <= 0 || factor > MaxFactor)
        {
            throw new ArgumentException($"A context factor of '{phrase}' must be above 0 and at most {MaxFactor}.", nameof(factor));
        }
    }
}
