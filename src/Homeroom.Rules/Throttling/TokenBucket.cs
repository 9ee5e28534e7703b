namespace Homeroom.Rules.Throttling;

/// <summary>
/// A token bucket that refills continuously. Not thread-safe: one per connection, used by the
/// connection's single receive loop. Time comes in as ticks so the rule stays free of clocks.
/// </summary>
public struct TokenBucket
{
    private readonly double _capacity;
    private readonly double _tokensPerTick;
    private double _tokens;
    private long _lastTicks;

    /// <param name="ratePerSecond">Sustained rate.</param>
    /// <param name="burst">Most tokens held at once.</param>
    /// <param name="nowTicks">Current time in <see cref="TimeSpan.TicksPerSecond"/> units.</param>
    public TokenBucket(double ratePerSecond, double burst, long nowTicks)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ratePerSecond);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        _capacity = burst;
        _tokensPerTick = ratePerSecond / TimeSpan.TicksPerSecond;
        _tokens = burst;
        _lastTicks = nowTicks;
    }

    /// <summary>Takes one token; false when the bucket is empty.</summary>
    public bool TryTake(long nowTicks)
    {
        if (nowTicks > _lastTicks)
        {
            _tokens = Math.Min(_capacity, _tokens + ((nowTicks - _lastTicks) * _tokensPerTick));
            _lastTicks = nowTicks;
        }

        if (_tokens < 1)
        {
            return false;
        }

        _tokens -= 1;
        return true;
    }
}
