using Homeroom.Rules.Classroom;

namespace Homeroom.Rules.Tests.Classroom;

public sealed class ClassSessionsTests
{
    private static readonly TimeZoneInfo Chicago = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");

    private static readonly ClassSchedule Science = new(
        new DateOnly(2026, 8, 24), new DateOnly(2026, 12, 18),
        [new ClassMeeting([DayOfWeek.Monday, DayOfWeek.Wednesday, DayOfWeek.Friday], new(9, 0), new(9, 50))]);

    private static DateTimeOffset Local(int year, int month, int day, int hour, int minute)
    {
        var local = new DateTime(year, month, day, hour, minute, 0);
        return new DateTimeOffset(local, Chicago.GetUtcOffset(local));
    }

    [Theory]
    [InlineData(2026, 11, 23, 9, 0, true)]   // Monday, first minute
    [InlineData(2026, 11, 23, 9, 49, true)]
    [InlineData(2026, 11, 23, 9, 50, false)] // the bell
    [InlineData(2026, 11, 23, 8, 59, false)]
    [InlineData(2026, 11, 24, 9, 30, false)] // Tuesday
    [InlineData(2026, 11, 23, 21, 0, false)] // after hours
    [InlineData(2027, 1, 11, 9, 30, false)]  // a Monday after the term
    [InlineData(2026, 8, 24, 9, 30, true)]   // first day of term
    public void At_ScheduledMeetingsWithinTheTerm(int year, int month, int day, int hour, int minute, bool inSession)
    {
        var state = ClassSessions.At(Science, [], Local(year, month, day, hour, minute), Chicago);

        state.InSession.ShouldBe(inSession, state.Reason);
        if (inSession)
        {
            state.Until.ShouldBe(Local(year, month, day, 9, 50));
        }
    }

    [Fact]
    public void At_ReadsTheScheduleInTheSchoolsTimeZone()
    {
        var mondayNineThirtyChicago = Local(2026, 11, 23, 9, 30);

        ClassSessions.At(Science, [], mondayNineThirtyChicago, Chicago).InSession.ShouldBeTrue();
        ClassSessions.At(Science, [], mondayNineThirtyChicago, TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris")).InSession.ShouldBeFalse();
    }

    [Fact]
    public void At_AdHocSession_AllowsUntilItEnds()
    {
        var evening = Local(2026, 11, 23, 18, 0);
        var session = new AdHocSession(evening.AddMinutes(-10), evening.AddMinutes(30), "Ms. Rivera");

        var during = ClassSessions.At(Science, [session], evening, Chicago);
        var after = ClassSessions.At(Science, [session], evening.AddMinutes(31), Chicago);

        during.InSession.ShouldBeTrue();
        during.Until.ShouldBe(session.EndsAt);
        during.Reason.ShouldContain("Ms. Rivera");
        after.InSession.ShouldBeFalse();
        after.Reason.ShouldBe("outside class time");
    }

    [Fact]
    public void At_NoSchedule_IsNeverInSession()
    {
        ClassSessions.At(null, [], Local(2026, 11, 23, 9, 30), Chicago).InSession.ShouldBeFalse();
    }

    [Fact]
    public void Validate_BadSchedules_NameTheField()
    {
        var bad = new ClassSchedule(new DateOnly(2026, 12, 1), new DateOnly(2026, 9, 1),
            [new ClassMeeting([], new(10, 0), new(9, 0))]);

        bad.Validate().Select(e => e.Field).ShouldBe(["termEnd", "meetings[0].days", "meetings[0].end"]);
        Science.Validate().ShouldBeEmpty();
    }
}
