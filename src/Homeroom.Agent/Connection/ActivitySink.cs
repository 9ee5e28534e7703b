using Homeroom.Agent.State;
using Homeroom.Contracts.Agents;
using Microsoft.Extensions.Logging;

namespace Homeroom.Agent.Connection;

/// <summary>
/// Where capabilities record activity: into the persisted queue, and a nudge for the connection to
/// send it now when it is up. Offline, events wait in the queue (bounded, oldest dropped and counted).
/// </summary>
public sealed class ActivitySink(ActivityQueue queue, ILogger<ActivitySink> logger)
{
    private readonly SemaphoreSlim _pending = new(0, 1);

    /// <summary>Queues an event (its <c>Seq</c> is assigned by the queue) and returns it as queued.</summary>
    public ActivityEvent Record(ActivityEvent activity)
    {
        if (!ActivityKinds.All.Contains(activity.Kind))
        {
            throw new ArgumentException($"'{activity.Kind}' is not a protocol v1 activity kind.", nameof(activity));
        }

        var dropped = queue.Enqueue(activity, out var queued);
        if (dropped > 0)
        {
            AgentLog.ActivityDropped(logger, queue.Capacity, dropped, queue.Dropped);
        }

        if (_pending.CurrentCount == 0)
        {
            try
            {
                _pending.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already nudged.
            }
        }

        return queued;
    }

    /// <summary>Wakes the connection to send what is waiting (activity, or other queued frames such as safety signals).</summary>
    public void Nudge()
    {
        if (_pending.CurrentCount == 0)
        {
            try
            {
                _pending.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already nudged.
            }
        }
    }

    /// <summary>Completes when something was recorded since the last wait.</summary>
    internal Task WaitAsync(CancellationToken cancellationToken) => _pending.WaitAsync(cancellationToken);
}
