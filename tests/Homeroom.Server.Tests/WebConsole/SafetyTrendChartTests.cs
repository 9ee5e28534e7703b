using Homeroom.Server.Safety;
using Homeroom.Server.WebConsole.Pages.Safety;

namespace Homeroom.Server.Tests.WebConsole;

/// <summary>What the trends page draws from the rows <see cref="SafetyCases.TrendsAsync"/> answers.</summary>
public sealed class SafetyTrendChartTests
{
    private static readonly Guid North = Guid.Parse("00000000-0000-0000-0000-00000000000a");
    private static readonly Guid South = Guid.Parse("00000000-0000-0000-0000-00000000000b");
    private static readonly DateOnly Wednesday = new(2026, 12, 2);

    private static readonly SafetyTrendDto[] Rows =
    [
        new(North, "North", "violence", new DateOnly(2026, 11, 30), 2),
        new(South, "South", "violence", new DateOnly(2026, 11, 30), 1),
        new(North, "North", "selfHarm", new DateOnly(2026, 11, 16), 3),
        new(null, null, "bullying", new DateOnly(2026, 11, 9), 1),
        new(South, "South", "drugs", new DateOnly(2026, 11, 2), 5),
    ];

    [Fact]
    public void Build_AllSchools_SumsSchoolsPerWeekAndCategory_EveryWeekPresent()
    {
        var chart = SafetyTrendChart.Build(Rows, null, Wednesday, 4);

        chart.Weeks.Select(w => w.WeekStart).ShouldBe([new DateOnly(2026, 11, 9), new DateOnly(2026, 11, 16), new DateOnly(2026, 11, 23), new DateOnly(2026, 11, 30)]);
        chart.Categories.ShouldBe(["selfHarm", "bullying", "violence"]);
        chart.Weeks.Select(w => string.Join(",", w.Counts)).ShouldBe(["0,1,0", "3,0,0", "0,0,0", "0,0,3"]);
        chart.Max.ShouldBe(3);
        chart.Total.ShouldBe(7);
    }

    [Fact]
    public void Build_OneSchool_CountsOnlyItsAlerts()
    {
        var chart = SafetyTrendChart.Build(Rows, South, Wednesday, 5);

        chart.Categories.ShouldBe(["violence", "drugs"]);
        chart.Weeks.Select(w => w.Total).ShouldBe([5, 0, 0, 0, 1]);
    }

    [Fact]
    public void Build_NoAlerts_HasEmptyWeeksAndAScale()
    {
        var chart = SafetyTrendChart.Build([], North, Wednesday, 4);

        chart.Categories.ShouldBeEmpty();
        chart.Weeks.Count.ShouldBe(4);
        chart.Max.ShouldBe(1);
        chart.Csv().ShouldBe("week,total\r\n2026-11-09,0\r\n2026-11-16,0\r\n2026-11-23,0\r\n2026-11-30,0\r\n");
    }

    [Fact]
    public void Csv_HasAColumnPerCategoryAndTheTotal()
    {
        var chart = SafetyTrendChart.Build(Rows, North, Wednesday, 4);

        chart.Csv().ShouldBe("week,selfHarm,violence,total\r\n2026-11-09,0,0,0\r\n2026-11-16,3,0,3\r\n2026-11-23,0,0,0\r\n2026-11-30,0,2,2\r\n");
        Uri.UnescapeDataString(chart.CsvDataUri()).ShouldBe("data:text/csv;charset=utf-8," + chart.Csv());
    }
}
