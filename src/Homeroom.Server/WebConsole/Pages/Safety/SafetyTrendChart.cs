using System.Globalization;
using System.Text;
using Homeroom.Server.Safety;

namespace Homeroom.Server.WebConsole.Pages.Safety;

/// <summary>One week of the trends chart: its Monday and the alerts of each category (every category of the chart, zeros included).</summary>
public sealed record SafetyTrendWeek(DateOnly WeekStart, IReadOnlyList<int> Counts)
{
    public int Total => Counts.Sum();
}

/// <summary>
/// What the trends page draws: the rows <see cref="SafetyCases.TrendsAsync"/> answered (already limited to
/// the caller's scope), narrowed to one school when asked, summed per week and category, with every week of
/// the range present (a week without alerts is a zero, not a gap). Presentation only: no query of its own.
/// </summary>
public sealed class SafetyTrendChart
{
    /// <summary>The categories in their fixed order, each with a colour (Okabe–Ito, told apart with colour-blindness too).</summary>
    public static readonly IReadOnlyList<(string Category, string Colour)> Palette =
    [
        ("selfHarm", "#D55E00"), ("bullying", "#0072B2"), ("violence", "#CC79A7"),
        ("drugs", "#009E73"), ("sexual", "#E69F00"), ("extremism", "#56B4E9"),
    ];

    private SafetyTrendChart(IReadOnlyList<string> categories, IReadOnlyList<SafetyTrendWeek> weeks)
    {
        Categories = categories;
        Weeks = weeks;
    }

    /// <summary>The categories with at least one alert in the range, in the palette's order (unknown ones last).</summary>
    public IReadOnlyList<string> Categories { get; }

    /// <summary>Every week of the range, oldest first.</summary>
    public IReadOnlyList<SafetyTrendWeek> Weeks { get; }

    /// <summary>The largest weekly total (at least 1, so an empty chart still has a scale).</summary>
    public int Max => Math.Max(1, Weeks.Count == 0 ? 0 : Weeks.Max(w => w.Total));

    public int Total => Weeks.Sum(w => w.Total);

    public static SafetyTrendChart Build(IEnumerable<SafetyTrendDto> rows, Guid? schoolId, DateOnly today, int weeks)
    {
        var thisWeek = WeekOf(today);
        var starts = Enumerable.Range(0, weeks).Select(i => thisWeek.AddDays(-7 * (weeks - 1 - i))).ToList();
        var chosen = rows.Where(r => schoolId is null || r.SchoolId == schoolId).Where(r => r.WeekStart >= starts[0]).ToList();
        var categories = chosen.Select(r => r.Category).Distinct(StringComparer.Ordinal)
            .OrderBy(Order).ThenBy(c => c, StringComparer.Ordinal).ToList();
        var sums = chosen.GroupBy(r => (r.WeekStart, r.Category)).ToDictionary(g => g.Key, g => g.Sum(r => r.Alerts));
        var table = starts.Select(start => new SafetyTrendWeek(start, categories.Select(c => sums.GetValueOrDefault((start, c))).ToList())).ToList();
        return new SafetyTrendChart(categories, table);
    }

    public static string Colour(string category) =>
        Palette.FirstOrDefault(p => p.Category == category).Colour ?? "#666666";

    /// <summary>The table as CSV (RFC 4180): a week column, one column per category, and the total.</summary>
    public string Csv()
    {
        var csv = new StringBuilder();
        csv.Append("week").Append(string.Concat(Categories.Select(c => "," + Quote(c)))).Append(",total\r\n");
        foreach (var week in Weeks)
        {
            csv.Append(week.WeekStart.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            foreach (var count in week.Counts)
            {
                csv.Append(',').Append(count.ToString(CultureInfo.InvariantCulture));
            }

            csv.Append(',').Append(week.Total.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        }

        return csv.ToString();
    }

    /// <summary>The CSV as a <c>data:</c> address for a download link (nothing is stored or served for it).</summary>
    public string CsvDataUri() => "data:text/csv;charset=utf-8," + Uri.EscapeDataString(Csv());

    private static int Order(string category)
    {
        for (var i = 0; i < Palette.Count; i++)
        {
            if (Palette[i].Category == category)
            {
                return i;
            }
        }

        return Palette.Count;
    }

    // Mondays, as SafetyCases groups them.
    private static DateOnly WeekOf(DateOnly day) => day.AddDays(-(((int)day.DayOfWeek + 6) % 7));

    private static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
