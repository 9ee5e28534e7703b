using System.Collections.Concurrent;

namespace Homeroom.Server.Policies;

/// <summary>Upkeep shared by the per-device caches of answers read from effective policies (location and safety consent).</summary>
public static class PolicyCache
{
    /// <summary>
    /// After a full pass (which resolved every device at <paramref name="resolvedAt"/> and refreshed their entries),
    /// drops the entries it did not refresh: devices it no longer resolves, and loads that started before it.
    /// </summary>
    public static void DropOlderThan<TAnswer>(ConcurrentDictionary<Guid, TAnswer> cache, DateTimeOffset resolvedAt, Func<TAnswer, DateTimeOffset> resolvedAtOf)
    {
        foreach (var (id, answer) in cache)
        {
            if (resolvedAtOf(answer) < resolvedAt)
            {
                cache.TryRemove(new KeyValuePair<Guid, TAnswer>(id, answer));
            }
        }
    }
}
