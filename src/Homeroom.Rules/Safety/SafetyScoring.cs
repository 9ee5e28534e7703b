using System.Numerics;
using System.Runtime.CompilerServices;

namespace Homeroom.Rules.Safety;

/// <summary>
/// How matches become scores and severities (docs/safety.md, "Scoring"). A category's score is the sum, over
/// its distinct entries, of each entry's highest context-adjusted weight in the text (a phrase repeated fifty
/// times counts once). Severity: low from 10, medium from 30, high from 60; imminent from 90 for self-harm and
/// violence only, and only when an intent, plan or time rule (factor at least <see cref="UrgencyFactor"/>) raised a
/// match of that category; otherwise such a score is high.
/// </summary>
public static class SafetyScoring
{
    public const double LowThreshold = 10;
    public const double MediumThreshold = 30;
    public const double HighThreshold = 60;
    public const double ImminentThreshold = 90;

    /// <summary>A raising context rule with at least this factor is an intent, plan or time rule.</summary>
    public const double UrgencyFactor = 1.5;

    /// <summary>A context phrase applies when it is in the same sentence and at most this many words from the match.</summary>
    public const int ContextWindowWords = 8;

    public static SafetySeverity Severity(SafetyCategory category, double score, bool urgent)
    {
        if (score >= ImminentThreshold && urgent && category is SafetyCategory.SelfHarm or SafetyCategory.Violence)
        {
            return SafetySeverity.Imminent;
        }

        return score switch
        {
            >= HighThreshold => SafetySeverity.High,
            >= MediumThreshold => SafetySeverity.Medium,
            >= LowThreshold => SafetySeverity.Low,
            _ => SafetySeverity.None,
        };
    }

    /// <summary>True when a match was raised by an intent, plan or time rule.</summary>
    public static bool IsUrgent(PhraseMatch match)
    {
        ArgumentNullException.ThrowIfNull(match);
        foreach (var applied in match.Context)
        {
            if (!applied.IsDemotion && applied.Factor >= UrgencyFactor)
            {
                return true;
            }
        }

        return false;
    }

    // Up to this many matches (nearly every text that matches), the verdict is computed without dictionaries or
    // sorting; larger lists take the general way below. Both give the same verdict.
    private const int SmallVerdictMatches = 32;
    private const int CategoryCount = (int)SafetyCategory.Extremism + 1;

    /// <summary>The verdict of a list of matches in text order (the scanner's last step, public so any caller scores the same way).</summary>
    public static SafetyVerdict Verdict(IReadOnlyList<PhraseMatch> matches, bool truncated)
    {
        ArgumentNullException.ThrowIfNull(matches);
        if (matches.Count == 0)
        {
            return truncated ? SafetyVerdict.Nothing with { Truncated = true } : SafetyVerdict.Nothing;
        }

        if (matches.Count <= SmallVerdictMatches && SmallVerdict(matches, truncated) is { } small)
        {
            return small;
        }

        return GeneralVerdict(matches, truncated);
    }

    /// <summary>The general way to <see cref="Verdict"/> for any list (internal: tests compare it with the short-list way).</summary>
    internal static SafetyVerdict GeneralVerdict(IReadOnlyList<PhraseMatch> matches, bool truncated)
    {
        if (matches.Count == 0)
        {
            return truncated ? SafetyVerdict.Nothing with { Truncated = true } : SafetyVerdict.Nothing;
        }

        var best = new Dictionary<(SafetyCategory, string), double>();
        var urgent = new HashSet<SafetyCategory>();
        foreach (var match in matches)
        {
            var key = (match.Category, match.Phrase);
            best[key] = best.TryGetValue(key, out var weight) ? Math.Max(weight, match.Weight) : match.Weight;
            if (IsUrgent(match))
            {
                urgent.Add(match.Category);
            }
        }

        var sums = new SortedDictionary<SafetyCategory, double>();
        foreach (var ((category, _), weight) in best.OrderBy(p => p.Key.Item2, StringComparer.Ordinal))
        {
            sums[category] = sums.GetValueOrDefault(category) + weight;
        }

        var scores = sums.Select(p => new CategoryScore(p.Key, p.Value, Severity(p.Key, p.Value, urgent.Contains(p.Key)))).ToList();
        var top = scores.OrderByDescending(s => s.Score).ThenByDescending(s => s.Severity).ThenBy(s => s.Category).First();
        return new SafetyVerdict(scores.Max(s => s.Severity), top.Category, scores, matches, truncated);
    }

    // Verdict's result for a short list, in the same steps and the same floating-point order: each distinct
    // (category, phrase) keeps its highest weight, a category's score adds those in ordinal order of the phrase,
    // categories in enum order, the top one by score, then severity, then category. Null for an unknown category.
    [SkipLocalsInit]
    private static SafetyVerdict? SmallVerdict(IReadOnlyList<PhraseMatch> matches, bool truncated)
    {
        Span<int> keyMatch = stackalloc int[SmallVerdictMatches];
        Span<double> keyWeight = stackalloc double[SmallVerdictMatches];
        var keys = 0;
        var urgent = 0;
        for (var m = 0; m < matches.Count; m++)
        {
            var match = matches[m];
            var category = (int)match.Category;
            if ((uint)category >= CategoryCount)
            {
                return null;
            }

            var k = 0;
            while (k < keys && !(matches[keyMatch[k]].Category == match.Category && string.Equals(matches[keyMatch[k]].Phrase, match.Phrase, StringComparison.Ordinal)))
            {
                k++;
            }

            if (k == keys)
            {
                keyMatch[keys] = m;
                keyWeight[keys] = match.Weight;
                keys++;
            }
            else
            {
                keyWeight[k] = Math.Max(keyWeight[k], match.Weight);
            }

            urgent |= IsUrgent(match) ? 1 << category : 0;
        }

        // A stable insertion sort by phrase, as OrderBy is stable.
        for (var k = 1; k < keys; k++)
        {
            var movingMatch = keyMatch[k];
            var movingWeight = keyWeight[k];
            var phrase = matches[movingMatch].Phrase;
            var at = k;
            while (at > 0 && string.CompareOrdinal(matches[keyMatch[at - 1]].Phrase, phrase) > 0)
            {
                keyMatch[at] = keyMatch[at - 1];
                keyWeight[at] = keyWeight[at - 1];
                at--;
            }

            keyMatch[at] = movingMatch;
            keyWeight[at] = movingWeight;
        }

        Span<double> sums = stackalloc double[CategoryCount];
        sums.Clear();
        var present = 0;
        for (var k = 0; k < keys; k++)
        {
            var category = (int)matches[keyMatch[k]].Category;
            sums[category] += keyWeight[k];
            present |= 1 << category;
        }

        var scores = new List<CategoryScore>(BitOperations.PopCount((uint)present));
        CategoryScore? top = null;
        var severity = SafetySeverity.None;
        for (var category = 0; category < CategoryCount; category++)
        {
            if ((present & (1 << category)) == 0)
            {
                continue;
            }

            var score = new CategoryScore((SafetyCategory)category, sums[category], Severity((SafetyCategory)category, sums[category], (urgent & (1 << category)) != 0));
            scores.Add(score);
            severity = score.Severity > severity ? score.Severity : severity;
            if (top is null || score.Score.CompareTo(top.Score) > 0 || (score.Score.CompareTo(top.Score) == 0 && score.Severity > top.Severity))
            {
                top = score;
            }
        }

        return new SafetyVerdict(severity, top!.Category, scores, matches, truncated);
    }
}
