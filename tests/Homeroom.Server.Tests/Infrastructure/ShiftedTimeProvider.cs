namespace Homeroom.Server.Tests.Infrastructure;

/// <summary>
/// A clock tests can move forward. Wall-clock time is shifted by <see cref="Advance"/>; timers and
/// timestamps stay real so background loops keep running.
/// </summary>
public sealed class ShiftedTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));
}
