using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Activity;

/// <summary>
/// How many activity events each device may store: a sustained rate per minute with a burst on top
/// (an agent sending the queue it kept while offline), and a ceiling per day. Kept in memory per
/// device across its connections, so reconnecting does not refill it. Events beyond it are dropped
/// before they reach the writer (no row, no queue space) and the agent is told how many in its
/// <c>activityAck</c>, so a runaway or hostile agent cannot fill the database while a well-behaved
/// agent, whose bursts fit, loses nothing.
/// </summary>
public sealed class ActivityBudget(IOptions<ActivityOptions> options, TimeProvider time, ILogger<ActivityBudget> logger)
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromMinutes(1);

    private readonly ActivityOptions _options = options.Value;
    private readonly ConcurrentDictionary<Guid, DeviceBudget> _devices = new();
    private long _dropped;

    /// <summary>Events dropped over budget since start, all devices.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>Takes up to <paramref name="wanted"/> events from the device's budget; returns how many may be stored.</summary>
    public int Take(Guid deviceId, int wanted)
    {
        var now = time.GetTimestamp();
        var budget = _devices.GetOrAdd(deviceId, static (_, state) => new DeviceBudget(state._options, state.now), (_options, now));
        int allowed;
        bool log;
        long droppedByDevice;
        lock (budget)
        {
            allowed = budget.Take(wanted, time.GetElapsedTime(budget.LastTimestamp, now), _options);
            budget.LastTimestamp = now;
            if (allowed == wanted)
            {
                return allowed;
            }

            budget.Dropped += wanted - allowed;
            droppedByDevice = budget.Dropped;
            log = budget.LastLogged == 0 || time.GetElapsedTime(budget.LastLogged, now) >= LogInterval;
            if (log)
            {
                budget.LastLogged = now;
            }
        }

        Interlocked.Add(ref _dropped, wanted - allowed);
        if (log)
        {
            ActivityLog.OverBudget(logger, deviceId, _options.EventsPerMinute, _options.EventBurst, _options.EventsPerDay, droppedByDevice);
        }

        return allowed;
    }

    private sealed class DeviceBudget(ActivityOptions options, long now)
    {
        private double _minute = options.EventBurst;
        private double _day = options.EventsPerDay;

        public long LastTimestamp { get; set; } = now;

        public long LastLogged { get; set; }

        public long Dropped { get; set; }

        public int Take(int wanted, TimeSpan elapsed, ActivityOptions options)
        {
            var seconds = Math.Max(0, elapsed.TotalSeconds);
            _minute = Math.Min(options.EventBurst, _minute + (seconds * options.EventsPerMinute / 60.0));
            _day = Math.Min(options.EventsPerDay, _day + (seconds * options.EventsPerDay / 86_400.0));
            var allowed = (int)Math.Min(wanted, Math.Floor(Math.Min(_minute, _day)));
            _minute -= allowed;
            _day -= allowed;
            return allowed;
        }
    }
}

internal static partial class ActivityLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning,
        Message = "Device {DeviceId} sends more activity than its budget ({PerMinute} a minute, bursts of {Burst}, {PerDay} a day); events over it are dropped ({Dropped} so far)")]
    public static partial void OverBudget(ILogger logger, Guid deviceId, int perMinute, int burst, int perDay, long dropped);
}
