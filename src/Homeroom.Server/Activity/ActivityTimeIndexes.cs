using Homeroom.Server.Data;

namespace Homeroom.Server.Activity;

/// <summary>
/// How raw activity events are found by time (migration 0060). They are not indexed by when they happened: events
/// reach the writer hours out of order, so such an index took inserts on most of its pages in every transaction and
/// halved the raw insert's rate. They are indexed by when they arrived, which only grows, and the few that arrived
/// more than <see cref="OnTime"/> after (or before) they happened are indexed by when they happened in a partial
/// index of their own. A reader by time asks the first index for arrivals within <see cref="OnTime"/> of its range,
/// and the partial index for the rest, repeating its condition (<see cref="OffTime"/>) so the planner may use it.
/// </summary>
public static class ActivityTimeIndexes
{
    /// <summary>How far apart arrival and occurrence may be for an event to be found by its arrival (the partial index's one day).</summary>
    public static readonly TimeSpan OnTime = TimeSpan.FromDays(1);

    /// <summary>
    /// The partial index's condition, as migration 0060 wrote it: true for an event that arrived more than a day
    /// after it happened, or that is dated more than a day after it arrived.
    /// </summary>
    public static string OffTime(DatabaseProvider provider) => provider == DatabaseProvider.Sqlite
        ? "abs(julianday(received_at) - julianday(occurred_at)) > 1"
        : "(received_at - occurred_at > interval '1 day' OR occurred_at - received_at > interval '1 day')";
}
