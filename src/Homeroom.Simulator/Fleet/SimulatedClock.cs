namespace Homeroom.Simulator.Fleet;

/// <summary>
/// The simulated school-day clock: real time or accelerated (a day in minutes). Protocol timing
/// (heartbeats, reconnects) always runs in real time; only the simulated day moves faster.
/// </summary>
public sealed class SimulatedClock(TimeProvider real, double speed, DateTimeOffset start, TimeZoneInfo zone)
{
    private readonly long _startTimestamp = real.GetTimestamp();

    public double Speed { get; } = speed;

    /// <summary>The simulated moment the clock started at.</summary>
    public DateTimeOffset Start { get; } = start;

    public TimeZoneInfo Zone { get; } = zone;

    public DateTimeOffset Now => Start + TimeSpan.FromTicks((long)(real.GetElapsedTime(_startTimestamp).Ticks * Speed));

    /// <summary>The local time of day at the school, in hours (0 to 24).</summary>
    public double LocalHour
    {
        get
        {
            var local = TimeZoneInfo.ConvertTime(Now, Zone);
            return local.Hour + (local.Minute / 60.0) + (local.Second / 3600.0);
        }
    }

    public bool IsSchoolDay => TimeZoneInfo.ConvertTime(Now, Zone).DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday);
}
