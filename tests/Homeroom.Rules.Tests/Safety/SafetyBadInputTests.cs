using Homeroom.Rules.Safety;

namespace Homeroom.Rules.Tests.Safety;

public sealed class SafetyBadInputTests
{
    private static readonly SafetyScanner Scanner = new(SafetyLexicon.BuiltIn);

    [Fact]
    public void Scan_HugeText_IsCutAtTheLimit()
    {
        var text = new string('x', SafetyScanner.MaxTextLength - 20) + " kill myself " + new string('y', 1_000_000) + " heil hitler";
        var verdict = Scanner.Scan(text);

        verdict.Truncated.ShouldBeTrue();
        verdict.Matches.ShouldHaveSingleItem().Phrase.ShouldBe("kill myself");
        Scanner.Scan(new string('a', SafetyScanner.MaxTextLength)).Truncated.ShouldBeFalse();
    }

    [Fact]
    public void Scan_LoneSurrogates_SeparateWordsAndNeverThrow()
    {
        Scanner.Scan("kill\uD800myself").Matches.ShouldHaveSingleItem().Text.ShouldBe("kill\uD800myself");
        Scanner.Scan("\uDC00\uDC00\uD800").IsMatch.ShouldBeFalse();
        Scanner.Scan("kill\uD83D").IsMatch.ShouldBeTrue();
    }

    [Theory]
    [InlineData("su\u200Bic\u200Cid\u200De")]
    [InlineData("su\u2066ici\u2069de")]
    [InlineData("sui\u202Ecide\u202C")]
    [InlineData("s\uFEFFu\u00ADi\u2060cide")]
    [InlineData("s\u0301u\u0308icide")]
    public void Scan_InvisibleCharactersInsideAWord_StillMatch(string text)
    {
        var match = Scanner.Scan(text).Matches.ShouldHaveSingleItem();
        match.Phrase.ShouldBe("suicide");
        match.Start.ShouldBe(0);
        match.Length.ShouldBe(text.Length - (text.EndsWith('\u202C') ? 1 : 0));
    }

    [Fact]
    public void Scan_RandomUnicode_NeverThrowsAndOffsetsStayInTheText()
    {
        var random = new Random(7);
        for (var n = 0; n < 2000; n++)
        {
            var chars = new char[random.Next(0, 200)];
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = random.Next(3) == 0 ? "kill myself suicide k i l l 1$\u200B\uD800\uDC00"[random.Next(31)] : (char)random.Next(0, 0x10000);
            }

            var text = new string(chars);
            foreach (var match in Scanner.Scan(text).Matches)
            {
                (match.Start + match.Length).ShouldBeLessThanOrEqualTo(text.Length);
                match.Text.ShouldBe(text.Substring(match.Start, match.Length));
            }
        }
    }

    [Fact]
    public void Scan_FromManyThreads_SameVerdicts()
    {
        string[] texts = ["i want to kill myself tonight", "kys loser", "photo shoot ideas", "quiero matarme", "this homework is killing me"];
        var expected = texts.Select(t => Scanner.Scan(t).Severity).ToArray();
        Parallel.For(0, 20_000, i => Scanner.Scan(texts[i % texts.Length]).Severity.ShouldBe(expected[i % texts.Length]));
    }
}
