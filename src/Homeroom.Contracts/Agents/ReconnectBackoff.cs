namespace Homeroom.Contracts.Agents;

/// <summary>
/// The reconnect delay protocol v1 asks of every agent: 1 s doubling to 60 s, plus a random jitter of
/// up to the current step, so a whole school coming back online does not arrive in one instant.
/// </summary>
/// <param name="random">The jitter's source (seeded in tests and in the simulator).</param>
public sealed class ReconnectBackoff(Random random)
{
    /// <summary>The first step.</summary>
    public static readonly TimeSpan Initial = TimeSpan.FromSeconds(1);

    /// <summary>The largest step (before jitter).</summary>
    public static readonly TimeSpan Maximum = TimeSpan.FromSeconds(60);

    private TimeSpan _step = Initial;

    /// <summary>The delay to wait now (the step plus jitter); the next one is twice the step, at most <see cref="Maximum"/>.</summary>
    public TimeSpan Next()
    {
        var delay = _step + TimeSpan.FromMilliseconds(random.Next(0, (int)_step.TotalMilliseconds));
        _step = TimeSpan.FromTicks(Math.Min(_step.Ticks * 2, Maximum.Ticks));
        return delay;
    }

    /// <summary>Starts again from <see cref="Initial"/>, after a session that worked.</summary>
    public void Reset() => _step = Initial;
}
