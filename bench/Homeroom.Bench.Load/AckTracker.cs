using System.Collections.Concurrent;

namespace Homeroom.Bench.Load;

/// <summary>Counts acknowledgements per command as the simulated devices send them (they may arrive before the API call returns).</summary>
public sealed class AckTracker
{
    private readonly ConcurrentDictionary<Guid, Counter> _commands = new();

    public void OnAcknowledged(Guid commandId, int deviceIndex, long timestamp) => _commands.GetOrAdd(commandId, _ => new Counter()).Add(timestamp);

    /// <summary>Waits until <paramref name="target"/> devices acknowledged; returns the timestamp of the last one, or null on timeout.</summary>
    public async Task<long?> WaitAsync(Guid commandId, int target, TimeSpan timeout)
    {
        var counter = _commands.GetOrAdd(commandId, _ => new Counter());
        counter.SetTarget(target);
        try
        {
            return await counter.Done.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            _commands.TryRemove(commandId, out _);
        }
    }

    public int Count(Guid commandId) => _commands.TryGetValue(commandId, out var c) ? c.Count : 0;

    private sealed class Counter
    {
        private int _count;
        private int _target = int.MaxValue;
        private long _last;

        public int Count => Volatile.Read(ref _count);

        public TaskCompletionSource<long> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Add(long timestamp)
        {
            lock (this)
            {
                _count++;
                _last = Math.Max(_last, timestamp);
                Check();
            }
        }

        public void SetTarget(int target)
        {
            lock (this)
            {
                _target = target;
                Check();
            }
        }

        private void Check()
        {
            if (_count >= _target)
            {
                Done.TrySetResult(_last);
            }
        }
    }
}
