namespace Homeroom.Server.Tests.Infrastructure;

/// <summary>
/// A clock tests can move. Wall-clock time is shifted by <see cref="Advance"/>; timers and
/// timestamps stay real so background loops keep running.
/// </summary>
public sealed class ShiftedTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));

    /// <summary>
    /// Moves to the next Wednesday at 10:00 UTC: a school day morning in a school on UTC, when ad-hoc
    /// class sessions may start. Call it before signing in (sessions are dated by this clock).
    /// </summary>
    public DateTimeOffset MoveToSchoolDayMorning()
    {
        var now = GetUtcNow();
        var days = ((int)DayOfWeek.Wednesday - (int)now.DayOfWeek + 7) % 7;
        var target = new DateTimeOffset(now.UtcDateTime.Date.AddDays(days == 0 ? 7 : days).AddHours(10), TimeSpan.Zero);
        Advance(target - now);
        return target;
    }
}
