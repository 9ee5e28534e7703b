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

    /// <summary>The verdict of a list of matches in text order (the scanner's last step, public so any caller scores the same way).</summary>
    public static SafetyVerdict Verdict(IReadOnlyList<PhraseMatch> matches, bool truncated)
    {
        ArgumentNullException.ThrowIfNull(matches);
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
}
