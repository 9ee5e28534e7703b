using Homeroom.Rules.Safety;

namespace Homeroom.Rules.Tests.Safety;

public sealed class SafetyScannerTests
{
    private static readonly SafetyScanner Scanner = new(SafetyLexicon.BuiltIn);

    [Fact]
    public void Scan_FirstPersonIntent_IsImminentSelfHarm()
    {
        var verdict = Scanner.Scan("i want to kill myself tonight");
        verdict.Category.ShouldBe(SafetyCategory.SelfHarm);
        verdict.Severity.ShouldBe(SafetySeverity.Imminent);
        var match = verdict.Matches.ShouldHaveSingleItem();
        match.Text.ShouldBe("kill myself");
        match.Start.ShouldBe(10);
        match.Context.ShouldContain(c => c.Phrase == "tonight" && c.Start == 22 && c.Length == 7);
    }

    [Fact]
    public void Scan_HiddenWithZeroWidthAndLeet_StillMatchesWithOriginalOffsets()
    {
        var text = "ok k\u200B1\u200Bl\u200Bl m y s e l f";
        var verdict = Scanner.Scan(text);
        var match = verdict.Matches.ShouldHaveSingleItem();
        match.Phrase.ShouldBe("kill myself");
        match.Text.ShouldBe(text[3..]);
    }

    [Theory]
    [InlineData("i have the skill")]
    [InlineData("my therapist said hi")]
    [InlineData("")]
    public void Scan_LookAlikeWords_DoNotMatch(string text)
    {
        Scanner.Scan(text).IsMatch.ShouldBeFalse();
    }

    [Fact]
    public void Scan_PreventionContext_LowersTheWeight()
    {
        var verdict = Scanner.Scan("suicide prevention hotline number");
        var match = verdict.Matches.ShouldHaveSingleItem();
        match.Weight.ShouldBeLessThan(match.BaseWeight * 0.5);
        (verdict.Severity < SafetySeverity.Medium).ShouldBeTrue();
    }
}

public sealed class SafetyScannerExampleTests
{
    // The example in docs/safety.md, "Using it".
    [Fact]
    public void Scan_DocumentedExample_GivesTheDocumentedExplanation()
    {
        var verdict = new SafetyScanner(SafetyLexicon.BuiltIn).Scan("i want to k i l l myself tonight");

        verdict.Severity.ShouldBe(SafetySeverity.Imminent);
        verdict.Category.ShouldBe(SafetyCategory.SelfHarm);
        var match = verdict.Matches.ShouldHaveSingleItem();
        (match.Phrase, match.Start, match.Length, match.Text, match.BaseWeight).ShouldBe(("kill myself", 10, 14, "k i l l myself", 70.0));
        match.Context.Select(c => (c.Phrase, c.Factor)).ShouldBe([("i", 1.2), ("myself", 1.2), ("i want to", 1.5), ("tonight", 1.6)]);
    }
}
