using System.Globalization;
using System.Text;
using Homeroom.Rules.Safety;

namespace Homeroom.Rules.Tests.Safety;

/// <summary>
/// <see cref="SafetyScoring.Verdict"/> takes a way without dictionaries or sorting for short match lists; on random
/// lists (repeated phrases, one phrase in two categories, urgent and demoting context, equal scores) it must give
/// exactly the general way's verdict, scores compared to the last bit.
/// </summary>
public sealed class SafetyScoringTests
{
    private static readonly string[] Phrases = ["kill", "kill myself", "die", "loser", "Zebra", "zebra", "ábc", "weed", "gun", "hate you"];

    private static readonly double[] Weights = [5, 10, 12.5, 20, 30, 0.1, 0.2, 0.3, 45, 60, 90];

    public static TheoryData<int> Seeds() => [.. Enumerable.Range(1, 6)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Verdict_RandomShortMatchLists_SameAsGeneralWay(int seed)
    {
        var random = new Random(seed * 104729);
        for (var n = 0; n < 2000; n++)
        {
            var matches = new List<PhraseMatch>();
            var count = random.Next(1, 40);
            for (var m = 0; m < count; m++)
            {
                matches.Add(RandomMatch(random));
            }

            var truncated = random.Next(4) == 0;
            Exact(SafetyScoring.Verdict(matches, truncated)).ShouldBe(Exact(SafetyScoring.GeneralVerdict(matches, truncated)));
        }
    }

    [Fact]
    public void Verdict_UnknownCategory_SameAsGeneralWay()
    {
        List<PhraseMatch> matches = [Match("kill", (SafetyCategory)42, 50, []), Match("die", SafetyCategory.SelfHarm, 50, [])];
        Exact(SafetyScoring.Verdict(matches, false)).ShouldBe(Exact(SafetyScoring.GeneralVerdict(matches, false)));
    }

    [Fact]
    public void Verdict_EqualScores_LowerCategoryOnTop()
    {
        List<PhraseMatch> matches = [Match("gun", SafetyCategory.Violence, 30, []), Match("die", SafetyCategory.SelfHarm, 30, [])];
        var verdict = SafetyScoring.Verdict(matches, false);
        verdict.Category.ShouldBe(SafetyCategory.SelfHarm);
        verdict.Severity.ShouldBe(SafetySeverity.Medium);
        verdict.Scores.Select(s => s.Category).ShouldBe([SafetyCategory.SelfHarm, SafetyCategory.Violence]);
    }

    private static PhraseMatch RandomMatch(Random random)
    {
        var context = new List<AppliedContext>();
        for (var c = random.Next(3); c > 0; c--)
        {
            context.Add(new AppliedContext("tonight", random.Next(3) switch { 0 => 1.5, 1 => 1.2, _ => 0.5 }, 0, 1, random.Next(3) == 0));
        }

        var category = (SafetyCategory)random.Next((int)SafetyCategory.Extremism + 1);
        return Match(Phrases[random.Next(Phrases.Length)], category, Weights[random.Next(Weights.Length)] * (random.Next(2) == 0 ? 1 : 1.7), context);
    }

    private static PhraseMatch Match(string phrase, SafetyCategory category, double weight, List<AppliedContext> context) =>
        new(phrase, category, 0, phrase.Length, phrase, weight, weight, context);

    // Everything a caller sees, scores as round-trip text so a different order of additions would show.
    private static string Exact(SafetyVerdict verdict)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{verdict.Severity} {verdict.Category} {verdict.Truncated} {verdict.Matches.Count}\n");
        foreach (var score in verdict.Scores)
        {
            text.Append(CultureInfo.InvariantCulture, $"{score.Category} {score.Score:R} {score.Severity}\n");
        }

        return text.ToString();
    }
}
