using System.Text;
using Homeroom.Rules.Safety;

namespace Homeroom.Rules.Tests.Safety;

/// <summary>The fast scanner against <see cref="ReferenceSafetyScanner"/> on random mixes of lexicon phrases, context phrases, look-alikes, noise and odd Unicode.</summary>
public sealed class SafetyScannerDifferentialTests
{
    private static readonly string[] Noise =
    [
        "the", "homework", "lol", "i", "a", "skill", "therapist", "tonight", "movie", "essay", "2024", "10", "prevention",
        "kill", "killing", "mañana", "jajaja", "\u200B", "\u202E", "\uD800", "\uDC00", "😭", "🇰🇮🇱🇱", "𝐤𝐢𝐥𝐥", "ｋｉｌｌ",
        "é", "\u0301", ".", "!", "?", "\n", "-", "'", "@", "$", "k i l l", "s.u.i.c.i.d.e", "ß", "İ", "ﬁ", "ǅ", "١٢", "中文",
    ];

    public static TheoryData<int> Seeds() => [.. Enumerable.Range(1, 8)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Scan_RandomTexts_SameAsReference(int seed)
    {
        var random = new Random(seed);
        var lexicon = seed % 2 == 0 ? SafetyLexicon.BuiltIn : Adjusted();
        var scanner = new SafetyScanner(lexicon);
        var phrases = lexicon.Entries.Select(e => e.Phrase)
            .Concat(lexicon.Entries.SelectMany(e => e.Context).Select(c => c.Phrase).Distinct())
            .Concat(lexicon.Demotions.Select(d => d.Context))
            .ToArray();
        var matched = 0;
        for (var n = 0; n < 250; n++)
        {
            var text = RandomText(random, phrases);
            var fast = scanner.Scan(text);
            matched += fast.IsMatch ? 1 : 0;
            var slow = ReferenceSafetyScanner.Scan(lexicon, text);
            Describe(fast).ShouldBe(Describe(slow), $"text: {Escape(text)}");
        }

        // Most random texts must match something, or the comparison says little.
        matched.ShouldBeGreaterThan(150);
    }

    // Texts with many phrases: more than 16 automaton hits, where context rules go through per-key links
    // rather than through all hits (SafetyScanner.Explain), with matches in both categories and contexts.
    [Theory]
    [MemberData(nameof(Seeds))]
    public void Scan_RandomTextsWithManyPhrases_SameAsReference(int seed)
    {
        var random = new Random(seed + 1000);
        var lexicon = seed % 2 == 0 ? SafetyLexicon.BuiltIn : Adjusted();
        var scanner = new SafetyScanner(lexicon);
        var phrases = lexicon.Entries.Select(e => e.Phrase)
            .Concat(lexicon.Entries.SelectMany(e => e.Context).Select(c => c.Phrase).Distinct())
            .Concat(lexicon.Demotions.Select(d => d.Context))
            .ToArray();
        var withContext = 0;
        for (var n = 0; n < 40; n++)
        {
            var text = RandomText(random, phrases, minParts: 30, maxParts: 60);
            var fast = scanner.Scan(text);
            fast.Matches.Count.ShouldBeGreaterThan(0);
            // More than 16 distinct match spans means more than 16 hits; at least one match must have context applied.
            var manyHits = fast.Matches.Select(m => (m.Start, m.Length)).Distinct().Count() > 16;
            withContext += manyHits && fast.Matches.Any(m => m.Context.Count > 0) ? 1 : 0;
            Describe(fast).ShouldBe(Describe(ReferenceSafetyScanner.Scan(lexicon, text)), $"text: {Escape(text)}");
        }

        // Most texts must have many matches with context applied, or the linked search is barely used.
        withContext.ShouldBeGreaterThan(20);
    }

    [Fact]
    public void Scan_TextLongerThanLimit_SameAsReferenceAndTruncated()
    {
        var random = new Random(99);
        var phrases = SafetyLexicon.BuiltIn.Entries.Select(e => e.Phrase).ToArray();
        var text = new StringBuilder();
        while (text.Length < SafetyScanner.MaxTextLength + 500)
        {
            text.Append(RandomText(random, phrases)).Append(' ');
        }

        var fast = new SafetyScanner(SafetyLexicon.BuiltIn).Scan(text.ToString());
        fast.Truncated.ShouldBeTrue();
        Describe(fast).ShouldBe(Describe(ReferenceSafetyScanner.Scan(SafetyLexicon.BuiltIn, text.ToString())));
    }

    private static SafetyLexicon Adjusted() => SafetyLexicon.BuiltIn.With(new LexiconAdjustments(
        [new LexiconEntry("kill the lights", SafetyCategory.Violence, 5, "en", [new ContextRule("tonight", 2)])],
        ["loser"],
        new Dictionary<string, double> { ["kill"] = 12 },
        [new FalsePositiveRule("kill", "minecraft", 0.25), new FalsePositiveRule("suicide", "essay", 0.5)]));

    private static string RandomText(Random random, string[] phrases, int minParts = 1, int maxParts = 12)
    {
        var text = new StringBuilder();
        var parts = random.Next(minParts, maxParts);
        for (var p = 0; p < parts; p++)
        {
            var part = random.Next(3) == 0 ? Noise[random.Next(Noise.Length)] : phrases[random.Next(phrases.Length)];
            text.Append(Disguise(random, part)).Append(random.Next(5) switch { 0 => ". ", 1 => "  ", 2 => "\u200B ", _ => " " });
        }

        return text.ToString();
    }

    private static string Disguise(Random random, string phrase) => random.Next(8) switch
    {
        0 => phrase.ToUpperInvariant(),
        1 => phrase.Replace('i', '1').Replace('e', '3').Replace('s', '$'),
        2 => string.Join(' ', phrase.ToCharArray()),
        3 => string.Join('\u200D', phrase.ToCharArray()),
        4 => phrase.Replace("a", "aaa", StringComparison.Ordinal).Replace('o', 'о'),
        5 => phrase.Replace('e', 'é'),
        _ => phrase,
    };

    /// <summary>A verdict in full, one line per score, match and context, so two verdicts compare as text.</summary>
    internal static string Describe(SafetyVerdict verdict)
    {
        var text = new StringBuilder();
        text.AppendLine(FormattableString.Invariant($"{verdict.Severity} {verdict.Category} truncated={verdict.Truncated}"));
        foreach (var score in verdict.Scores)
        {
            text.AppendLine(FormattableString.Invariant($"  {score.Category} {score.Score:F6} {score.Severity}"));
        }

        foreach (var m in verdict.Matches)
        {
            text.AppendLine(FormattableString.Invariant($"  {m.Phrase}/{m.Category} @{m.Start}+{m.Length} '{Escape(m.Text)}' {m.BaseWeight} -> {m.Weight:F6}"));
            foreach (var c in m.Context)
            {
                text.AppendLine(FormattableString.Invariant($"    {c.Phrase} x{c.Factor} @{c.Start}+{c.Length} demotion={c.IsDemotion}"));
            }
        }

        return text.ToString();
    }

    internal static string Escape(string text) =>
        string.Concat(text.Select(c => c is < ' ' or > '~' ? $"\\u{(int)c:X4}" : c.ToString()));
}
