using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;

namespace Homeroom.Server.Devices;

public sealed record InventoryReport(Guid DeviceId, InventoryFrame Inventory, DateTime ReceivedAt);

/// <summary>
/// Stores inventory reports (device facts, the agent's capabilities replaced whole, the installed-app list replaced whole,
/// a desktop agent's OS update status) in batches. A report without capabilities keeps the stored ones, as
/// <see cref="DeviceLiveState"/> keeps the ones it heard.
/// </summary>
public sealed class InventoryWriter(BulkSql bulk, TimeProvider time, ILogger<InventoryWriter> logger)
    : BatchingWriter<InventoryReport>(capacity: 2048, maxBatch: 200, maxDelay: TimeSpan.FromMilliseconds(50), time, logger)
{
    private const string UpdateDeviceSql = """
        UPDATE devices SET
            os_name = COALESCE(@on, os_name),
            os_version = COALESCE(@ov, os_version),
            model = COALESCE(@m, model),
            manufacturer = COALESCE(@mf, manufacturer),
            storage_total_bytes = COALESCE(@st, storage_total_bytes),
            storage_free_bytes = COALESCE(@sf, storage_free_bytes),
            capabilities_json = COALESCE(@cap, capabilities_json),
            inventory_at = @at
        WHERE id = @id
        """;

    // Only the operating system's list: the Chrome extension's snapshot (AppSnapshotWriter) is its own source.
    private const string DeleteAppsSql = "DELETE FROM device_apps WHERE device_id = @id AND source = 'device'";
    private const string InsertAppSql = "INSERT INTO device_apps (device_id, source, app_id, name, version) VALUES (@id, 'device', @a, @n, @v) ON CONFLICT (device_id, source, app_id) DO NOTHING";

    /// <summary>
    /// Writes one report now, outside the batches: for an answer whose command is marked done only after what it
    /// carried is stored (an Apple app list the app reconciler reads beside the command's status).
    /// </summary>
    public Task WriteNowAsync(InventoryReport report, CancellationToken cancellationToken) => WriteBatchAsync([report], cancellationToken);

    protected override string Describe(InventoryReport item) => $"the inventory of device {item.DeviceId}";

    protected override async Task WriteBatchAsync(IReadOnlyList<InventoryReport> batch, CancellationToken cancellationToken)
    {
        await using var connection = await bulk.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await bulk.ExecuteManyAsync(connection, transaction, UpdateDeviceSql, ["@on", "@ov", "@m", "@mf", "@st", "@sf", "@cap", "@at", "@id"], batch, (r, v) =>
        {
            v[0] = r.Inventory.OsName;
            v[1] = r.Inventory.OsVersion;
            v[2] = r.Inventory.Model;
            v[3] = r.Inventory.Manufacturer;
            v[4] = r.Inventory.StorageTotalBytes;
            v[5] = r.Inventory.StorageFreeBytes;
            v[6] = r.Inventory.Capabilities is { } capabilities ? StoredCapabilities.Write(capabilities) : null;
            v[7] = r.ReceivedAt;
            v[8] = bulk.Id(r.DeviceId);
        }, cancellationToken);

        // A report without an app list leaves the stored list alone; an empty list clears it.
        var withApps = batch.Where(r => r.Inventory.Apps is not null).ToList();
        await bulk.ExecuteManyAsync(connection, transaction, DeleteAppsSql, ["@id"], withApps, (r, v) => v[0] = bulk.Id(r.DeviceId), cancellationToken);
        var apps = withApps.SelectMany(r => r.Inventory.Apps!.Select(a => (r.DeviceId, App: a))).ToList();
        await bulk.ExecuteManyAsync(connection, transaction, InsertAppSql, ["@id", "@a", "@n", "@v"], apps, (x, v) =>
        {
            v[0] = bulk.Id(x.DeviceId);
            v[1] = x.App.Id;
            v[2] = x.App.Name;
            v[3] = x.App.Version;
        }, cancellationToken);
        await Updates.DeviceOsUpdateRows.WriteAsync(bulk, connection, transaction, batch, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}
