namespace Homeroom.Rules.Classroom;

/// <summary>One weekly meeting of a class, in the school's local time (a class does not run past midnight).</summary>
/// <param name="Days">Days it meets.</param>
/// <param name="Start">Local start.</param>
/// <param name="End">Local end, after <paramref name="Start"/>.</param>
public sealed record ClassMeeting(IReadOnlyList<DayOfWeek> Days, TimeOnly Start, TimeOnly End);

/// <summary>When a class meets: its weekly meetings within a term.</summary>
/// <param name="TermStart">First day of the term.</param>
/// <param name="TermEnd">Last day of the term.</param>
/// <param name="Meetings">Weekly meetings.</param>
public sealed record ClassSchedule(DateOnly TermStart, DateOnly TermEnd, IReadOnlyList<ClassMeeting> Meetings)
{
    public const int MaxMeetings = 20;

    /// <summary>Every problem, each naming its field.</summary>
    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (TermEnd < TermStart || TermEnd.DayNumber - TermStart.DayNumber > 366)
        {
            yield return ("termEnd", "The term ends after it starts and lasts at most a year.");
        }

        if (Meetings.Count is 0 or > MaxMeetings)
        {
            yield return ("meetings", $"1 to {MaxMeetings} meetings.");
        }

        for (var i = 0; i < Meetings.Count; i++)
        {
            if (Meetings[i].Days.Count == 0)
            {
                yield return ($"meetings[{i}].days", "At least one day.");
            }

            if (Meetings[i].End <= Meetings[i].Start)
            {
                yield return ($"meetings[{i}].end", "A meeting ends after it starts, on the same day.");
            }
        }
    }
}

/// <summary>A session a teacher started outside the schedule, for a limited time.</summary>
public sealed record AdHocSession(DateTimeOffset StartsAt, DateTimeOffset EndsAt, string StartedBy);

/// <summary>The hours of a school day, in the school's local time, on which teachers may start ad-hoc sessions.</summary>
/// <param name="Days">School days.</param>
/// <param name="Start">When the school day starts.</param>
/// <param name="End">When it ends, after <paramref name="Start"/>.</param>
public sealed record SchoolDay(IReadOnlySet<DayOfWeek> Days, TimeOnly Start, TimeOnly End);

/// <summary>Whether a class is in session, until when, and why.</summary>
public sealed record SessionState(bool InSession, DateTimeOffset? Until, string Reason);

/// <summary>
/// Decides whether a class is in session: during a scheduled meeting within its term, or during an
/// ad-hoc session a teacher started (at most two hours). Live viewing of students' screens is allowed
/// only then, never after hours.
/// </summary>
public static class ClassSessions
{
    /// <summary>Longest ad-hoc session.</summary>
    public static readonly TimeSpan MaxAdHoc = TimeSpan.FromHours(2);

    public static SessionState At(ClassSchedule? schedule, IReadOnlyList<AdHocSession> adHoc, DateTimeOffset now, TimeZoneInfo timeZone)
    {
        if (adHoc.Where(s => s.StartsAt <= now && now < s.EndsAt).OrderByDescending(s => s.EndsAt).FirstOrDefault() is { } session)
        {
            return new SessionState(true, session.EndsAt, $"an ad-hoc session started by {session.StartedBy}");
        }

        if (schedule is null)
        {
            return new SessionState(false, null, "the class has no schedule");
        }

        var local = TimeZoneInfo.ConvertTime(now, timeZone).DateTime;
        var date = DateOnly.FromDateTime(local);
        if (date < schedule.TermStart || date > schedule.TermEnd)
        {
            return new SessionState(false, null, "outside the term");
        }

        var time = TimeOnly.FromDateTime(local);
        foreach (var meeting in schedule.Meetings)
        {
            if (meeting.Days.Contains(local.DayOfWeek) && time >= meeting.Start && time < meeting.End)
            {
                var end = DateTime.SpecifyKind(date.ToDateTime(meeting.End), DateTimeKind.Unspecified);
                return new SessionState(true, new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(end, timeZone), TimeSpan.Zero),
                    $"the scheduled meeting {meeting.Start:HH\\:mm}–{meeting.End:HH\\:mm}");
            }
        }

        return new SessionState(false, null, "outside class time");
    }

    /// <summary>
    /// When an ad-hoc session asked for at <paramref name="now"/> for <paramref name="length"/> would end:
    /// never past the end of the school day; null when <paramref name="now"/> is outside the school day
    /// (no watching screens at night or at the weekend).
    /// </summary>
    public static DateTimeOffset? AdHocEnd(SchoolDay day, DateTimeOffset now, TimeSpan length, TimeZoneInfo timeZone)
    {
        var local = TimeZoneInfo.ConvertTime(now, timeZone).DateTime;
        var time = TimeOnly.FromDateTime(local);
        if (!day.Days.Contains(local.DayOfWeek) || time < day.Start || time >= day.End)
        {
            return null;
        }

        var endLocal = DateTime.SpecifyKind(DateOnly.FromDateTime(local).ToDateTime(day.End), DateTimeKind.Unspecified);
        var dayEnd = new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(endLocal, timeZone), TimeSpan.Zero);
        var wanted = now + length;
        return wanted < dayEnd ? wanted : dayEnd;
    }
}
