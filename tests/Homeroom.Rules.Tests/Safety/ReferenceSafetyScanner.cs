using Homeroom.Rules.Safety;

namespace Homeroom.Rules.Tests.Safety;

/// <summary>
/// The obviously right, slow scanner: normalise, then look for every entry's phrase with a plain string search and
/// a word-boundary check; drop a match lying inside a longer one; for every context rule, search its phrase the same
/// way and take the nearest occurrence in the same sentence within the window; score by the documented rule.
/// </summary>
public static class ReferenceSafetyScanner
{
    public static SafetyVerdict Scan(SafetyLexicon lexicon, string text)
    {
        var truncated = text.Length > SafetyScanner.MaxTextLength;
        var normalized = SafetyNormalizer.Normalize(truncated ? text[..SafetyScanner.MaxTextLength] : text);
        var norm = normalized.Text;
        var found = new List<(int Entry, int Start, int End)>();
        for (var e = 0; e < lexicon.Count; e++)
        {
            foreach (var start in Occurrences(norm, SafetyNormalizer.NormalizePhrase(lexicon.Entries[e].Phrase)))
            {
                found.Add((e, start, start + SafetyNormalizer.NormalizePhrase(lexicon.Entries[e].Phrase).Length));
            }
        }

        var kept = found
            .Where(m => !found.Any(o => o.Start <= m.Start && m.End <= o.End && o.End - o.Start > m.End - m.Start))
            .OrderBy(m => m.Start).ThenByDescending(m => m.End).ThenBy(m => m.Entry)
            .ToList();
        var matches = new List<PhraseMatch>();
        foreach (var (e, start, end) in kept)
        {
            var entry = lexicon.Entries[e];
            var phrase = SafetyNormalizer.NormalizePhrase(entry.Phrase);
            var rules = entry.Context.Select(r => (r.Phrase, r.Factor, Demotion: false))
                .Concat(lexicon.Demotions.Where(d => SafetyNormalizer.NormalizePhrase(d.Phrase) == phrase).Select(d => (Phrase: d.Context, d.Factor, Demotion: true)));
            var weight = entry.Weight;
            var applied = new List<AppliedContext>();
            foreach (var (rulePhrase, factor, demotion) in rules)
            {
                var context = SafetyNormalizer.NormalizePhrase(rulePhrase);
                var best = Occurrences(norm, context)
                    .Select(s => (Start: s, End: s + context.Length))
                    .Where(o => !norm[Math.Min(o.Start, start)..Math.Max(o.End, end)].Contains('\n', StringComparison.Ordinal))
                    .Select(o => (o.Start, o.End, Distance: WordDistance(norm, start, end, o.Start, o.End)))
                    .Where(o => o.Distance <= SafetyScoring.ContextWindowWords)
                    .OrderBy(o => o.Distance).ThenBy(o => o.Start)
                    .FirstOrDefault((-1, -1, 0));
                if (best.Item1 >= 0)
                {
                    weight *= factor;
                    var at = normalized.OriginalStart(best.Item1);
                    applied.Add(new AppliedContext(rulePhrase, factor, at, normalized.OriginalEnd(best.Item2 - 1) - at, demotion));
                }
            }

            var origin = normalized.OriginalStart(start);
            var originEnd = normalized.OriginalEnd(end - 1);
            matches.Add(new PhraseMatch(entry.Phrase, entry.Category, origin, originEnd - origin, text[origin..originEnd], entry.Weight, weight, applied));
        }

        if (matches.Count == 0)
        {
            return SafetyVerdict.Nothing with { Truncated = truncated };
        }

        var scores = matches
            .GroupBy(m => m.Category)
            .OrderBy(g => g.Key)
            .Select(g =>
            {
                var score = g.GroupBy(m => m.Phrase).Sum(p => p.Max(m => m.Weight));
                var urgent = g.Any(m => m.Context.Any(c => !c.IsDemotion && c.Factor >= SafetyScoring.UrgencyFactor));
                return new CategoryScore(g.Key, score, SafetyScoring.Severity(g.Key, score, urgent));
            })
            .ToList();
        var top = scores.OrderByDescending(s => s.Score).ThenByDescending(s => s.Severity).ThenBy(s => s.Category).First();
        return new SafetyVerdict(scores.Max(s => s.Severity), top.Category, scores, matches, truncated);
    }

    private static IEnumerable<int> Occurrences(string text, string phrase)
    {
        for (var i = text.IndexOf(phrase, StringComparison.Ordinal); i >= 0; i = text.IndexOf(phrase, i + 1, StringComparison.Ordinal))
        {
            var end = i + phrase.Length;
            if ((i == 0 || text[i - 1] is ' ' or '\n') && (end == text.Length || text[end] is ' ' or '\n'))
            {
                yield return i;
            }
        }
    }

    // Separators between two spans (0 when they overlap): 1 for neighbouring words.
    private static int WordDistance(string text, int aStart, int aEnd, int bStart, int bEnd)
    {
        var (from, to) = bStart >= aEnd ? (aEnd, bStart) : aStart >= bEnd ? (bEnd, aStart) : (0, 0);
        var separators = 0;
        for (var i = from; i < to; i++)
        {
            separators += text[i] is ' ' or '\n' ? 1 : 0;
        }

        return separators;
    }
}
