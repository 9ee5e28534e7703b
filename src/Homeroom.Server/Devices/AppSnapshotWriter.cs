using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;

namespace Homeroom.Server.Devices;

/// <summary>A device's snapshot (or part of one) of its Chrome extensions and apps, taken at <paramref name="TakenAt"/>.</summary>
public sealed record AppSnapshot(Guid DeviceId, DateTime TakenAt, IReadOnlyList<InstalledApp> Apps)
{
    /// <summary>
    /// The snapshot in a batch of activity events: the <c>app.inventory</c> events sharing the newest
    /// <c>occurredAt</c> (earlier ones in the same batch are superseded); null when there are none.
    /// </summary>
    public static AppSnapshot? From(Guid deviceId, IEnumerable<ActivityEvent> events)
    {
        var items = events.Where(e => e.Kind == ActivityKinds.AppInventory && !string.IsNullOrEmpty(e.AppId)).ToList();
        if (items.Count == 0)
        {
            return null;
        }

        var newest = items.Max(e => e.OccurredAt);
        var apps = items.Where(e => e.OccurredAt == newest)
            .DistinctBy(e => e.AppId, StringComparer.Ordinal)
            .Select(e => new InstalledApp(e.AppId!, e.Title, e.Detail))
            .ToList();
        // Whole microseconds, as PostgreSQL keeps them: the parts of one snapshot must compare equal to what was stored.
        var takenAt = newest.UtcDateTime;
        return new AppSnapshot(deviceId, takenAt.AddTicks(-(takenAt.Ticks % 10)), apps);
    }
}

/// <summary>
/// Keeps each device's newest Chrome snapshot as its <c>chrome</c> app list, in batches. A snapshot
/// removes the rows of older snapshots and adds or updates its own; the parts of one snapshot that
/// came in separate frames share its time and so add up. A snapshot older than the stored one
/// changes nothing. The operating system's list (<see cref="InventoryWriter"/>) is never touched.
/// </summary>
public sealed class AppSnapshotWriter(BulkSql bulk, TimeProvider time, ILogger<AppSnapshotWriter> logger)
    : BatchingWriter<AppSnapshot>(capacity: 1024, maxBatch: 100, maxDelay: TimeSpan.FromMilliseconds(50), time, logger)
{
    private const string DeleteOlderSql = "DELETE FROM device_apps WHERE device_id = @d AND source = 'chrome' AND reported_at < @t";

    private const string UpsertSql = """
        INSERT INTO device_apps (device_id, source, app_id, name, version, reported_at)
        SELECT @d, 'chrome', @a, @n, @v, @t
        WHERE NOT EXISTS (SELECT 1 FROM device_apps WHERE device_id = @d AND source = 'chrome' AND reported_at > @t)
        ON CONFLICT (device_id, source, app_id) DO UPDATE SET name = excluded.name, version = excluded.version, reported_at = excluded.reported_at
        """;

    protected override string Describe(AppSnapshot item) => $"the Chrome app snapshot of device {item.DeviceId}";

    protected override async Task WriteBatchAsync(IReadOnlyList<AppSnapshot> batch, CancellationToken cancellationToken)
    {
        await using var connection = await bulk.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await bulk.ExecuteManyAsync(connection, transaction, DeleteOlderSql, ["@d", "@t"], batch, (s, v) =>
        {
            v[0] = bulk.Id(s.DeviceId);
            v[1] = s.TakenAt;
        }, cancellationToken);
        var rows = batch.SelectMany(s => s.Apps.Select(a => (Snapshot: s, App: a))).ToList();
        await bulk.ExecuteManyAsync(connection, transaction, UpsertSql, ["@d", "@a", "@n", "@v", "@t"], rows, (r, v) =>
        {
            v[0] = bulk.Id(r.Snapshot.DeviceId);
            v[1] = r.App.Id;
            v[2] = r.App.Name;
            v[3] = r.App.Version;
            v[4] = r.Snapshot.TakenAt;
        }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}
