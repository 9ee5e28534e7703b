using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Safety;

/// <summary>
/// How many safety signals each device may have scanned: a sustained rate per minute with a burst on
/// top (<see cref="SafetyOptions.SignalsPerMinute"/>, <see cref="SafetyOptions.SignalBurst"/>). Kept in
/// memory per device across its connections, so reconnecting does not refill it. Each device has its
/// own bucket and its own connection loop, so a flood from one device costs only that device's
/// signals: others are neither delayed nor dropped.
/// </summary>
public sealed class SignalBudget(IOptions<SafetyOptions> options, TimeProvider time)
{
    private readonly SafetyOptions _options = options.Value;
    private readonly ConcurrentDictionary<Guid, Bucket> _devices = new();
    private long _dropped;

    /// <summary>Signals dropped over budget since start, all devices.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>Takes up to <paramref name="wanted"/> signals from the device's budget; returns how many may be scanned.</summary>
    public int Take(Guid deviceId, int wanted)
    {
        var now = time.GetTimestamp();
        var bucket = _devices.GetOrAdd(deviceId, static (_, state) => new Bucket(state.Burst, state.now), (Burst: _options.SignalBurst, now));
        int allowed;
        lock (bucket)
        {
            var seconds = Math.Max(0, time.GetElapsedTime(bucket.Last, now).TotalSeconds);
            bucket.Tokens = Math.Min(_options.SignalBurst, bucket.Tokens + (seconds * _options.SignalsPerMinute / 60.0));
            bucket.Last = now;
            allowed = (int)Math.Min(wanted, Math.Floor(bucket.Tokens));
            bucket.Tokens -= allowed;
        }

        if (allowed < wanted)
        {
            Interlocked.Add(ref _dropped, wanted - allowed);
        }

        return allowed;
    }

    private sealed class Bucket(double tokens, long last)
    {
        public double Tokens { get; set; } = tokens;

        public long Last { get; set; } = last;
    }
}
