using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Homeroom.Rules.Safety;
using Xunit.Abstractions;

namespace Homeroom.Rules.Tests.Safety;

/// <summary>
/// Quality on the labelled evaluation sets (Data/*.tsv). An item is flagged for a category when that category
/// reaches medium (what would raise an alert). Fails if, on a tuning set, recall on the items labelled high or
/// imminent (found at high or above, in their category) drops below 0.9, or overall precision below 0.8; the
/// held-out set's figures are only reported.
/// </summary>
public sealed partial class SafetyEvaluationTests(ITestOutputHelper output)
{
    public sealed record Item(string Label, SafetySeverity Severity, string Language, string Kind, string Text);

    public static IReadOnlyList<Item> Load(string file = "safety-evaluation.tsv")
    {
        var path = Path.Combine(SharedData.RepositoryRoot(), "tests", "Homeroom.Rules.Tests", "Safety", "Data", file);
        var items = new List<Item>();
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var fields = line.Split('\t');
            var severity = Enum.Parse<SafetySeverity>(fields[1], ignoreCase: true);
            var text = Escape().Replace(fields[4], m => ((char)int.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToString());
            items.Add(new Item(fields[0], severity, fields[2], fields[3], text));
        }

        return items;
    }

    // The tuning sets: the lexicon was written against these, so the issue's targets are asserted here. Holdout-2
    // was held out from the second round and tuned on in the third.
    [Theory]
    [InlineData("safety-evaluation.tsv", 500)]
    [InlineData("safety-evaluation-holdout.tsv", 50)]
    [InlineData("safety-evaluation-holdout-2.tsv", 150)]
    public void Scan_TuningSet_MeetsRecallAndPrecisionTargets(string file, int minimumItems)
    {
        var items = Load(file);
        items.Count.ShouldBeGreaterThanOrEqualTo(minimumItems);
        var (seriousRecall, precision, misses) = Evaluate(items);
        seriousRecall.ShouldBeGreaterThanOrEqualTo(0.9, misses);
        precision.ShouldBeGreaterThanOrEqualTo(0.8, misses);
    }

    // Reported, not asserted: texts written before a round of the lexicon and never used to tune it
    // (docs/safety.md gives the figures). Asserting on them would invite tuning on them.
    [Theory]
    [InlineData("safety-evaluation-holdout-3.tsv", 200)]
    public void Scan_HoldoutSet_ReportsItsFigures(string file, int minimumItems)
    {
        var items = Load(file);
        items.Count.ShouldBeGreaterThanOrEqualTo(minimumItems);
        var (seriousRecall, precision, _) = Evaluate(items);
        seriousRecall.ShouldBeInRange(0, 1);
        precision.ShouldBeInRange(0, 1);
    }

    private (double SeriousRecall, double Precision, string Misses) Evaluate(IReadOnlyList<Item> items)
    {
        var scanner = new SafetyScanner(SafetyLexicon.BuiltIn);
        var categories = Enum.GetValues<SafetyCategory>();
        var tp = new Dictionary<SafetyCategory, int>();
        var fp = new Dictionary<SafetyCategory, int>();
        var fn = new Dictionary<SafetyCategory, int>();
        int serious = 0, seriousFound = 0;
        var misses = new StringBuilder();
        foreach (var item in items)
        {
            var verdict = scanner.Scan(item.Text);
            var flagged = verdict.Scores.Where(s => s.Severity >= SafetySeverity.Medium).Select(s => s.Category).ToHashSet();
            SafetyCategory? label = item.Label == "none" ? null : Enum.Parse<SafetyCategory>(item.Label, ignoreCase: true);
            foreach (var category in categories)
            {
                var isLabel = label == category;
                var isFlagged = flagged.Contains(category);
                if (isLabel && isFlagged)
                {
                    tp[category] = tp.GetValueOrDefault(category) + 1;
                }
                else if (isFlagged)
                {
                    fp[category] = fp.GetValueOrDefault(category) + 1;
                    misses.AppendLine(CultureInfo.InvariantCulture, $"false positive {category} {verdict.Scores.First(s => s.Category == category).Score:F0}: {item.Text}");
                }
                else if (isLabel)
                {
                    fn[category] = fn.GetValueOrDefault(category) + 1;
                    misses.AppendLine(CultureInfo.InvariantCulture, $"missed {category} ({verdict.Severity}): {item.Text}");
                }
            }

            if (label is { } l && item.Severity >= SafetySeverity.High)
            {
                serious++;
                var found = verdict.Scores.Any(s => s.Category == l && s.Severity >= SafetySeverity.High);
                seriousFound += found ? 1 : 0;
                if (!found)
                {
                    misses.AppendLine(CultureInfo.InvariantCulture, $"below high ({verdict.Severity}): {item.Text}");
                }
            }
        }

        output.WriteLine("| category | items | precision | recall |");
        output.WriteLine("| --- | --- | --- | --- |");
        foreach (var category in categories)
        {
            int t = tp.GetValueOrDefault(category), p = fp.GetValueOrDefault(category), n = fn.GetValueOrDefault(category);
            output.WriteLine(FormattableString.Invariant($"| {category} | {t + n} | {Ratio(t, t + p):F2} | {Ratio(t, t + n):F2} |"));
        }

        var allTp = tp.Values.Sum();
        var precision = Ratio(allTp, allTp + fp.Values.Sum());
        var recall = Ratio(allTp, allTp + fn.Values.Sum());
        var seriousRecall = Ratio(seriousFound, serious);
        output.WriteLine(FormattableString.Invariant($"| all | {items.Count} ({items.Count(i => i.Label == "none")} harmless) | {precision:F2} | {recall:F2} |"));
        output.WriteLine(FormattableString.Invariant($"recall on {serious} high/imminent items (found at high or above): {seriousRecall:F3}"));
        output.WriteLine(misses.ToString());
        return (seriousRecall, precision, misses.ToString());
    }

    private static double Ratio(int numerator, int denominator) => denominator == 0 ? 1 : (double)numerator / denominator;

    [GeneratedRegex(@"\\u([0-9a-fA-F]{4})")]
    private static partial Regex Escape();
}
