using System.Text.Json;
using Homeroom.Rules.Policies;

namespace Homeroom.Rules.Tests.Policies;

/// <summary>The location reporting settings: the interval (the Integer kind) and the reporting hours (<see cref="ScheduleText"/>).</summary>
public sealed class LocationSettingsTests
{
    private static readonly DayOfWeek[] Weekdays = [DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday];

    private static IReadOnlyList<SettingError> Errors(string json) => PolicySettings.ParseBySetting(JsonDocument.Parse(json).RootElement).Errors;

    [Fact]
    public void Defaults_AreAMinuteOnSchoolDays_AndTheDefaultHoursParse()
    {
        PolicySettings.Integer(new Dictionary<string, System.Text.Json.Nodes.JsonNode>(), "location.reportIntervalSeconds").ShouldBe(60);
        var hours = PolicySettings.All["location.reportingHours"].Default.GetValue<string>();
        var (windows, error) = ScheduleText.Parse(hours);
        error.ShouldBeNull();
        var window = windows.ShouldNotBeNull().ShouldHaveSingleItem();
        window.Days.ShouldBe(Weekdays, ignoreOrder: true);
        window.Start.ShouldBe(new TimeOnly(7, 0));
        window.End.ShouldBe(new TimeOnly(17, 0));
    }

    [Theory]
    [InlineData("15")]
    [InlineData("3600")]
    [InlineData("90")]
    public void Parse_IntervalInRange_IsAccepted(string value)
    {
        var (settings, errors) = PolicySettings.Parse(JsonDocument.Parse("{\"location\":{\"reportIntervalSeconds\":" + value + "}}").RootElement);
        errors.ShouldBeEmpty();
        PolicySettings.Integer(settings, "location.reportIntervalSeconds").ShouldBe(int.Parse(value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("14")]
    [InlineData("3601")]
    [InlineData("-60")]
    [InlineData("60.5")]
    [InlineData("\"60\"")]
    [InlineData("true")]
    [InlineData("1e10")]
    public void Parse_IntervalOutOfRangeOrNotAWholeNumber_IsRefusedNamingTheSetting(string value)
    {
        var error = Errors("{\"location\":{\"reportIntervalSeconds\":" + value + "}}").ShouldHaveSingleItem();
        error.Key.ShouldBe("location.reportIntervalSeconds");
        error.Message.ShouldContain("15 to 3600");
    }

    [Theory]
    [InlineData("Mon-Fri 25:00-17:00")]
    [InlineData("Mon-Fri")]
    [InlineData("Someday 07:00-17:00")]
    [InlineData("Mon-Fri 7-17")]
    [InlineData("Mon-Fri 07:00")]
    [InlineData("Mon-Fri 07:00-17:00-18:00")]
    public void Parse_ReportingHoursNotInTheForm_IsRefusedNamingTheSetting(string value)
    {
        var error = Errors("{\"location\":{\"reportingHours\":\"" + value + "\"}}").ShouldHaveSingleItem();
        error.Key.ShouldBe("location.reportingHours");
    }

    [Fact]
    public void Parse_MoreThanTheMostWindows_IsRefused()
    {
        var text = string.Join("; ", Enumerable.Repeat("Mon 07:00-08:00", ScheduleText.MaxWindows + 1));
        ScheduleText.Parse(text).Error.ShouldNotBeNull();
        ScheduleText.Parse(string.Join("; ", Enumerable.Repeat("Mon 07:00-08:00", ScheduleText.MaxWindows))).Error.ShouldBeNull();
    }

    [Fact]
    public void Parse_SeveralWindowsListsRangesAndCase_GivesTheDays()
    {
        var (windows, error) = ScheduleText.Parse(" mon,WED-thu 08:00-12:00 ;Sat 09:30-11:45; Fri-Mon 22:00-06:00 ");
        error.ShouldBeNull();
        windows!.Count.ShouldBe(3);
        windows[0].Days.ShouldBe([DayOfWeek.Monday, DayOfWeek.Wednesday, DayOfWeek.Thursday]);
        windows[1].Days.ShouldBe([DayOfWeek.Saturday]);
        windows[1].Start.ShouldBe(new TimeOnly(9, 30));
        windows[1].End.ShouldBe(new TimeOnly(11, 45));
        windows[2].Days.ShouldBe([DayOfWeek.Friday, DayOfWeek.Saturday, DayOfWeek.Sunday, DayOfWeek.Monday]);
    }

    [Fact]
    public void Parse_EmptyText_IsNoWindow_AndAlwaysCoversEveryMinute()
    {
        var (none, noError) = ScheduleText.Parse("  ");
        noError.ShouldBeNull();
        none!.ShouldBeEmpty();
        ScheduleText.Covers(none, new DateTime(2026, 12, 2, 10, 0, 0)).ShouldBeFalse();

        var (always, error) = ScheduleText.Parse("Always");
        error.ShouldBeNull();
        for (var minute = 0; minute < 7 * 24 * 60; minute += 37)
        {
            ScheduleText.Covers(always!, new DateTime(2026, 11, 29).AddMinutes(minute)).ShouldBeTrue();
        }
    }

    [Theory]
    [InlineData("2026-12-02T07:00", true)] // Wednesday, the first minute
    [InlineData("2026-12-02T16:59", true)]
    [InlineData("2026-12-02T17:00", false)] // the end is not covered
    [InlineData("2026-12-02T06:59", false)]
    [InlineData("2026-12-05T10:00", false)] // Saturday
    [InlineData("2026-12-06T10:00", false)] // Sunday
    public void Covers_SchoolHours_HoldsOnlyInsideTheWindow(string local, bool covered)
    {
        var windows = ScheduleText.Parse("Mon-Fri 07:00-17:00").Windows!;
        ScheduleText.Covers(windows, DateTime.Parse(local, System.Globalization.CultureInfo.InvariantCulture)).ShouldBe(covered);
    }

    [Theory]
    [InlineData("2026-12-04T23:00", true)] // Friday evening
    [InlineData("2026-12-05T05:59", true)] // Saturday morning, from Friday's window
    [InlineData("2026-12-05T06:00", false)]
    [InlineData("2026-12-03T23:00", false)] // Thursday evening: not a day it starts on
    public void Covers_WindowPastMidnight_BelongsToTheDayItStarts(string local, bool covered)
    {
        var windows = ScheduleText.Parse("Fri 22:00-06:00").Windows!;
        ScheduleText.Covers(windows, DateTime.Parse(local, System.Globalization.CultureInfo.InvariantCulture)).ShouldBe(covered);
    }

    [Fact]
    public void PolicyDocument_Integer_OutOfRangeOrMissing_ReadsTheDefault()
    {
        PolicyDocument.Read(JsonDocument.Parse("""{"location":{"reportIntervalSeconds":30}}""").RootElement).Integer("location", "reportIntervalSeconds").ShouldBe(30);
        PolicyDocument.Read(JsonDocument.Parse("""{"location":{"reportIntervalSeconds":5}}""").RootElement).Integer("location", "reportIntervalSeconds").ShouldBe(60);
        PolicyDocument.Read(default).Integer("location", "reportIntervalSeconds").ShouldBe(60);
    }
}
