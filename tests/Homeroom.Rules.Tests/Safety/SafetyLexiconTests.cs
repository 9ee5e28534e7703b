using System.Text;
using Homeroom.Rules.Safety;

namespace Homeroom.Rules.Tests.Safety;

public sealed class SafetyLexiconTests
{
    private static LexiconEntry Entry(string phrase, double weight = 40, SafetyCategory category = SafetyCategory.Violence) =>
        new(phrase, category, weight, "en", []);

    [Fact]
    public void BuiltIn_HasSixCategoriesInTwoLanguages()
    {
        var lexicon = SafetyLexicon.BuiltIn;
        lexicon.Entries.Select(e => e.Category).Distinct().Count().ShouldBe(6);
        lexicon.Entries.Select(e => e.Language).Distinct().Order().ShouldBe(["en", "es"]);
        foreach (var category in Enum.GetValues<SafetyCategory>())
        {
            lexicon.Entries.ShouldContain(e => e.Category == category && e.Language == "es");
        }
    }

    [Theory]
    [InlineData("", 10, "en")]
    [InlineData("!!!", 10, "en")]
    [InlineData("kill", 0, "en")]
    [InlineData("kill", -5, "en")]
    [InlineData("kill", double.NaN, "en")]
    [InlineData("kill", 2000, "en")]
    [InlineData("kill", 10, "fr")]
    public void Build_BadEntry_Throws(string phrase, double weight, string language)
    {
        Should.Throw<ArgumentException>(() => SafetyLexicon.Build([new LexiconEntry(phrase, SafetyCategory.Violence, weight, language, [])]));
    }

    [Fact]
    public void Build_BadContextFactor_Throws()
    {
        Should.Throw<ArgumentException>(() => SafetyLexicon.Build([new LexiconEntry("kill", SafetyCategory.Violence, 10, "en", [new ContextRule("movie", 0)])]));
    }

    [Fact]
    public void Build_SamePhraseAndCategoryTwice_LastWins()
    {
        var lexicon = SafetyLexicon.Build([Entry("kill", 10), Entry("KIIILL", 30)]);
        lexicon.Count.ShouldBe(1);
        lexicon.Entries[0].Weight.ShouldBe(30);
    }

    [Fact]
    public void With_AddRemoveReweight_ChangesScansAndKeepsTheOriginal()
    {
        var original = SafetyLexicon.Build([Entry("kill", 20), Entry("stab", 40), Entry("shoot", 30)]);
        var adjusted = original.With(new LexiconAdjustments(
            [Entry("vape", 35, SafetyCategory.Drugs)], ["STAB"], new Dictionary<string, double> { ["kill"] = 70 }, []));

        original.Count.ShouldBe(3);
        adjusted.Entries.Select(e => e.Phrase).ShouldBe(["kill", "shoot", "vape"]);
        var scanner = new SafetyScanner(adjusted);
        scanner.Scan("stab").IsMatch.ShouldBeFalse();
        scanner.Scan("kill").Scores.ShouldHaveSingleItem().Score.ShouldBe(70);
        scanner.Scan("vape").Category.ShouldBe(SafetyCategory.Drugs);
        new SafetyScanner(original).Scan("stab").IsMatch.ShouldBeTrue();
    }

    [Fact]
    public void With_Demotion_LowersThePhraseNearItsContextAndIsExplained()
    {
        var lexicon = SafetyLexicon.Build([Entry("kill", 40)])
            .With(LexiconAdjustments.None with { Demotions = [new FalsePositiveRule("kill", "ender dragon", 0.25)] });
        var scanner = new SafetyScanner(lexicon);

        var demoted = scanner.Scan("how to kill the ender dragon").Matches.ShouldHaveSingleItem();
        demoted.Weight.ShouldBe(10);
        var applied = demoted.Context.ShouldHaveSingleItem();
        applied.IsDemotion.ShouldBeTrue();
        applied.Start.ShouldBe(16);
        applied.Length.ShouldBe(12);
        scanner.Scan("how to kill him").Matches.ShouldHaveSingleItem().Weight.ShouldBe(40);

        // Reversible: the lexicon without the demotion scores it fully again.
        new SafetyScanner(SafetyLexicon.Build([Entry("kill", 40)])).Scan("how to kill the ender dragon").Matches[0].Weight.ShouldBe(40);
    }

    [Fact]
    public void With_BadAdjustment_ThrowsAndLeavesTheLexicon()
    {
        var lexicon = SafetyLexicon.Build([Entry("kill", 40)]);
        Should.Throw<ArgumentException>(() => lexicon.With(LexiconAdjustments.None with { Weights = new Dictionary<string, double> { ["kill"] = -1 } }));
        Should.Throw<ArgumentException>(() => lexicon.With(LexiconAdjustments.None with { Demotions = [new FalsePositiveRule("kill", "", 0.5)] }));
        lexicon.Entries.ShouldHaveSingleItem().Weight.ShouldBe(40);
    }
}

public sealed class E2GuardianPhraseListTests
{
    [Fact]
    public void Parse_WeightedPhrases_ReadsEntries()
    {
        var list = "# self-harm list\n<kill><myself><50>\n< kill ><100>\n<end>,<my life><60>\n\n<hang myself><80> # strong\r\n";
        var import = E2GuardianPhraseList.Parse(list, SafetyCategory.SelfHarm, "en");

        import.IsValid.ShouldBeTrue();
        import.Entries.Select(e => (e.Phrase, e.Weight)).ShouldBe([("kill myself", 50.0), ("kill", 100.0), ("end my life", 60.0), ("hang myself", 80.0)]);
        import.Entries.ShouldAllBe(e => e.Category == SafetyCategory.SelfHarm && e.Language == "en");
        SafetyLexicon.Build(import.Entries).Count.ShouldBe(4);
    }

    [Fact]
    public void Parse_MalformedLines_ReportsEachWithItsLineNumber()
    {
        var list = "<fine><10>\n.Include</etc/e2guardian/lists/phraselists/pornography/weighted>\n<no weight>\n<bad><ten>\n<good phrase><-20>\nplain text\n<unclosed<5>\n<!!!><10>\n<ok><20>";
        var import = E2GuardianPhraseList.Parse(list, SafetyCategory.Sexual, "en");

        import.IsValid.ShouldBeFalse();
        import.Errors.Select(e => e.Line).ShouldBe([2, 3, 4, 5, 6, 7, 8]);
        import.Errors[0].Message.ShouldContain("Include");
        import.Entries.Select(e => e.Phrase).ShouldBe(["fine", "ok"]);
    }

    [Fact]
    public void Parse_TooLarge_OneErrorNoEntries()
    {
        var list = new StringBuilder();
        while (list.Length <= E2GuardianPhraseList.MaxBytes)
        {
            list.Append("<kill><10>\n");
        }

        var import = E2GuardianPhraseList.Parse(list.ToString(), SafetyCategory.Violence, "en");
        import.Entries.ShouldBeEmpty();
        import.Errors.ShouldHaveSingleItem().Line.ShouldBe(0);
    }

    [Fact]
    public void Parse_BinaryGarbage_NeverThrows()
    {
        var random = new Random(3);
        for (var n = 0; n < 200; n++)
        {
            var chars = new char[random.Next(0, 300)];
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = random.Next(4) == 0 ? "<>,#\n"[random.Next(5)] : (char)random.Next(0, 0xFFFF);
            }

            var import = E2GuardianPhraseList.Parse(new string(chars), SafetyCategory.Violence, "en");
            SafetyLexicon.Build(import.Entries);
        }
    }
}
