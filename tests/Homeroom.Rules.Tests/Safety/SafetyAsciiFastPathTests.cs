using System.Text;
using Homeroom.Rules.Safety;

namespace Homeroom.Rules.Tests.Safety;

/// <summary>
/// The scanner's ASCII fast path (docs/safety.md, "Performance"): whenever it says "nothing", the full normalising path
/// must find nothing too, and <see cref="SafetyScanner.Scan"/> must give exactly the full path's verdict.
/// </summary>
public sealed class SafetyAsciiFastPathTests
{
    private static readonly string[] Words =
    [
        "the", "homework", "lol", "i", "a", "I", "u", "skill", "skills", "killer", "killing", "tonight", "movie", "essay",
        "2024", "10", "3.5", "google.com", "prevention", "don't", "it's", "o'clock", "x", "ok", "aa", "@", "$", "$5", "@home",
        "b4", "gr8", "l33t", "n00b", "mr.", "e.g.", "a.m.", "k", "ii", "1", "11", "1i", "q&a", "2@4", "$100", "@@", "1$", "8'", "4@",
    ];

    private static readonly string[] Gaps = [" ", "  ", ". ", ", ", "! ", "? ", "\n", "\r\n", " - ", "...", "\t", ";", " ' ", "`", "/", " @ "];

    public static TheoryData<int> Seeds() => [.. Enumerable.Range(1, 12)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Scan_RandomAsciiTexts_FastNothingOnlyWhenFullPathFindsNothing(int seed)
    {
        var random = new Random(seed * 7919);
        var lexicon = seed % 2 == 0 ? SafetyLexicon.BuiltIn : Adjusted();
        var scanner = new SafetyScanner(lexicon);
        var phrases = lexicon.Entries.Select(e => e.Phrase)
            .Concat(lexicon.Entries.SelectMany(e => e.Context).Select(c => c.Phrase).Distinct())
            .Concat(lexicon.Demotions.Select(d => d.Context))
            .Where(p => p.All(char.IsAscii))
            .ToArray();
        int provedNothing = 0, fullMatched = 0, fellBackToNothing = 0;
        for (var n = 0; n < 1500; n++)
        {
            var text = RandomText(random, phrases);
            var fast = scanner.FastPathProvesNothing(text);
            var full = scanner.ScanFullPath(text);
            if (fast)
            {
                full.IsMatch.ShouldBeFalse($"the fast path said nothing, the full path matched: {SafetyScannerDifferentialTests.Escape(text)}");
                provedNothing++;
            }
            else if (!full.IsMatch)
            {
                fellBackToNothing++;
            }

            fullMatched += full.IsMatch ? 1 : 0;
            SafetyScannerDifferentialTests.Describe(scanner.Scan(text)).ShouldBe(SafetyScannerDifferentialTests.Describe(full), $"text: {SafetyScannerDifferentialTests.Escape(text)}");
        }

        // Both answers must be common, or the comparison says little.
        provedNothing.ShouldBeGreaterThan(150);
        fullMatched.ShouldBeGreaterThan(300);
        fellBackToNothing.ShouldBeGreaterThan(10);
    }

    [Theory]
    [InlineData("my homework is due tomorrow lol")]
    [InlineData("I think a skill is a good thing to have")]
    [InlineData("gr8 game, b4 2024 and 3.5 points")]
    [InlineData("don't @ me, it's $5")]
    public void FastPathProvesNothing_HarmlessAscii_True(string text)
    {
        var scanner = new SafetyScanner(SafetyLexicon.BuiltIn);
        scanner.ScanFullPath(text).IsMatch.ShouldBeFalse();
        scanner.FastPathProvesNothing(text).ShouldBeTrue();
        scanner.Scan(text).ShouldBeSameAs(SafetyVerdict.Nothing);
    }

    [Theory]
    [InlineData("i want to kill myself")]
    [InlineData("KILL")]
    [InlineData("k1ll")]
    [InlineData("kiiiiill")]
    [InlineData("ki'll")]
    [InlineData("k i l l")]
    [InlineData("s.u.i.c.i.d.e")]
    [InlineData("x y z")]
    [InlineData("kill\u200B")]
    [InlineData("caf\u00E9")]
    [InlineData("k\u200Bill")]
    public void FastPathProvesNothing_PhraseSpreadLettersOrNonAscii_False(string text)
    {
        new SafetyScanner(SafetyLexicon.BuiltIn).FastPathProvesNothing(text).ShouldBeFalse();
    }

    private static SafetyLexicon Adjusted() => SafetyLexicon.BuiltIn.With(new LexiconAdjustments(
        [
            new LexiconEntry("kill the lights", SafetyCategory.Violence, 5, "en", [new ContextRule("tonight", 2)]),
            new LexiconEntry("area 51 raid", SafetyCategory.Violence, 5, "en", []),
            new LexiconEntry("420", SafetyCategory.Drugs, 5, "en", []),
        ],
        ["loser"],
        new Dictionary<string, double> { ["kill"] = 12 },
        [new FalsePositiveRule("kill", "minecraft", 0.25)]));

    private static string RandomText(Random random, string[] phrases)
    {
        var text = new StringBuilder();
        var parts = random.Next(1, 10);
        for (var p = 0; p < parts; p++)
        {
            var part = random.Next(3) == 0 ? Words[random.Next(Words.Length)] : Disguise(random, phrases[random.Next(phrases.Length)]);
            text.Append(part).Append(Gaps[random.Next(Gaps.Length)]);
        }

        return text.ToString();
    }

    private static string Disguise(Random random, string phrase) => random.Next(12) switch
    {
        0 => phrase.ToUpperInvariant(),
        1 => phrase.Replace('i', '1').Replace('e', '3').Replace('s', '$').Replace('a', '@').Replace('o', '0'),
        2 => string.Join(random.Next(4) switch { 0 => " ", 1 => ".", 2 => " . ", _ => "-" }, phrase.ToCharArray()),
        3 => phrase.Replace("l", "lll", StringComparison.Ordinal).Replace("e", "ee", StringComparison.Ordinal),
        4 => phrase + (char)('a' + random.Next(26)),
        5 => (char)('a' + random.Next(26)) + phrase,
        6 => phrase.Length > 3 ? phrase[..^1] : phrase,
        7 => phrase.Replace(" ", random.Next(2) == 0 ? "'" : "  ", StringComparison.Ordinal),
        8 => string.Join(' ', phrase.Split(' ').Select(w => w.Length > 1 ? w[0] + "'" + w[1..] : w)),
        9 => phrase.Replace('s', '5').Replace('t', '7') + random.Next(100).ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => phrase,
    };
}
